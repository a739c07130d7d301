"""A statement as a printable A4 PDF (fpdf2): letterhead, holder, account details, summary, lines, page numbers."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from core_banking.accounts.identifiers import format_sort_code
from core_banking.ledger.periods import bank_day
from core_banking.statements.formatting import amount, grouped_iban, long_date, money, short_date
from core_banking.statements.schemas import Statement

BANK_NAME = "obank"
BANK_TAGLINE = "Open banking, self-hosted"
# DejaVu covers every script a name or a description may use; without it the PDF falls back to
# Helvetica, which has Latin-1 only, and characters beyond it are transliterated.
UNICODE_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
INK = (33, 37, 41)
MUTED = (108, 117, 125)
BRAND = (0, 92, 99)
RULE = (206, 212, 218)
STRIPE = (244, 246, 248)
HEADING_FILL = (228, 236, 237)
# Table columns (mm): date, description, paid in, paid out, balance; 180 mm between 15 mm margins.
COLUMNS = (
    ("Date", 24, "L"),
    ("Description", 84, "L"),
    ("Paid in", 24, "R"),
    ("Paid out", 24, "R"),
    ("Balance", 24, "R"),
)
ROW_HEIGHT = 6.5


def _unicode_font() -> tuple[Path, Path] | None:
    for directory in UNICODE_FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


# Characters Helvetica lacks that have no Latin-1 decomposition.
_LATIN1_SUBSTITUTES = str.maketrans(
    {
        "\u20ac": "EUR ",  # euro sign
        "\u0141": "L",  # L with stroke
        "\u0142": "l",
        "\u0110": "D",  # D with stroke
        "\u0111": "d",
        "\u0152": "OE",
        "\u0153": "oe",
        "\u0131": "i",  # dotless i
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)


def _latin1(char: str) -> str:
    """`char` itself when Latin-1 has it, else its nearest Latin-1 spelling, else `?`."""
    if ord(char) < 256:
        return char
    substitute = char.translate(_LATIN1_SUBSTITUTES)
    if substitute != char:
        return substitute
    base = "".join(part for part in unicodedata.normalize("NFKD", char) if ord(part) < 256)
    return base or "?"


class _StatementPdf(FPDF):
    def __init__(self, statement: Statement) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.statement = statement
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=22)
        fonts = _unicode_font()
        if fonts is None:
            self.font_name, self.has_unicode_font = "helvetica", False
        else:
            self.font_name, self.has_unicode_font = "DejaVu", True
            self.add_font("DejaVu", "", str(fonts[0]))
            self.add_font("DejaVu", "B", str(fonts[1]))
        self.set_title(f"{BANK_NAME} statement {statement.month} {statement.account.account_number}")
        self.set_author(BANK_NAME)
        self.set_creator(BANK_NAME)

    def text_of(self, value: str) -> str:
        """`value` as the current font can draw it."""
        return value if self.has_unicode_font else "".join(_latin1(char) for char in value)

    def write_cell(
        self,
        width: float,
        height: float,
        value: str,
        *,
        align: str = "L",
        size: float = 9,
        bold: bool = False,
        color: tuple[int, int, int] = INK,
        fill: bool = False,
        last: bool = False,
    ) -> None:
        self.set_font(self.font_name, "B" if bold else "", size)
        self.set_text_color(*color)
        text = self.text_of(value)
        # Too long for its cell: cut and mark, never overflow into the next column.
        while text and self.get_string_width(text) > width - 2:
            text = text[:-2] + "…" if self.has_unicode_font else text[:-4] + "..."
        self.cell(
            width,
            height,
            text,
            align=align,
            fill=fill,
            new_x=XPos.LMARGIN if last else XPos.RIGHT,
            new_y=YPos.NEXT if last else YPos.TOP,
        )

    def header(self) -> None:
        statement = self.statement
        self.set_y(12)
        self.write_cell(90, 9, BANK_NAME, size=22, bold=True, color=BRAND)
        self.write_cell(90, 9, "Statement of account", align="R", size=13, bold=True, last=True)
        self.write_cell(90, 5, BANK_TAGLINE, size=8.5, color=MUTED)
        period = f"{long_date(statement.period_start)} to {long_date(statement.period_end)}"
        self.write_cell(90, 5, period, align="R", size=9, color=MUTED, last=True)
        self.set_draw_color(*BRAND)
        self.set_line_width(0.6)
        self.line(15, self.get_y() + 2, 195, self.get_y() + 2)
        self.set_y(self.get_y() + 6)
        if self.page_no() > 1:
            account = statement.account
            self.write_cell(
                180,
                5,
                f"{account.name} · {format_sort_code(account.sort_code)} {account.account_number} (continued)",
                size=8.5,
                color=MUTED,
                last=True,
            )
            self.ln(2)
            self.table_heading()

    def footer(self) -> None:
        statement = self.statement
        self.set_y(-16)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(15, self.get_y(), 195, self.get_y())
        self.ln(1.5)
        generated = statement.generated_at.strftime("%d %b %Y %H:%M UTC")
        self.write_cell(
            140,
            5,
            f"{BANK_NAME} · sort code {format_sort_code(statement.account.sort_code)} · produced {generated}",
            size=7.5,
            color=MUTED,
        )
        self.write_cell(40, 5, f"Page {self.page_no()} of {{nb}}", align="R", size=7.5, color=MUTED, last=True)

    def table_heading(self) -> None:
        self.set_fill_color(*HEADING_FILL)
        for index, (title, width, align) in enumerate(COLUMNS):
            self.write_cell(
                width, 7, title, align=align, size=8.5, bold=True, fill=True, last=index == len(COLUMNS) - 1
            )

    def table_row(self, cells: tuple[str, str, str, str, str], *, shaded: bool, bold: bool = False) -> None:
        if self.will_page_break(ROW_HEIGHT):
            self.add_page()
        self.set_fill_color(*STRIPE)
        for index, ((_, width, align), value) in enumerate(zip(COLUMNS, cells, strict=True)):
            self.write_cell(
                width, ROW_HEIGHT, value, align=align, bold=bold, fill=shaded, last=index == len(COLUMNS) - 1
            )

    def holder_and_account(self) -> None:
        statement, account = self.statement, self.statement.account
        top = self.get_y()
        self.write_cell(90, 6, statement.holder_name, size=11, bold=True, last=True)
        address = statement.holder_address
        for line in [*address.lines, address.city, address.postcode]:
            self.write_cell(90, 5, line, size=9.5, last=True)
        left_bottom = self.get_y()
        details = (
            ("Account", account.name),
            ("Sort code", format_sort_code(account.sort_code)),
            ("Account number", account.account_number),
            ("IBAN", grouped_iban(account.iban)),
            ("Currency", account.currency),
            ("Statement date", long_date(bank_day(statement.generated_at))),
        )
        self.set_y(top)
        for label, value in details:
            self.set_x(110)
            self.write_cell(30, 5.5, label, size=8.5, color=MUTED)
            self.write_cell(55, 5.5, value, size=9, bold=label in ("Account number", "Sort code"), last=True)
        self.set_y(max(left_bottom, self.get_y()) + 6)

    def summary(self) -> None:
        statement = self.statement
        currency = statement.account.currency
        period = f"{short_date(statement.period_start)} to {short_date(statement.period_end)}"
        boxes = (
            ("Opening balance", statement.opening_balance_minor, f"on {long_date(statement.period_start)}"),
            ("Money in", statement.paid_in_minor, period),
            ("Money out", statement.paid_out_minor, period),
            ("Closing balance", statement.closing_balance_minor, f"on {long_date(statement.period_end)}"),
        )
        top, width, height = self.get_y(), 45, 21
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.rect(15, top, 180, height)
        for index, (label, minor, when) in enumerate(boxes):
            x = 15 + index * width
            if index:
                self.line(x, top, x, top + height)
            emphasis = index == len(boxes) - 1
            self.set_xy(x + 2.5, top + 2)
            self.write_cell(width - 5, 4.5, label, size=8, bold=True, color=BRAND if emphasis else MUTED)
            self.set_xy(x + 2.5, top + 7.5)
            self.write_cell(width - 5, 7, money(minor, currency), size=12.5 if emphasis else 11.5, bold=emphasis)
            self.set_xy(x + 2.5, top + 14.5)
            self.write_cell(width - 5, 4, when, size=7, color=MUTED)
        self.set_y(top + height + 7)

    def lines_table(self) -> None:
        statement = self.statement
        currency = statement.account.currency
        self.write_cell(120, 7, "Your transactions", size=11, bold=True, color=BRAND)
        self.write_cell(60, 7, f"Amounts in {currency}", align="R", size=8, color=MUTED, last=True)
        self.table_heading()
        self.table_row(
            (
                short_date(statement.period_start),
                "Opening balance",
                "",
                "",
                amount(statement.opening_balance_minor, currency),
            ),
            shaded=False,
            bold=True,
        )
        for number, line in enumerate(statement.lines, start=1):
            paid_in = amount(line.amount_minor, currency) if line.amount_minor > 0 else ""
            paid_out = amount(-line.amount_minor, currency) if line.amount_minor < 0 else ""
            self.table_row(
                (
                    short_date(bank_day(line.booked_at)),
                    line.description,
                    paid_in,
                    paid_out,
                    amount(line.balance_after_minor, currency),
                ),
                shaded=number % 2 == 1,
            )
        if not statement.lines:
            self.table_row(("", "No transactions in this period", "", "", ""), shaded=True)
        self.table_row(
            (
                short_date(statement.period_end),
                "Closing balance",
                "",
                "",
                amount(statement.closing_balance_minor, currency),
            ),
            shaded=False,
            bold=True,
        )
        self.set_draw_color(*BRAND)
        self.set_line_width(0.4)
        self.line(15, self.get_y(), 195, self.get_y())


def render_pdf(statement: Statement) -> bytes:
    """The statement as an A4 PDF a customer can read and print."""
    pdf = _StatementPdf(statement)
    pdf.add_page()
    pdf.holder_and_account()
    pdf.summary()
    pdf.lines_table()
    return bytes(pdf.output())
