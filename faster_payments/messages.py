"""The ISO 20022 messages the bank and the Faster Payments scheme exchange: one typed contract both sides import.

`encode` turns a message into its definition id and XML; `decode` reads one back and refuses anything
malformed with `InvalidMessage`. The XML is built and read by `pyiso20022`'s xsdata classes, never by hand.

UK conventions carried here: an agent is a clearing-system member `GBDSC` (UK Domestic Sort Code) whose member
id is the sort code; an account is `Othr/Id` = sort code + account number under the proprietary scheme name
`SCAN`; one transaction per message, settled by clearing (`CLRG`) in the proprietary clearing system `FPS`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import MISSING, dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from pyiso20022.pacs import pacs_002_001_10 as p002  # type: ignore[import-untyped]
from pyiso20022.pacs import pacs_008_001_08 as p008
from pyiso20022.pacs import pacs_028_001_03 as p028
from xsdata.exceptions import XmlContextError, XmlHandlerError
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.parsers.handlers import LxmlEventHandler
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDate, XmlDateTime

from obank.money import Money, MoneyError, currency_exponent

PACS_008 = "pacs.008.001.08"  # FI to FI customer credit transfer
PACS_002 = "pacs.002.001.10"  # FI to FI payment status report
PACS_028 = "pacs.028.001.03"  # FI to FI payment status request
DEFINITIONS = (PACS_008, PACS_002, PACS_028)

CLEARING_SYSTEM_MEMBER = "GBDSC"  # ExternalClearingSystemIdentification1Code: UK Domestic Sort Code
ACCOUNT_SCHEME = "SCAN"  # sort code + account number
CLEARING_SYSTEM = "FPS"
MAX_XML_CHARS = 64 * 1024  # one transaction per message; nothing legitimate comes near this

_SORT_CODE = re.compile(r"[0-9]{6}")
_ACCOUNT_NUMBER = re.compile(r"[0-9]{8}")
_REASON = re.compile(r"[A-Z0-9]{4}")
# xs:decimal as a plain number: ASCII digits, at most one point, no sign or exponent.
_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,5})?")


class InvalidMessage(ValueError):
    """A message that is not a well-formed ISO 20022 message of the definition it claims to be."""


class TransactionStatus(StrEnum):
    """ISO 20022 ExternalPaymentTransactionStatus1Code, as far as Faster Payments uses it."""

    ACSC = "ACSC"  # settlement completed: the creditor's account is credited
    ACSP = "ACSP"  # accepted, settlement in process
    RJCT = "RJCT"  # rejected (see the reason)
    PDNG = "PDNG"  # pending


class Reason(StrEnum):
    """ISO 20022 ExternalStatusReason1Code values the scheme and the bank use (a report may carry others)."""

    AC01 = "AC01"  # IncorrectAccountNumber: no such account
    AC04 = "AC04"  # ClosedAccountNumber
    AB05 = "AB05"  # TimeoutCreditorAgent: not answered within the acceptance window
    AM03 = "AM03"  # NotAllowedCurrency
    AM04 = "AM04"  # InsufficientFunds
    BE01 = "BE01"  # InconsistentWithEndCustomer: the name does not match the account's holder
    DUPL = "DUPL"  # DuplicatePayment
    FF01 = "FF01"  # InvalidFileFormat


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """A UK account holder: name, sort code (6 digits) and account number (8 digits)."""

    name: str
    sort_code: str
    account_number: str

    def __post_init__(self) -> None:
        _check_text(self.name, "name", 140)
        if not isinstance(self.sort_code, str) or not _SORT_CODE.fullmatch(self.sort_code):
            raise InvalidMessage("sort_code must be 6 digits")
        if not isinstance(self.account_number, str) or not _ACCOUNT_NUMBER.fullmatch(self.account_number):
            raise InvalidMessage("account_number must be 8 digits")


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditTransfer:
    """pacs.008: one customer credit transfer; `transaction_id` (TxId) is its key across the scheme."""

    message_id: str
    transaction_id: str
    end_to_end_id: str
    instruction_id: str
    amount_minor: int
    currency: str
    debtor: Party
    creditor: Party
    reference: str | None
    created_at: datetime
    settlement_date: date

    def __post_init__(self) -> None:
        for name in ("message_id", "transaction_id", "end_to_end_id", "instruction_id"):
            _check_text(getattr(self, name), name, 35)
        if type(self.amount_minor) is not int or self.amount_minor <= 0:
            raise InvalidMessage("amount_minor must be a positive int")
        try:
            currency_exponent(self.currency)
        except MoneyError as exc:
            raise InvalidMessage("currency must be an ISO 4217 code with a minor unit") from exc
        if self.amount_minor >= 10**18:  # the wire's decimal has at most 18 digits
            raise InvalidMessage("amount_minor is too large")
        if not isinstance(self.debtor, Party) or not isinstance(self.creditor, Party):
            raise InvalidMessage("debtor and creditor must be parties")
        if self.reference is not None:
            _check_text(self.reference, "reference", 140)
        _check_instant(self.created_at)
        if not isinstance(self.settlement_date, date) or isinstance(self.settlement_date, datetime):
            raise InvalidMessage("settlement_date must be a date")


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """pacs.002: the status of one credit transfer, by its original ids; `reason` an ExternalStatusReason1Code."""

    message_id: str
    original_message_id: str
    original_transaction_id: str
    original_end_to_end_id: str
    status: TransactionStatus
    reason: str | None
    created_at: datetime

    def __post_init__(self) -> None:
        for name in ("message_id", "original_message_id", "original_transaction_id", "original_end_to_end_id"):
            _check_text(getattr(self, name), name, 35)
        if not isinstance(self.status, TransactionStatus):
            raise InvalidMessage("status must be a TransactionStatus")
        if self.reason is not None and (not isinstance(self.reason, str) or not _REASON.fullmatch(self.reason)):
            raise InvalidMessage("reason must be a 4-character ISO status reason code")
        _check_instant(self.created_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRequest:
    """pacs.028: a participant asks the status of one credit transfer it sent, by its original ids."""

    message_id: str
    original_message_id: str
    original_transaction_id: str
    original_end_to_end_id: str
    created_at: datetime

    def __post_init__(self) -> None:
        for name in ("message_id", "original_message_id", "original_transaction_id", "original_end_to_end_id"):
            _check_text(getattr(self, name), name, 35)
        _check_instant(self.created_at)


Message = CreditTransfer | StatusReport | StatusRequest


def definition_of(message: Message) -> str:
    """The message definition id of a message."""
    if isinstance(message, CreditTransfer):
        return PACS_008
    if isinstance(message, StatusReport):
        return PACS_002
    if isinstance(message, StatusRequest):
        return PACS_028
    raise TypeError(f"not a message: {type(message).__name__}")


def encode(message: Message) -> tuple[str, str]:
    """The message's definition id and its XML document."""
    definition = definition_of(message)
    if isinstance(message, CreditTransfer):
        document = _credit_transfer_document(message)
    elif isinstance(message, StatusReport):
        document = _status_report_document(message)
    else:
        document = _status_request_document(message)
    _check_facets(document, "Document")
    xml = _SERIALIZER.render(document, ns_map={None: _namespace(definition)})
    return definition, xml


