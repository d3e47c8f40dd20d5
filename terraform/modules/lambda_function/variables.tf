variable "function_name" {
  description = "Name of the Lambda function (also names its role and log group)."
  type        = string
}

variable "description" {
  description = "Description of the function."
  type        = string
  default     = ""
}

variable "handler" {
  description = "Handler entry point, module.function."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
}

variable "zip_path" {
  description = "Path of the deployment package zip (built outside Terraform)."
  type        = string
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 30
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 256
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function (-1: unreserved)."
  type        = number
  default     = -1
}

variable "environment_variables" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "IAM policy document (JSON) with the permissions the code needs besides writing its own logs."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the environment variables and the log group (null: AWS managed keys)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
