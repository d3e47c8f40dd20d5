"""The pure PDF builder, without servers."""
from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader
from ticket_pdf import TicketDetails, build_ticket_pdf, latin1, ticket_lines

DETAILS = TicketDetails(
    source_key="uploads/bk-1/passport.png", booking_id="bk-1", user_id="u-1",
    user_name="Ada Lovelace", user_email="ada@example.com", event_id="7",
    event_name="Rock Night", event_date="2026-12-31", venue="Arena", ticket_count=3,
    issued_at=datetime(2026, 11, 25, 14, 0, 5, tzinfo=UTC),
)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_is_a_real_pdf_with_the_details():
    data = build_ticket_pdf(DETAILS)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in ("Booking ID: bk-1", "Name: Ada Lovelace", "Email: ada@example.com", "Event: Rock Night",
                     "Tickets: 3", "uploads/bk-1/passport.png", "Venue: Arena", "2026-11-25 14:00:05 UTC"):
        assert expected in text
    assert PdfReader(io.BytesIO(data)).metadata.title == "Ticket bk-1"


def test_pdf_bytes_are_deterministic():
    assert build_ticket_pdf(DETAILS) == build_ticket_pdf(DETAILS)
    other = TicketDetails(source_key="uploads/x")
    assert build_ticket_pdf(other) == build_ticket_pdf(other)


def test_unknown_details_are_marked_unknown():
    text = pdf_text(build_ticket_pdf(TicketDetails(source_key="uploads/anon.pdf", event_id="9")))
    assert "Booking ID: (unknown)" in text
    assert "Event: event #9" in text
    assert "Tickets: (unknown)" in text


def test_non_latin1_text_does_not_break_the_pdf():
    assert latin1("Zoë 李") == "Zoe ?"
    data = build_ticket_pdf(TicketDetails(source_key="uploads/ü.png", user_name="Zoë 李 \u0007"))
    assert "Name: Zoe ? ?" in pdf_text(data)


def test_ticket_lines_order():
    labels = [label for label, _ in ticket_lines(DETAILS)]
    assert labels[:2] == ["Booking ID", "Name"] and "ID proof" in labels
