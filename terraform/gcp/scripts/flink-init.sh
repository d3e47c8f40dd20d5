#!/usr/bin/env bash
# Dataproc initialization action for the booking-analytics Flink job.
# Runs as root on every node of a cluster created with the FLINK optional
# component (terraform/gcp/main.tf uploads it to gs://<bucket>/scripts/).
#
# 1. Installs PyFlink matching the cluster's Flink version into the Dataproc
#    Python, so PythonDriver (flink run -py / -pym) can start the job.
# 2. Copies the Kafka SQL connector jar (metadata flink-jar-object) into
#    Flink's lib/ on every node.
# 3. Writes /etc/default/booking-analytics with KAFKA_BROKERS and the job URI
#    for whoever submits the job (flink/submit_dataproc.py submits it through
#    the Dataproc Jobs API).
set -euo pipefail

metadata() {
  /usr/share/google/get_metadata_value "attributes/$1" 2>/dev/null || true
}

readonly ROLE="$(metadata dataproc-role)"
readonly BUCKET="$(metadata flink-bucket)"
readonly JAR_OBJECT="$(metadata flink-jar-object)"
readonly JOB_OBJECT="$(metadata flink-job-object)"
readonly KAFKA_BROKERS="$(metadata kafka-brokers)"
readonly FLINK_HOME="${FLINK_HOME:-/usr/lib/flink}"
readonly PIP="${DATAPROC_PIP:-/opt/conda/default/bin/pip}"

log() { echo "[flink-init] $*" >&2; }

flink_version() {
  local dist
  dist="$(ls "${FLINK_HOME}"/lib/flink-dist*.jar 2>/dev/null | head -n1)"
  # flink-dist-1.17.2.jar or flink-dist_2.12-1.17.2.jar -> 1.17.2
  basename "${dist}" .jar | sed -E 's/^flink-dist(_[0-9.]+)?-//'
}

install_pyflink() {
  local version
  version="$(flink_version)"
  if [[ -z "${version}" ]]; then
    log "no flink-dist jar under ${FLINK_HOME}/lib; is the FLINK component enabled?"
    exit 1
  fi
  log "installing apache-flink==${version} for PyFlink"
  "${PIP}" install --quiet "apache-flink==${version}"
}

install_connector_jar() {
  if [[ -z "${BUCKET}" || -z "${JAR_OBJECT}" ]]; then
    log "no connector jar configured (metadata flink-jar-object empty); skipping"
    return 0
  fi
  log "copying gs://${BUCKET}/${JAR_OBJECT} to ${FLINK_HOME}/lib/"
  gsutil -q cp "gs://${BUCKET}/${JAR_OBJECT}" "${FLINK_HOME}/lib/"
}

write_job_env() {
  cat >/etc/default/booking-analytics <<ENV
KAFKA_BROKERS=${KAFKA_BROKERS}
FLINK_JOB_URI=${JOB_OBJECT:+gs://${BUCKET}/${JOB_OBJECT}}
ENV
}

main() {
  log "node role: ${ROLE:-unknown}"
  install_pyflink
  install_connector_jar
  write_job_env
  log "done"
}

main "$@"
