################################################################################
# Provider and naming
################################################################################

variable "aws_region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. ticketing-sandbox or ticketing-prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix must be 3-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# The four flags below are what an emulator (moto, LocalStack) needs. They are
# variables so that the .tf files stay identical between workspaces; only
# env/sandbox.tfvars turns them on. The endpoint itself comes from the
# AWS_ENDPOINT_URL environment variable, never from the .tf files.

variable "skip_credentials_validation" {
  description = "Provider flag: do not validate credentials with STS (emulator only)."
  type        = bool
  default     = false
}

variable "skip_requesting_account_id" {
  description = "Provider flag: do not look up the account ID at start-up (emulator only)."
  type        = bool
  default     = false
}

variable "skip_metadata_api_check" {
  description = "Provider flag: do not query the EC2 instance metadata service for credentials (emulator only)."
  type        = bool
  default     = false
}

variable "s3_use_path_style" {
  description = "Provider flag: address S3 as endpoint/bucket instead of bucket.endpoint (emulator only)."
  type        = bool
  default     = false
}

################################################################################
# Feature switches (the sandbox workspace turns the managed data planes off)
################################################################################

variable "create_vpc" {
  description = "Create the VPC (required by create_eks, create_msk and create_rds)."
  type        = bool
  default     = true
}

variable "create_nat" {
  description = "Create a NAT gateway for the private subnets."
  type        = bool
  default     = true
}

variable "create_eks" {
  description = "Create the EKS cluster, its managed node group, the OIDC provider and the IRSA roles."
  type        = bool
  default     = true
}

variable "create_msk" {
  description = "Create the MSK cluster (needs create_eks: only the cluster security group may reach it)."
  type        = bool
  default     = true
}

variable "create_rds" {
  description = "Create the RDS PostgreSQL instance (needs create_eks: only the cluster security group may reach it)."
  type        = bool
  default     = true
}

variable "create_ecr" {
  description = "Create one ECR repository per service."
  type        = bool
  default     = true
}

variable "create_kms_key" {
  description = "Create a customer managed KMS key for the data stores and log groups. When false they use AWS managed encryption (SSE-S3, AWS owned DynamoDB key, ...): the aws provider spends ~12 s waiting for a new key's policy, rotation and tags to propagate, so the sandbox turns it off."
  type        = bool
  default     = true
}

variable "create_bucket_lifecycle" {
  description = "Create the raw-data bucket's lifecycle configuration. The aws provider waits ~55 s after writing one (10 s delay + 10 identical reads 5 s apart, for S3's eventual consistency), so the sandbox turns it off."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let destroy remove non-empty buckets and repositories and skip deletion protection (throwaway environments only)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group, in days."
  type        = number
  default     = 365
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.20.0.0/16"
}

variable "vpc_enable_dns_hostnames" {
  description = "Enable DNS host names in the VPC (required by EKS). Turning it on costs ~10 s per create: the provider waits 10 s before checking the attribute, so the sandbox, which has no EKS, leaves it off."
  type        = bool
  default     = true
}

variable "azs" {
  description = "Two availability zones (null: the first two of the region)."
  type        = list(string)
  default     = null
}

variable "public_subnets" {
  description = "CIDR blocks of the public subnets, one per AZ."
  type        = list(string)
  default     = ["10.20.0.0/20", "10.20.16.0/20"]
}

variable "private_subnets" {
  description = "CIDR blocks of the private subnets, one per AZ."
  type        = list(string)
  default     = ["10.20.128.0/19", "10.20.160.0/19"]
}

################################################################################
# EKS
################################################################################

variable "eks_cluster_version" {
  description = "Kubernetes version of the EKS cluster."
  type        = string
  default     = "1.31"
}

variable "eks_endpoint_public_access" {
  description = "Expose the EKS API endpoint publicly (restricted to eks_public_access_cidrs)."
  type        = bool
  default     = false
}

variable "eks_public_access_cidrs" {
  description = "CIDRs allowed to reach the public EKS API endpoint."
  type        = list(string)
  default     = []
}

variable "eks_node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["t3.large"]
}

variable "eks_node_min_size" {
  description = "Minimum size of the managed node group."
  type        = number
  default     = 2
}

variable "eks_node_desired_size" {
  description = "Desired size of the managed node group."
  type        = number
  default     = 2
}

variable "eks_node_max_size" {
  description = "Maximum size of the managed node group."
  type        = number
  default     = 5
}

variable "kubernetes_namespace" {
  description = "Namespace of the services' Kubernetes service accounts (IRSA trust)."
  type        = string
  default     = "ticketing"
}

################################################################################
# MSK
################################################################################

variable "msk_kafka_version" {
  description = "Kafka version of the MSK brokers."
  type        = string
  default     = "3.6.0"
}

variable "msk_broker_instance_type" {
  description = "Instance type of the MSK brokers."
  type        = string
  default     = "kafka.t3.small"
}

variable "msk_number_of_broker_nodes" {
  description = "Number of MSK brokers (one per private subnet or a multiple)."
  type        = number
  default     = 2
}

################################################################################
# RDS
################################################################################

variable "rds_engine_version" {
  description = "PostgreSQL version of the RDS instance."
  type        = string
  default     = "16"
}

variable "rds_instance_class" {
  description = "Instance class of the RDS instance."
  type        = string
  default     = "db.t4g.medium"
}

variable "rds_db_name" {
  description = "Database created in the RDS instance (the event catalog's DB_NAME)."
  type        = string
  default     = "ticketing"
}

variable "rds_username" {
  description = "Master user name of the RDS instance; its password is managed by RDS in Secrets Manager."
  type        = string
  default     = "ticketing_admin"
}

variable "rds_multi_az" {
  description = "Run the RDS instance Multi-AZ."
  type        = bool
  default     = true
}

################################################################################
# Data and the ticket generator
################################################################################

variable "uploads_prefix" {
  description = "Key prefix whose ObjectCreated events invoke the ticket generator."
  type        = string
  default     = "uploads/"
}

variable "tickets_prefix" {
  description = "Key prefix the ticket generator writes PDF tickets under."
  type        = string
  default     = "tickets/"
}

variable "lambda_zip_path" {
  description = "Path of the ticket generator's deployment zip, built by the harness (services/ticket-generator)."
  type        = string
}

variable "lambda_runtime" {
  description = "Runtime of the ticket generator."
  type        = string
  default     = "python3.11"
}

variable "lambda_handler" {
  description = "Handler of the ticket generator."
  type        = string
  default     = "lambda_function.lambda_handler"
}

variable "lambda_timeout" {
  description = "Timeout of the ticket generator, in seconds."
  type        = number
  default     = 30
}

variable "lambda_memory_size" {
  description = "Memory of the ticket generator, in MB."
  type        = number
  default     = 256
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the ticket generator (-1: unreserved)."
  type        = number
  default     = 10
}

variable "lambda_tracing_mode" {
  description = "X-Ray tracing mode of the ticket generator (Active or PassThrough)."
  type        = string
  default     = "Active"
}

variable "lambda_environment" {
  description = "Extra environment variables of the ticket generator (USERS_TABLE and RAW_DATA_BUCKET are always set and win)."
  type        = map(string)
  default     = {}
}

variable "ecr_repositories" {
  description = "Services that get an ECR repository (<name_prefix>/<service>)."
  type        = list(string)
  default     = ["frontend", "booking-service", "booking-consumer", "event-catalog", "user-service"]
}
