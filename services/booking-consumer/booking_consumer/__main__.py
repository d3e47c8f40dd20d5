"""``python -m booking_consumer``: consumer loop + outbox relay + health/metrics HTTP on PORT (8004)."""
from __future__ import annotations

import logging
import signal
import sys

from confluent_kafka import Producer
from sqlalchemy import create_engine

from svc_common.logs import configure_logging

from .config import from_env
from .consumer import BookingConsumer, producer_conf
from .health import HealthServer, kafka_dependency, liveness_of, postgres_dependency, readiness_of
from .outbox import OutboxRelay

log = logging.getLogger("booking_consumer")


class App:
    def __init__(self, cfg):
        self.cfg = cfg
        self.engine = create_engine(cfg.database_url, pool_size=4, max_overflow=2, pool_pre_ping=True)
        self.relay = OutboxRelay(self.engine, Producer(producer_conf(cfg)), cfg.status_topic, cfg.outbox_batch, cfg.outbox_interval_s)
        self.consumer = BookingConsumer(cfg, self.engine, on_committed=self.relay.wake.set)
        self.http = HealthServer(cfg.host, cfg.port, self)
        self.dependencies = [postgres_dependency(self.engine), kafka_dependency(cfg.kafka_brokers, cfg.bookings_topic)]

    def liveness(self):
        return liveness_of(self.consumer, self.relay)

    def readiness(self):
        return readiness_of(self.consumer, self.relay, self.dependencies)

    def run(self) -> int:
        self.http.start()
        self.relay.start()
        log.info("booking-consumer started", extra={"port": self.http.port})
        try:
            self.consumer.run()
        finally:
            self.relay.stop()
            self.relay.join(15)
            self.relay.producer.flush(10)
            self.http.stop()
            self.engine.dispose()
            log.info("booking-consumer stopped")
        return 0


def main() -> int:
    configure_logging("booking-consumer")
    app = App(from_env())

    def _stop(signum, _frame):
        log.info("signal received, stopping", extra={"signal": signum})
        app.consumer.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
