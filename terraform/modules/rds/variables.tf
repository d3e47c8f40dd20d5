variable "identifier" {
  description = "Identifier of the DB instance (also names its subnet group, parameter group and security group)."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major or major.minor version."
  type        = string
  default     = "16"
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "Upper limit for storage autoscaling in GiB."
  type        = number
  default     = 100
}

variable "db_name" {
  description = "Name of the database created with the instance."
  type        = string
}

variable "username" {
  description = "Master user name. The password is generated and kept in Secrets Manager by RDS."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the instance."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (at least two AZs)."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups whose members may connect on port 5432, e.g. the EKS cluster security group."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the master user secret (null: AWS managed key)."
  type        = string
  default     = null
}

variable "multi_az" {
  description = "Run a standby in a second AZ."
  type        = bool
  default     = true
}

variable "backup_retention_period" {
  description = "Days of automated backups."
  type        = number
  default     = 7
}

variable "deletion_protection" {
  description = "Refuse deletion while enabled."
  type        = bool
  default     = true
}

variable "monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds (0 disables it)."
  type        = number
  default     = 60
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
