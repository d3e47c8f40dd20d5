from prometheus_client import Counter, Histogram

BOOKINGS_PUBLISHED = Counter("bookings_published_total", "Bookings acknowledged by Kafka (acks=all)")
BOOKINGS_PUBLISH_FAILED = Counter("bookings_publish_failed_total", "Bookings not acknowledged by Kafka (503 answered)")
BOOKINGS_REFUSED = Counter("bookings_refused_kafka_down_total",
                           "POST /book answered 503 at once: Kafka known to be down (nothing written)")
BOOKINGS_REPLAYED = Counter("bookings_idempotent_replays_total", "POST /book answered from an existing idempotency record")
BOOKINGS_WITHOUT_KEY = Counter("bookings_without_idempotency_key_total",
                               "POST /book without an Idempotency-Key (accepted, not deduplicated across retries)")
PUBLISH_SECONDS = Histogram(
    "booking_publish_seconds", "Kafka produce -> delivery report",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
