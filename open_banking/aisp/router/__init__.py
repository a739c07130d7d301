"""Routes of the Account and Transaction API, relative to /open-banking/v4.0/aisp; operation ids as the spec's.

Served: account access consents (POST, GET, DELETE), accounts, balances, transactions, statements (and
their PDF files), parties, products, and the empty beneficiary, standing order, scheduled payment and
direct debit lists. Not served (404): offers (core banking refuses ReadOffers), and a statement's
transactions (core banking's facade has no read of them).
"""

from open_banking.aisp.router import accounts, consents, payees, statements, transactions
from open_banking.aisp.router.common import router

__all__ = ["accounts", "consents", "payees", "router", "statements", "transactions"]