def payload(message: Message) -> dict[str, Any]:
    """An outbox event's payload carrying the message: `{"xml": ...}` (the event type is its definition)."""
    return {"xml": encode(message)[1]}


def decode(definition: str, xml: str) -> Message:
    """Read a message of `definition` from its XML; anything malformed raises `InvalidMessage`."""
    if definition not in DEFINITIONS:
        raise InvalidMessage("unknown message definition")
    if not isinstance(xml, str) or not xml or len(xml) > MAX_XML_CHARS:
        raise InvalidMessage("the message must be a non-empty XML string of bounded size")
    root = _parse_xml(xml)
    if root.tag != f"{{{_namespace(definition)}}}Document":
        raise InvalidMessage("the document is not of the definition it claims")
    module = _MODULES[definition]
    # The amounts' text as written (xsdata's Decimal would accept exponents, and the parse empties the tree).
    amounts = [element.text or "" for element in root.iter(f"{{{_namespace(definition)}}}IntrBkSttlmAmt")]
    try:
        document = _PARSER.parse(root, module.Document)
    except (XmlContextError, XmlHandlerError, ValueError, TypeError, LookupError) as exc:
        # xsdata's ParserError is a ValueError; a missing required element surfaces as the TypeError of the
        # dataclass constructor.
        raise InvalidMessage("the document does not follow its message definition") from exc
    _check_facets(document, "Document")
    try:
        if definition == PACS_008:
            return _credit_transfer(document, amounts)
        if definition == PACS_002:
            return _status_report(document)
        return _status_request(document)
    except InvalidMessage:
        raise
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InvalidMessage("the document's content is not a valid message") from exc


# --- building -------------------------------------------------------------------------------------------------

