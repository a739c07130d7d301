"""Shapes of the Account and Transaction API, as its OpenAPI document names them, one module per resource."""

from open_banking.aisp.schemas.accounts import OBAccount6, OBProduct, OBReadAccount6, OBReadProduct2
from open_banking.aisp.schemas.balances import OBCashBalance, OBReadBalance1
from open_banking.aisp.schemas.consents import OBReadConsent1, OBReadConsentResponse1
from open_banking.aisp.schemas.parties import OBParty2, OBReadParty2, OBReadParty3
from open_banking.aisp.schemas.payees import (
    OBReadBeneficiary5,
    OBReadDirectDebit2,
    OBReadScheduledPayment3,
    OBReadStandingOrder6,
)
from open_banking.aisp.schemas.statements import OBReadStatement2, OBStatement2
from open_banking.aisp.schemas.transactions import OBReadTransaction6, OBTransaction6

__all__ = [
    "OBAccount6",
    "OBCashBalance",
    "OBParty2",
    "OBProduct",
    "OBReadAccount6",
    "OBReadBalance1",
    "OBReadBeneficiary5",
    "OBReadConsent1",
    "OBReadConsentResponse1",
    "OBReadDirectDebit2",
    "OBReadParty2",
    "OBReadParty3",
    "OBReadProduct2",
    "OBReadScheduledPayment3",
    "OBReadStandingOrder6",
    "OBReadStatement2",
    "OBReadTransaction6",
    "OBStatement2",
    "OBTransaction6",
]
