"""Consumer-group lag under kafka_exporter's names (kafka_consumergroup_lag, ..._current_offset,
kafka_topic_partition_current_offset), served by the monitor: the module proxy here serves no
version of kafka_exporter, and the broker's JMX has no lag. Read at scrape time through the same
client the services use (confluent-kafka): each group's committed offsets against the partitions'
high watermarks."""

from __future__ import annotations

from functools import cached_property


class KafkaLagCollector:
    def __init__(self, bootstrap: str, timeout: float = 2.0):
        self.bootstrap = bootstrap
        self.timeout = timeout

    @cached_property
    def _admin(self):
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})

    @cached_property
    def _consumer(self):  # only for high watermarks: never subscribes, never joins a group
        from confluent_kafka import Consumer

        return Consumer({"bootstrap.servers": self.bootstrap, "group.id": "sandbox-lag-reader",
                         "enable.auto.commit": False, "log_level": 0})

    def collect(self):
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
        from prometheus_client.core import GaugeMetricFamily

        lag = GaugeMetricFamily("kafka_consumergroup_lag", "Messages a group has not committed yet",
                                labels=["consumergroup", "topic", "partition"])
        committed = GaugeMetricFamily("kafka_consumergroup_current_offset", "A group's committed offset",
                                      labels=["consumergroup", "topic", "partition"])
        newest = GaugeMetricFamily("kafka_topic_partition_current_offset", "A partition's high watermark",
                                   labels=["topic", "partition"])
        try:
            groups = self._admin.list_consumer_groups(request_timeout=self.timeout).result(self.timeout).valid
            seen: dict[tuple[str, int], int] = {}
            for group in groups:
                if group.group_id == "sandbox-lag-reader":
                    continue
                future = self._admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group.group_id)],
                                                                 request_timeout=self.timeout)[group.group_id]
                for tp in future.result(self.timeout).topic_partitions:
                    if tp.offset < 0:  # nothing committed for this partition yet
                        continue
                    key = (tp.topic, tp.partition)
                    if key not in seen:
                        seen[key] = self._consumer.get_watermark_offsets(tp, timeout=self.timeout)[1]
                    labels = [group.group_id, tp.topic, str(tp.partition)]
                    committed.add_metric(labels, tp.offset)
                    lag.add_metric(labels, max(0, seen[key] - tp.offset))
            for (topic, partition), high in seen.items():
                newest.add_metric([topic, str(partition)], high)
        except (KafkaException, TimeoutError) as exc:  # the broker down: this scrape has no lag series
            print(f"kafka lag not read: {exc}", flush=True)
        yield from (lag, committed, newest)
