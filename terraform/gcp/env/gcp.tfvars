# Workspace "gcp": the full Dataproc/Flink stack. The google provider is not in
# the offline mirror, so this is only formatted and scanned on offline machines.

project_id  = "ticketing-prod-project"
region      = "europe-west1"
name_prefix = "ticketing-prod"

create_nat      = true
create_dataproc = true
force_destroy   = false

worker_count        = 2
master_machine_type = "n2-standard-4"
worker_machine_type = "n2-standard-4"

# Built by the harness; relative to terraform/gcp.
flink_job_path = "../../flink/analytics_job.py"

# Kafka SQL connector jar resolved by the harness (Maven, .cache/jars); its
# version must match the cluster's Flink. null: the init action skips it.
flink_connector_jar_path = null

# Filled in from the aws workspace output msk_bootstrap_brokers_tls (or a
# Kafka reachable from the GCP subnet).
kafka_brokers = ""

labels = {
  environment = "production"
  project     = "ticketing"
}
