"""The ISO 20022 codec: every message survives encode/decode unchanged; anything malformed is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree  # type: ignore[import-untyped]

from faster_payments.messages import (
    PACS_002,
    PACS_008,
    PACS_028,
    CreditTransfer,
    InvalidMessage,
    Party,
    StatusReport,
    StatusRequest,
    TransactionStatus,
    decode,
    encode,
    payload,
)
from tests.faster_payments.conftest import ADA, CUSTOMER, bank_payment

_TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff")


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_TEXT_CHARS, min_size=1, max_size=max_size).filter(lambda value: value.strip() != "")


_ids = _text(35)
_instants = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]),
)
_parties = st.builds(
    Party,
    name=_text(140),
    sort_code=st.from_regex(r"\A[0-9]{6}\Z"),
    account_number=st.from_regex(r"\A[0-9]{8}\Z"),
)
_credit_transfers = st.builds(
    CreditTransfer,
    message_id=_ids,
    transaction_id=_ids,
    end_to_end_id=_ids,
    instruction_id=_ids,
    amount_minor=st.integers(min_value=1, max_value=10**15 - 1),
    currency=st.sampled_from(["GBP", "EUR", "JPY", "BHD"]),  # 2, 2, 0 and 3 minor digits
    debtor=_parties,
    creditor=_parties,
    reference=st.none() | _text(140),
    created_at=_instants,
    settlement_date=st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)),
)
_status_reports = st.builds(
    StatusReport,
    message_id=_ids,
    original_message_id=_ids,
    original_transaction_id=_ids,
    original_end_to_end_id=_ids,
    status=st.sampled_from(TransactionStatus),
    reason=st.none() | st.from_regex(r"\A[A-Z0-9]{4}\Z"),
    created_at=_instants,
)
_status_requests = st.builds(
    StatusRequest,
    message_id=_ids,
    original_message_id=_ids,
    original_transaction_id=_ids,
    original_end_to_end_id=_ids,
    created_at=_instants,
)


@given(_credit_transfers | _status_reports | _status_requests)
def test_every_message_survives_a_round_trip(message: CreditTransfer | StatusReport | StatusRequest) -> None:
    definition, xml = encode(message)
    decoded = decode(definition, xml)
    assert decoded == message
    assert type(decoded) is type(message)
    assert payload(message) == {"xml": xml}


def test_a_credit_transfer_is_written_in_uk_faster_payments_conventions() -> None:
    definition, xml = encode(bank_payment(amount_minor=100_050, reference="Rent"))
    root = etree.fromstring(xml.encode())
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"}

    def text(path: str) -> str:
        (found,) = root.xpath(path, namespaces=ns)
        return str(found.text)

    assert definition == PACS_008
    assert text("//p:GrpHdr/p:NbOfTxs") == "1"
    assert text("//p:IntrBkSttlmAmt") == "1000.50"  # exactly the currency's two decimals
    assert root.xpath("//p:IntrBkSttlmAmt/@Ccy", namespaces=ns) == ["GBP"]
    assert text("//p:CdtrAgt//p:ClrSysId/p:Cd") == "GBDSC"
    assert text("//p:CdtrAgt//p:MmbId") == ADA.sort_code
    assert text("//p:CdtrAcct//p:Othr/p:Id") == ADA.sort_code + ADA.account_number
    assert text("//p:CdtrAcct//p:SchmeNm/p:Prtry") == "SCAN"
    assert text("//p:DbtrAcct//p:Othr/p:Id") == CUSTOMER.sort_code + CUSTOMER.account_number
    assert text("//p:RmtInf/p:Ustrd") == "Rent"


def test_zero_decimal_currencies_carry_no_point() -> None:
    _, xml = encode(bank_payment(currency="JPY", amount_minor=5000))
    assert ">5000</IntrBkSttlmAmt>" in xml


def _payment_xml() -> str:
    payment = bank_payment(amount_minor=12_345, reference="Invoice 42")
    return encode(payment)[1]


def _report_xml() -> str:
    report = StatusReport(
        message_id="M2",
        original_message_id="M1",
        original_transaction_id="T1",
        original_end_to_end_id="E1",
        status=TransactionStatus.RJCT,
        reason="AC01",
        created_at=datetime.now(UTC),
    )
    return encode(report)[1]


@pytest.mark.parametrize(
    ("case", "mangle"),
    [
        ("not XML", lambda xml: "this is not xml"),
        ("truncated", lambda xml: xml[:-30]),
        ("empty", lambda xml: ""),
        ("a DTD with an entity", lambda xml: '<!DOCTYPE d [<!ENTITY e "x">]>' + xml.split("?>", 1)[1]),
        ("an unknown element", lambda xml: xml.replace("<ChrgBr>", "<Surprise>1</Surprise><ChrgBr>")),
        ("no TxId", lambda xml: _drop(xml, "TxId")),
        ("no creditor", lambda xml: _drop(xml, "Cdtr")),
        ("a letter in the amount", lambda xml: xml.replace(">123.45<", ">12a.45<")),
        ("an exponent amount", lambda xml: xml.replace(">123.45<", ">1.2345E2<")),
        ("a negative amount", lambda xml: xml.replace(">123.45<", ">-123.45<")),
        ("a zero amount", lambda xml: xml.replace(">123.45<", ">0.00<")),
        ("more decimals than pence", lambda xml: xml.replace(">123.45<", ">123.451<")),
        ("an unknown currency", lambda xml: xml.replace('Ccy="GBP"', 'Ccy="ZZZ"')),
        ("a lowercase currency", lambda xml: xml.replace('Ccy="GBP"', 'Ccy="gbp"')),
        ("two transactions declared", lambda xml: xml.replace("<NbOfTxs>1<", "<NbOfTxs>2<")),
        ("two transactions", lambda xml: _twice(xml, "CdtTrfTxInf")),
        ("a time without offset", lambda xml: _without_offset(xml)),
        ("a bad date", lambda xml: xml.replace("<IntrBkSttlmDt>2026-12-05<", "<IntrBkSttlmDt>2026-13-05<")),
        ("a short sort code", lambda xml: xml.replace("<MmbId>309634<", "<MmbId>30963<")),
        ("an agent not the account's", lambda xml: xml.replace("<MmbId>309634<", "<MmbId>309635<")),
        ("another account scheme", lambda xml: xml.replace("<Prtry>SCAN<", "<Prtry>IBAN<")),
        ("a 36-character id", lambda xml: xml.replace("<EndToEndId>INV-2026-0042<", f"<EndToEndId>{'x' * 36}<")),
        ("a blank name", lambda xml: xml.replace("<Nm>Ada Lovelace<", "<Nm>   <")),
        ("another message's namespace", lambda xml: xml.replace("pacs.008.001.08", "pacs.008.001.09")),
    ],
)
def test_a_malformed_credit_transfer_is_refused(case: str, mangle: object) -> None:
    assert callable(mangle)
    with pytest.raises(InvalidMessage):
        decode(PACS_008, mangle(_payment_xml()))


@pytest.mark.parametrize(
    ("case", "mangle"),
    [
        ("an unknown status", lambda xml: xml.replace("<TxSts>RJCT<", "<TxSts>NOPE<")),
        ("a long reason", lambda xml: xml.replace("<Cd>AC01<", "<Cd>AC011<")),
        ("no original TxId", lambda xml: _drop(xml, "OrgnlTxId")),
        ("no original message", lambda xml: _drop(xml, "OrgnlGrpInf")),
        ("two answers", lambda xml: _twice(xml, "TxInfAndSts")),
        ("an original not a credit transfer", lambda xml: xml.replace(">pacs.008.001.08<", ">pacs.009.001.08<")),
    ],
)
def test_a_malformed_status_report_is_refused(case: str, mangle: object) -> None:
    assert callable(mangle)
    with pytest.raises(InvalidMessage):
        decode(PACS_002, mangle(_report_xml()))


def test_a_message_decoded_as_another_definition_is_refused() -> None:
    with pytest.raises(InvalidMessage):
        decode(PACS_002, _payment_xml())
    with pytest.raises(InvalidMessage):
        decode(PACS_028, _report_xml())
    with pytest.raises(InvalidMessage):
        decode("pacs.008.001.13", _payment_xml())


@pytest.mark.parametrize("xml", [None, 42, b"<Document/>", "x" * 70_000])
def test_anything_but_a_bounded_string_is_refused(xml: object) -> None:
    with pytest.raises(InvalidMessage):
        decode(PACS_008, xml)  # type: ignore[arg-type]


def test_a_message_with_an_invalid_field_cannot_even_be_built() -> None:
    with pytest.raises(InvalidMessage):
        Party(name="Ada", sort_code="30-96-34", account_number="56100526")
    with pytest.raises(InvalidMessage):
        Party(name="Ada", sort_code="309634", account_number="5610052")
    with pytest.raises(InvalidMessage):
        bank_payment(amount_minor=0)
    with pytest.raises(InvalidMessage):
        bank_payment(amount_minor=12.5)
    with pytest.raises(InvalidMessage):
        bank_payment(currency="XXX")
    with pytest.raises(InvalidMessage):
        bank_payment(created_at=datetime(2026, 12, 5, 12, 0))  # naive
    with pytest.raises(InvalidMessage):
        bank_payment(transaction_id="x" * 36)
    with pytest.raises(InvalidMessage):
        bank_payment(reference="line\nbreak")


def _drop(xml: str, tag: str) -> str:
    start = xml.index(f"<{tag}>")
    end = xml.index(f"</{tag}>", start) + len(f"</{tag}>")
    return xml[:start] + xml[end:]


def _twice(xml: str, tag: str) -> str:
    start = xml.index(f"<{tag}>")
    end = xml.index(f"</{tag}>", start) + len(f"</{tag}>")
    return xml[:end] + xml[start:end] + xml[end:]


def _without_offset(xml: str) -> str:
    start = xml.index("<CreDtTm>") + len("<CreDtTm>")
    end = xml.index("</CreDtTm>")
    return xml[:start] + xml[start:end].rstrip("Z") + xml[end:]
