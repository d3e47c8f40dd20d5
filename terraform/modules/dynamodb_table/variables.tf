variable "name" {
  description = "Name of the table."
  type        = string
}

variable "hash_key" {
  description = "Partition key attribute name (type S)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for server-side encryption (null: AWS owned key)."
  type        = string
  default     = null
}

variable "point_in_time_recovery" {
  description = "Enable point-in-time recovery."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse DeleteTable while enabled."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
