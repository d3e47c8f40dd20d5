variable "cluster_name" {
  description = "Name of the MSK cluster (also names its security group, configuration and log group)."
  type        = string
}

variable "kafka_version" {
  description = "Apache Kafka version of the brokers."
  type        = string
  default     = "3.6.0"
}

variable "number_of_broker_nodes" {
  description = "Number of brokers (a multiple of the number of client subnets)."
  type        = number
  default     = 2
}

variable "broker_instance_type" {
  description = "Instance type of the brokers."
  type        = string
  default     = "kafka.t3.small"
}

variable "broker_volume_size" {
  description = "EBS volume size per broker, in GiB."
  type        = number
  default     = 100
}

variable "vpc_id" {
  description = "VPC of the brokers."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the brokers, one per AZ."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups whose members may connect to the brokers (TLS port 9094 only), e.g. the EKS cluster security group."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest and for the broker log group (null: AWS managed key)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the broker log group, in days."
  type        = number
  default     = 365
}

variable "server_properties" {
  description = "Broker settings written to the MSK configuration (key = value)."
  type        = map(string)
  default = {
    "auto.create.topics.enable"  = "false"
    "default.replication.factor" = "2"
    "min.insync.replicas"        = "1"
    "num.partitions"             = "6"
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
