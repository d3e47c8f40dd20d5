variable "bucket" {
  description = "Name of the bucket."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for default SSE-KMS encryption (null: SSE-S3 with AES256)."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Delete all objects when the bucket is destroyed (true only for throwaway environments)."
  type        = bool
  default     = false
}

variable "create_lifecycle_configuration" {
  description = "Create the lifecycle configuration (expire noncurrent versions, abort stale multipart uploads)."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions are deleted."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