_MODULES: dict[str, Any] = {PACS_008: p008, PACS_002: p002, PACS_028: p028}
_SERIALIZER = XmlSerializer(config=SerializerConfig(indent=None, xml_declaration=True, encoding="UTF-8"))
_PARSER = XmlParser(
    config=ParserConfig(
        fail_on_unknown_properties=True,
        fail_on_unknown_attributes=True,
        fail_on_converter_warnings=True,
        load_dtd=False,
        resolve_entities=False,
    ),
    handler=LxmlEventHandler,
)


def _namespace(definition: str) -> str:
    return f"urn:iso:std:iso:20022:tech:xsd:{definition}"


def _agent(module: Any, sort_code: str) -> Any:
    return module.BranchAndFinancialInstitutionIdentification6(
        fin_instn_id=module.FinancialInstitutionIdentification18(
            clr_sys_mmb_id=module.ClearingSystemMemberIdentification2(
                clr_sys_id=module.ClearingSystemIdentification2Choice(cd=CLEARING_SYSTEM_MEMBER), mmb_id=sort_code
            )
        )
    )


def _account(module: Any, party: Party) -> Any:
    return module.CashAccount38(
        id=module.AccountIdentification4Choice(
            othr=module.GenericAccountIdentification1(
                id=party.sort_code + party.account_number,
                schme_nm=module.AccountSchemeName1Choice(prtry=ACCOUNT_SCHEME),
            )
        )
    )


def _timestamp(value: datetime) -> XmlDateTime:
    return XmlDateTime.from_datetime(value.astimezone(UTC))


def _credit_transfer_document(message: CreditTransfer) -> Any:
    amount = Decimal(Money(message.amount_minor, message.currency).to_decimal_string())
    transaction = p008.CreditTransferTransaction39(
        pmt_id=p008.PaymentIdentification7(
            instr_id=message.instruction_id, end_to_end_id=message.end_to_end_id, tx_id=message.transaction_id
        ),
        intr_bk_sttlm_amt=p008.ActiveCurrencyAndAmount(value=amount, ccy=message.currency),
        intr_bk_sttlm_dt=XmlDate.from_date(message.settlement_date),
        chrg_br=p008.ChargeBearerType1Code.SLEV,
        dbtr=p008.PartyIdentification135(nm=message.debtor.name),
        dbtr_acct=_account(p008, message.debtor),
        dbtr_agt=_agent(p008, message.debtor.sort_code),
        cdtr_agt=_agent(p008, message.creditor.sort_code),
        cdtr=p008.PartyIdentification135(nm=message.creditor.name),
        cdtr_acct=_account(p008, message.creditor),
        rmt_inf=None if message.reference is None else p008.RemittanceInformation16(ustrd=[message.reference]),
    )
    return p008.Document(
        fito_ficstmr_cdt_trf=p008.FitoFicustomerCreditTransferV08(
            grp_hdr=p008.GroupHeader93(
                msg_id=message.message_id,
                cre_dt_tm=_timestamp(message.created_at),
                nb_of_txs="1",
                sttlm_inf=p008.SettlementInstruction7(
                    sttlm_mtd=p008.SettlementMethod1Code.CLRG,
                    clr_sys=p008.ClearingSystemIdentification3Choice(prtry=CLEARING_SYSTEM),
                ),
            ),
            cdt_trf_tx_inf=[transaction],
        )
    )


def _status_report_document(message: StatusReport) -> Any:
    reasons = (
        []
        if message.reason is None
        else [p002.StatusReasonInformation12(rsn=p002.StatusReason6Choice(cd=message.reason))]
    )
    return p002.Document(
        fito_fipmt_sts_rpt=p002.FitoFipaymentStatusReportV10(
            grp_hdr=p002.GroupHeader91(msg_id=message.message_id, cre_dt_tm=_timestamp(message.created_at)),
            tx_inf_and_sts=[
                p002.PaymentTransaction110(
                    orgnl_grp_inf=p002.OriginalGroupInformation29(
                        orgnl_msg_id=message.original_message_id, orgnl_msg_nm_id=PACS_008
                    ),
                    orgnl_end_to_end_id=message.original_end_to_end_id,
                    orgnl_tx_id=message.original_transaction_id,
                    tx_sts=message.status.value,
                    sts_rsn_inf=reasons,
                )
            ],
        )
    )


