variable "name" {
  description = "Name of the repository."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images (null: AES256)."
  type        = string
  default     = null
}

variable "keep_images" {
  description = "Number of most recent images the lifecycle policy keeps."
  type        = number
  default     = 30
}

variable "force_delete" {
  description = "Delete the repository even if it still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
