variable "cluster_name" {
  description = "Name of the EKS cluster (also prefixes its roles and node group)."
  type        = string
}

variable "cluster_version" {
  description = "Kubernetes version of the control plane and the node group."
  type        = string
  default     = "1.31"
}

variable "subnet_ids" {
  description = "Private subnets for the control plane ENIs and the nodes (at least two AZs)."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the API server endpoint publicly (restricted to public_access_cidrs)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint when endpoint_public_access is true."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key for envelope encryption of Kubernetes secrets and for the control plane log group (null: no envelope encryption)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the control plane log group, in days."
  type        = number
  default     = 365
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group."
  type        = list(string)
  default     = ["t3.large"]
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 2
}

variable "node_desired_size" {
  description = "Desired number of nodes."
  type        = number
  default     = 2
}

variable "node_max_size" {
  description = "Maximum number of nodes (the cluster autoscaler and HPA-driven scale-out stop here)."
  type        = number
  default     = 5
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