def _status_request_document(message: StatusRequest) -> Any:
    return p028.Document(
        fito_fipmt_sts_req=p028.FitoFipaymentStatusRequestV03(
            grp_hdr=p028.GroupHeader91(msg_id=message.message_id, cre_dt_tm=_timestamp(message.created_at)),
            tx_inf=[
                p028.PaymentTransaction113(
                    orgnl_grp_inf=p028.OriginalGroupInformation29(
                        orgnl_msg_id=message.original_message_id, orgnl_msg_nm_id=PACS_008
                    ),
                    orgnl_end_to_end_id=message.original_end_to_end_id,
                    orgnl_tx_id=message.original_transaction_id,
                )
            ],
        )
    )


# --- reading --------------------------------------------------------------------------------------------------


def _parse_xml(xml: str) -> Any:
    """The document's root element, parsed strictly: no DTD, no entities, no network, no recovery."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True, recover=False
    )
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser)  # the hardened parser above
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidMessage("the message is not well-formed XML") from exc
    if root.getroottree().docinfo.doctype:
        raise InvalidMessage("a message may not declare a DTD")
    return root


def _one(items: list[Any], what: str) -> Any:
    if len(items) != 1:
        raise InvalidMessage(f"the message must carry exactly one {what}")
    return items[0]


def _instant(value: Any) -> datetime:
    if value is None or value.offset is None:
        raise InvalidMessage("a date-time must carry its UTC offset")
    instant: datetime = value.to_datetime()
    return instant


def _party_of(name: str | None, account: Any, agent: Any) -> Party:
    if account is None or account.id.othr is None:
        raise InvalidMessage("an account must be identified by sort code and account number")
    other = account.id.othr
    if other.schme_nm is None or other.schme_nm.prtry != ACCOUNT_SCHEME or other.schme_nm.cd is not None:
        raise InvalidMessage(f"an account's scheme name must be {ACCOUNT_SCHEME}")
    member = agent.fin_instn_id.clr_sys_mmb_id
    if member is None or member.clr_sys_id is None or member.clr_sys_id.cd != CLEARING_SYSTEM_MEMBER:
        raise InvalidMessage(f"an agent must be a {CLEARING_SYSTEM_MEMBER} clearing-system member")
    if len(other.id) != 14 or member.mmb_id != other.id[:6]:
        raise InvalidMessage("an account's sort code must be its agent's")
    if name is None:
        raise InvalidMessage("a party must be named")
    return Party(name=name, sort_code=other.id[:6], account_number=other.id[6:])


def _credit_transfer(document: Any, amounts: list[str]) -> CreditTransfer:
    message = document.fito_ficstmr_cdt_trf
    header = message.grp_hdr
    transaction = _one(message.cdt_trf_tx_inf, "transaction")
    if header.nb_of_txs != "1":
        raise InvalidMessage("the message must carry exactly one transaction")
    if header.sttlm_inf.sttlm_mtd != p008.SettlementMethod1Code.CLRG:
        raise InvalidMessage("a Faster Payment settles by clearing")
    ids = transaction.pmt_id
    if ids.tx_id is None or ids.instr_id is None:
        raise InvalidMessage("a credit transfer needs its transaction and instruction ids")
    if transaction.intr_bk_sttlm_dt is None:
        raise InvalidMessage("a credit transfer needs its settlement date")
    reference = None
    if transaction.rmt_inf is not None:
        if transaction.rmt_inf.strd or len(transaction.rmt_inf.ustrd) != 1:
            raise InvalidMessage("the reference must be one unstructured remittance line")
        reference = transaction.rmt_inf.ustrd[0]
    return CreditTransfer(
        message_id=header.msg_id,
        transaction_id=ids.tx_id,
        end_to_end_id=ids.end_to_end_id,
        instruction_id=ids.instr_id,
        amount_minor=_amount_minor(_one(amounts, "settlement amount"), transaction.intr_bk_sttlm_amt.ccy),
        currency=transaction.intr_bk_sttlm_amt.ccy,
        debtor=_party_of(transaction.dbtr.nm, transaction.dbtr_acct, transaction.dbtr_agt),
        creditor=_party_of(transaction.cdtr.nm, transaction.cdtr_acct, transaction.cdtr_agt),
        reference=reference,
        created_at=_instant(header.cre_dt_tm),
        settlement_date=transaction.intr_bk_sttlm_dt.to_date(),
    )


def _amount_minor(text: str, currency: str) -> int:
    """The settlement amount read from its text, exactly: more decimals than the currency has are refused."""
    if not _AMOUNT.fullmatch(text):
        raise InvalidMessage("the amount must be a plain decimal number")
    try:
        return Money.parse(text, currency).minor
    except MoneyError as exc:
        raise InvalidMessage("the amount has more decimals than its currency, or an unknown currency") from exc


def _original_ids(transaction: Any) -> tuple[str, str, str]:
    original = transaction.orgnl_grp_inf
    if original is None or original.orgnl_msg_nm_id != PACS_008:
        raise InvalidMessage(f"the original message must be a {PACS_008}")
    if transaction.orgnl_tx_id is None or transaction.orgnl_end_to_end_id is None:
        raise InvalidMessage("the original transaction and end-to-end ids are required")
    return original.orgnl_msg_id, transaction.orgnl_tx_id, transaction.orgnl_end_to_end_id


def _status_report(document: Any) -> StatusReport:
    message = document.fito_fipmt_sts_rpt
    if message.orgnl_grp_inf_and_sts:
        raise InvalidMessage("a status report answers one transaction, not a group")
    transaction = _one(message.tx_inf_and_sts, "transaction status")
    original_message_id, original_transaction_id, original_end_to_end_id = _original_ids(transaction)
    try:
        status = TransactionStatus(transaction.tx_sts)
    except ValueError as exc:
        raise InvalidMessage("unknown transaction status") from exc
    reason = None
    if transaction.sts_rsn_inf:
        information = _one(transaction.sts_rsn_inf, "status reason")
        if information.rsn is None or information.rsn.cd is None:
            raise InvalidMessage("a status reason must be an ISO code")
        reason = information.rsn.cd
    return StatusReport(
        message_id=message.grp_hdr.msg_id,
        original_message_id=original_message_id,
        original_transaction_id=original_transaction_id,
        original_end_to_end_id=original_end_to_end_id,
        status=status,
        reason=reason,
        created_at=_instant(message.grp_hdr.cre_dt_tm),
    )


def _status_request(document: Any) -> StatusRequest:
    message = document.fito_fipmt_sts_req
    if message.orgnl_grp_inf:
        raise InvalidMessage("a status request asks about one transaction, not a group")
    transaction = _one(message.tx_inf, "transaction")
    original_message_id, original_transaction_id, original_end_to_end_id = _original_ids(transaction)
    return StatusRequest(
        message_id=message.grp_hdr.msg_id,
        original_message_id=original_message_id,
        original_transaction_id=original_transaction_id,
        original_end_to_end_id=original_end_to_end_id,
        created_at=_instant(message.grp_hdr.cre_dt_tm),
    )


# --- checks ---------------------------------------------------------------------------------------------------


def _check_text(value: object, name: str, max_length: int) -> None:
    """ISO Max<n>Text that survives XML unchanged: 1..n characters, not blank, no control characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= max_length or not value.strip():
        raise InvalidMessage(f"{name} must be 1 to {max_length} characters, not blank")
    if any(unicodedata.category(char) in ("Cc", "Cs") or char in "\ufffe\uffff" for char in value):
        raise InvalidMessage(f"{name} may not contain control characters")


