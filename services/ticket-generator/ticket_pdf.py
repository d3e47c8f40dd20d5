"""The ticket PDF builder: a pure function from ticket details to PDF bytes.

Deterministic: the same details give byte-identical PDFs (the creation date comes from the details,
not the clock), so a re-delivered S3 event that rewrites a ticket writes the same bytes.
Core PDF fonts only cover Latin-1; other characters are transliterated where possible, else '?'.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from fpdf import FPDF

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TicketDetails:
    source_key: str
    booking_id: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    user_email: str | None = None
    event_id: str | None = None
    event_name: str | None = None
    event_date: str | None = None
    venue: str | None = None
    ticket_count: int | None = None
    issued_at: datetime | None = None


def latin1(text: str) -> str:
    """Text the PDF core fonts can draw: accents folded, the rest replaced by '?'."""
    folded = unicodedata.normalize("NFKD", text)
    out = []
    for char in folded:
        if unicodedata.combining(char):
            continue
        out.append(char if ord(char) < 256 and (char.isprintable() or char == " ") else "?")
    return "".join(out)


def ticket_lines(details: TicketDetails) -> list[tuple[str, str]]:
    """The (label, value) rows printed on the ticket; unknown values say so."""
    unknown = "(unknown)"
    rows = [
        ("Booking ID", details.booking_id or unknown),
        ("Name", details.user_name or unknown),
        ("Email", details.user_email or unknown),
        ("User ID", details.user_id or unknown),
        ("Event", details.event_name or (f"event #{details.event_id}" if details.event_id else unknown)),
    ]
    if details.event_date:
        rows.append(("Date", details.event_date))
    if details.venue:
        rows.append(("Venue", details.venue))
    rows.append(("Tickets", str(details.ticket_count) if details.ticket_count is not None else unknown))
    rows.append(("ID proof", details.source_key))
    if details.issued_at is not None:
        rows.append(("Issued", details.issued_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")))
    return rows


def build_ticket_pdf(details: TicketDetails) -> bytes:
    """Render one A5 (landscape) ticket and return the PDF bytes."""
    pdf = FPDF(orientation="L", unit="mm", format=(148, 210))  # A5
    pdf.set_creation_date(details.issued_at or EPOCH)
    pdf.set_title(latin1(f"Ticket {details.booking_id or details.source_key}"))
    pdf.set_author("ticket-generator")
    pdf.set_creator("ticket-generator")
    pdf.set_producer("fpdf2")
    pdf.set_auto_page_break(auto=True, margin=10)
    pdf.add_page()

    pdf.set_fill_color(30, 64, 175)
    pdf.rect(0, 0, pdf.w, 22, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("helvetica", "B", 20)
    pdf.set_xy(10, 6)
    pdf.cell(0, 10, "ADMIT - E-TICKET")

    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(10, 30)
    for label, value in ticket_lines(details):
        pdf.set_font("helvetica", "B", 12)
        pdf.cell(32, 8, latin1(label + ":"))
        pdf.set_font("helvetica", "", 12)
        pdf.multi_cell(0, 8, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", "I", 9)
    pdf.multi_cell(0, 5, "Present this ticket with the ID proof you uploaded. One entry per ticket.",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
