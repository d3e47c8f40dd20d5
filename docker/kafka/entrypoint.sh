#!/bin/bash
# redpanda start --kafka-addr name://host:port,... --advertise-kafka-addr name://host:port,...
# -> a KRaft broker+controller with the same listeners. Other Redpanda flags are ignored.
set -euo pipefail
[ "${1:-}" = redpanda ] && shift
[ "${1:-}" = start ] && shift
listeners="PLAINTEXT://0.0.0.0:9092"; advertised="PLAINTEXT://127.0.0.1:9092"
while [ $# -gt 0 ]; do
  case "$1" in
    --kafka-addr) listeners="$2"; shift 2 ;;
    --kafka-addr=*) listeners="${1#*=}"; shift ;;
    --advertise-kafka-addr) advertised="$2"; shift 2 ;;
    --advertise-kafka-addr=*) advertised="${1#*=}"; shift ;;
    *) shift ;;
  esac
done
upper() { echo "$1" | sed -E 's#(^|,)([a-zA-Z_]+)://#\1\U\2://#g'; }
listeners=$(upper "$listeners"); advertised=$(upper "$advertised")
names=$(echo "$listeners" | tr ',' '\n' | sed -E 's#://.*##')
protomap="CONTROLLER:PLAINTEXT"; for n in $names; do protomap="$protomap,$n:PLAINTEXT"; done
first=$(echo "$names" | head -1)
data=/var/lib/redpanda/data; conf=/tmp/server.properties
cat > $conf <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=$listeners,CONTROLLER://127.0.0.1:9093
advertised.listeners=$advertised
inter.broker.listener.name=$first
controller.listener.names=CONTROLLER
listener.security.protocol.map=$protomap
log.dirs=$data
num.partitions=${KAFKA_NUM_PARTITIONS:-1}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=${KAFKA_AUTO_CREATE_TOPICS:-true}
PROPS
cat > /tmp/log4j.properties <<'L4J'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.log=WARN
log4j.logger.state.change.logger=WARN
L4J
java_cmd=(java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j.configuration=file:/tmp/log4j.properties -cp "/opt/kafka/libs/*")
if [ ! -f $data/meta.properties ]; then
  cluster_id=$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid)
  "${java_cmd[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c $conf
fi
heap=${KAFKA_HEAP:-512m}
exec "${java_cmd[@]}" -Xms$heap -Xmx$heap kafka.Kafka $conf
