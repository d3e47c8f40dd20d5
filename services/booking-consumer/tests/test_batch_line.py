"""The one INFO line per committed batch names its bookings and offsets (no line per booking)."""
from booking_consumer.consumer import batch_fields
from booking_consumer.reservation import CONFIRMED, REJECTED, SOLD_OUT, BookingRequest, Decision


def booking(n: int) -> BookingRequest:
    return BookingRequest(f"00000000-0000-4000-8000-00000000000{n}", 7, "u", 1, 1796203422.8, f"rid-{n}")


def test_batch_line_names_the_decided_bookings_and_the_offsets_read():
    batch = [booking(1), booking(2), booking(3)]
    decisions = [Decision(batch[0], CONFIRMED, None), Decision(batch[2], REJECTED, SOLD_OUT)]  # 2: a redelivery
    first = {("ticket-bookings", 2): 40, ("ticket-bookings", 0): 7}
    last = {("ticket-bookings", 2): 41, ("ticket-bookings", 0): 7}
    assert batch_fields(batch, decisions, first, last) == {
        "messages": 3, "decided": 2, "confirmed": 1, "topic": "ticket-bookings", "offsets": "0:7-7 2:40-41",
        "booking_ids": f"{batch[0].booking_id} {batch[2].booking_id}"}
