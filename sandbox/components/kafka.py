"""Apache Kafka in KRaft mode (one node: broker + controller), a JVM run from Maven jars."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from sandbox import observability
from sandbox.components.base import Component, MetricsTarget, ProcessSpec, require_binary
from sandbox.errors import SandboxError
from sandbox.health import ClientProbe, Health
from sandbox.maven import resolve_jars
from sandbox.poll import NOT_YET

HEALTH_TOPIC = "sandbox-health"

LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.log=WARN
log4j.logger.state.change.logger=WARN
"""

# the JMX exporter agent's selection: throughput, requests, replication, the controller and the
# JVM's memory and GC; every MBean of a broker would cost a second of CPU per scrape
JMX_EXPORTER = """\
lowercaseOutputName: true
lowercaseOutputLabelNames: true
includeObjectNames:
- "kafka.server:type=BrokerTopicMetrics,*"
- "kafka.server:type=ReplicaManager,*"
- "kafka.controller:type=KafkaController,*"
- "kafka.network:type=RequestMetrics,name=RequestsPerSec,*"
- "kafka.server:type=KafkaRequestHandlerPool,*"
- "java.lang:type=Memory"
- "java.lang:type=GarbageCollector,*"
"""


class Kafka(Component):
    name = "kafka"
    port_name = "kafka"
    cached_health = True  # its SDK takes ~0.3-0.7 s to import
    extra_port_names: tuple[str, ...] = ("kafka_controller",)

    def check_prerequisites(self) -> None:
        require_binary("java", "apt-get install -y openjdk-17-jre-headless")

    def install(self) -> None:
        resolve_jars("kafka", self.settings.cache_dir)
        if observability.active(self.settings):
            resolve_jars("jmx-exporter", self.settings.cache_dir, transitive=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def prepare(self) -> None:
        import subprocess

        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports = self.settings.ports
        listeners, advertised = self._listeners()
        (self.conf_dir / "server.properties").write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{ports.kafka_controller}",
                    f"listeners={','.join(listeners)}",
                    f"advertised.listeners={','.join(advertised)}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PODS:PLAINTEXT",
                    f"log.dirs={self.data_dir}",
                    f"num.partitions={self.settings.kafka.partitions}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "transaction.state.log.num.partitions=10",
                    "group.initial.rebalance.delay.ms=0",
                    # after a kill -9 the restarted broker cannot register until the controller
                    # expires the dead incarnation's session (9 s by default); 3 s here
                    "broker.heartbeat.interval.ms=1000",
                    "broker.session.timeout.ms=3000",
                    "auto.create.topics.enable=false",
                    # the controller's no-op metadata record (a log append) every 5 s, not 0.5 s:
                    # it only shows other brokers that the controller lives, and there are none
                    "metadata.max.idle.interval.ms=5000",
                    "",
                ]
            )
        )
        (self.conf_dir / "log4j.properties").write_text(LOG4J)
        (self.conf_dir / "jmx-exporter.yaml").write_text(JMX_EXPORTER)
        if not (self.data_dir / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            # `--cluster-id=`: an id starting with "-" (1 in 64) would be read as an option after `-t`
            result = subprocess.run(
                [*self._java(), "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                 "-c", str(self.conf_dir / "server.properties")],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
                raise SandboxError(f"kafka storage format failed: {last[0][:300]}",
                                   f"delete {self.data_dir} and run sandbox up again")

    def _listeners(self) -> tuple[list[str], list[str]]:
        ports = self.settings.ports
        listeners = [f"PLAINTEXT://127.0.0.1:{ports.kafka}", f"CONTROLLER://127.0.0.1:{ports.kafka_controller}"]
        advertised = [f"PLAINTEXT://127.0.0.1:{ports.kafka}"]
        if self.settings.runtime == "cluster":
            # pods reach the broker at the node address (forwarded to this loopback port), so its
            # metadata must name that address for them: a listener of their own
            cluster = self.settings.cluster
            pods_port = type(cluster.ports).model_fields["kafka_pods"].default
            listeners.append(f"PODS://127.0.0.1:{cluster.ports.kafka_pods}")
            advertised.append(f"PODS://{cluster.node_address}:{pods_port}")
        return listeners, advertised

    def revision(self) -> str | None:
        """Only the listeners: a broker started for another mode (processes vs cluster) is restarted
        by `up` with the listeners this one needs; nothing else ever rolls it."""
        listeners, advertised = self._listeners()
        return None if len(listeners) == 2 else ",".join(advertised)

    def _java(self) -> list[str]:
        jar_dir = resolve_jars("kafka", self.settings.cache_dir)
        return [
            "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            f"-Dlog4j.configuration=file:{self.conf_dir / 'log4j.properties'}",
            "-cp", f"{jar_dir}/*",
        ]

    def _agent(self) -> list[str]:
        """Prometheus's JMX exporter inside the broker's JVM, on loopback (no second JVM)."""
        if not observability.active(self.settings):
            return []
        jar = next((self.settings.cache_dir / "jars" / "jmx-exporter").glob("jmx_prometheus_javaagent-*.jar"))
        port = self.settings.observability.ports.kafka_jmx
        return [f"-javaagent:{jar}=127.0.0.1:{port}:{self.conf_dir / 'jmx-exporter.yaml'}"]

    def processes(self) -> list[ProcessSpec]:
        heap = self.settings.kafka.heap
        java = self._java()
        command = [java[0], f"-Xms{heap}", f"-Xmx{heap}", *self._agent(), *java[1:], "kafka.Kafka",
                   str(self.conf_dir / "server.properties")]
        return [ProcessSpec("broker", command)]

    def metrics_targets(self) -> list[MetricsTarget]:
        if not observability.active(self.settings):
            return []
        return [MetricsTarget(f"127.0.0.1:{self.settings.observability.ports.kafka_jmx}")]

    def probe(self) -> ClientProbe:
        from confluent_kafka import KafkaException

        # broker not up / not yet leader; a full queue
        return ClientProbe(self.health, not_yet=(*NOT_YET, KafkaException, BufferError))

    def health(self) -> Health:
        from confluent_kafka import Consumer, Producer, TopicPartition
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(_client_config(self.bootstrap))
        metadata = admin.list_topics(timeout=2)
        if not metadata.brokers:
            return Health(False, "no broker in metadata")
        if HEALTH_TOPIC not in metadata.topics:
            self._create_topics(admin, [HEALTH_TOPIC], partitions=1)
        token = uuid.uuid4().hex.encode()
        producer = Producer({**_client_config(self.bootstrap), "acks": "all", "linger.ms": 0})
        delivered = []
        producer.produce(HEALTH_TOPIC, token, on_delivery=lambda err, msg: delivered.append((err, msg)))
        producer.flush(5)
        if not delivered or delivered[0][0] is not None:
            return Health(False, f"produce failed: {delivered[0][0] if delivered else 'timeout'}")
        offset = delivered[0][1].offset()
        if offset is None:
            return Health(False, "the health message got no offset")
        consumer = Consumer({**_client_config(self.bootstrap), "group.id": "sandbox-health",
                             "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        try:
            consumer.assign([TopicPartition(HEALTH_TOPIC, 0, offset)])
            msg = consumer.poll(5)
            if msg is None or msg.error() or msg.value() != token:
                return Health(False, "round trip did not read back the message")
        finally:
            consumer.close()
        return Health(True, f"{len(metadata.topics)} topics, round trip ok")

    def after_start(self) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(_client_config(self.bootstrap))
        existing = admin.list_topics(timeout=5).topics
        missing = [t for t in self.settings.kafka.topics if t not in existing]
        if missing:
            self._create_topics(admin, missing, self.settings.kafka.partitions)

    @staticmethod
    def _create_topics(admin, names: list[str], partitions: int) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import NewTopic

        futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names])
        for future in futures.values():
            try:
                future.result(10)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise

    def snapshot_paths(self) -> list[Path]:
        return [self.data_dir]

    def env(self) -> dict[str, str]:
        return {"KAFKA_BROKERS": self.bootstrap}


def _client_config(bootstrap: str) -> dict:
    # log_level 0: connection-refused chatter while the broker starts is expected, not news
    return {"bootstrap.servers": bootstrap, "log_level": 0, "socket.connection.setup.timeout.ms": 2000}
