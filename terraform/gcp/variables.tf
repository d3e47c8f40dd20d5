variable "project_id" {
  description = "GCP project that holds the stack."
  type        = string
}

variable "region" {
  description = "Region of the subnet, the bucket and the Dataproc cluster."
  type        = string
  default     = "europe-west1"
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. ticketing-prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name_prefix))
    error_message = "name_prefix must be 3-21 lowercase letters, digits or dashes, starting with a letter (the service account id \"<prefix>-dataproc\" has at most 30 characters)."
  }
}

variable "labels" {
  description = "Labels added to the bucket and the cluster."
  type        = map(string)
  default     = {}
}

variable "subnet_cidr" {
  description = "Primary IPv4 range of the Dataproc subnet."
  type        = string
  default     = "10.30.0.0/20"
}

variable "create_nat" {
  description = "Create Cloud Router + Cloud NAT so the internal-IP-only nodes can reach the internet (package mirrors)."
  type        = bool
  default     = true
}

variable "create_dataproc" {
  description = "Create the Dataproc cluster (off in a sandbox: the sandbox runs its own Flink)."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let destroy remove the bucket even if it still holds objects."
  type        = bool
  default     = false
}

variable "kms_key_name" {
  description = "Cloud KMS key (projects/.../cryptoKeys/...) for the bucket and the cluster disks (null: Google managed encryption)."
  type        = string
  default     = null
}

variable "dataproc_image_version" {
  description = "Dataproc image version; the FLINK optional component needs 2.1 or later."
  type        = string
  default     = "2.2-debian12"
}

variable "master_machine_type" {
  description = "Machine type of the master node (JobManager)."
  type        = string
  default     = "n2-standard-4"
}

variable "worker_machine_type" {
  description = "Machine type of the worker nodes (TaskManagers)."
  type        = string
  default     = "n2-standard-4"
}

variable "worker_count" {
  description = "Number of primary workers."
  type        = number
  default     = 2
}

variable "boot_disk_size_gb" {
  description = "Boot disk size of every node, in GB."
  type        = number
  default     = 100
}

variable "flink_job_path" {
  description = "Local path of the analytics job (e.g. ../../flink/analytics_job.py) uploaded to the bucket; null: upload nothing."
  type        = string
  default     = null
}

variable "flink_connector_jar_path" {
  description = "Local path of the Flink Kafka SQL connector jar uploaded to the bucket and installed by the init action; null: the init action skips it."
  type        = string
  default     = null
}

variable "kafka_brokers" {
  description = "Bootstrap servers of the Kafka cluster the job reads bookings from and writes analytics-results to (passed to the nodes as metadata)."
  type        = string
  default     = ""
}
