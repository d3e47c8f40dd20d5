"""Booking confirmation: ticket-bookings -> seat reservation in Postgres -> booking-status (outbox)."""
