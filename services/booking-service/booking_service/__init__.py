"""Booking service: validates POST /book, records the idempotency key, publishes to Kafka and answers 202."""
