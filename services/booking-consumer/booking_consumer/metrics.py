from prometheus_client import Counter, Gauge, Histogram

BOOKINGS_CONFIRMED = Counter("bookings_confirmed_total", "Bookings confirmed (seats reserved)")
BOOKINGS_REJECTED = Counter("bookings_rejected_total", "Bookings rejected", ["reason"])
BOOKINGS_DUPLICATE = Counter("bookings_duplicate_total", "Redelivered/duplicate booking messages skipped")
BOOKINGS_DLQ = Counter("bookings_dlq_total", "Unprocessable messages sent to the DLQ")
BATCH_SIZE = Histogram("booking_batch_size", "Messages per consumed batch", buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000))
BATCH_SECONDS = Histogram("booking_batch_seconds", "DB transaction time per batch", buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
CONFIRM_LATENCY = Histogram(
    "booking_decision_latency_seconds",
    "Booking accepted (message timestamp) -> decision committed",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOX_PUBLISHED = Counter("booking_status_published_total", "Status events published from the outbox")
OUTBOX_ERRORS = Counter("booking_status_outbox_errors_total", "Outbox relay failures (rows stay unsent, retried)")
# one consumer process per replica: no pid label when /metrics reads the multiprocess files
LAST_COMMIT = Gauge("booking_consumer_last_commit_timestamp_seconds", "Unix time of the last offset commit",
                    multiprocess_mode="mostrecent")