def _check_instant(value: object) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidMessage("created_at must be a timezone-aware datetime")


def _check_facets(node: Any, path: str) -> None:
    """The XSD restrictions xsdata records but does not enforce: lengths, patterns, occurrences, digits."""
    if not is_dataclass(node):
        return
    for spec in fields(node):
        value = getattr(node, spec.name)
        meta = spec.metadata
        where = f"{path}/{meta.get('name', spec.name)}"
        if value is None:
            if meta.get("required") or (spec.default is MISSING and spec.default_factory is MISSING):
                raise InvalidMessage(f"{where} is required")
            continue
        if isinstance(value, list):
            if len(value) < meta.get("min_occurs", 0) or len(value) > meta.get("max_occurs", len(value)):
                raise InvalidMessage(f"{where} occurs a wrong number of times")
            for item in value:
                _check_value(item, meta, where)
        else:
            _check_value(value, meta, where)


def _check_value(value: Any, meta: Any, where: str) -> None:
    if isinstance(value, Enum):
        return
    if isinstance(value, str):
        if len(value) < meta.get("min_length", 0) or len(value) > meta.get("max_length", len(value)):
            raise InvalidMessage(f"{where} has a wrong length")
        pattern = meta.get("pattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise InvalidMessage(f"{where} does not match its pattern")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidMessage(f"{where} is not a number")
        if "min_inclusive" in meta and value < meta["min_inclusive"]:
            raise InvalidMessage(f"{where} is below its minimum")
        _sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        fraction = max(0, -exponent)
        if fraction > meta.get("fraction_digits", fraction) or len(digits) > meta.get("total_digits", len(digits)):
            raise InvalidMessage(f"{where} has too many digits")
    else:
        _check_facets(value, where)
