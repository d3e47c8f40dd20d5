variable "name" {
  description = "Name of the VPC and prefix of every resource the module creates."
  type        = string
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "enable_dns_hostnames" {
  description = "Give instances public DNS host names (EKS nodes need it)."
  type        = bool
  default     = true
}

variable "azs" {
  description = "Availability zones to spread the subnets across (one public and one private subnet per zone)."
  type        = list(string)
}

variable "public_subnets" {
  description = "CIDR blocks of the public subnets, one per entry of azs."
  type        = list(string)
}

variable "private_subnets" {
  description = "CIDR blocks of the private subnets, one per entry of azs."
  type        = list(string)
}

variable "create_nat" {
  description = "Create one NAT gateway (in the first public subnet) that the private subnets route through."
  type        = bool
  default     = true
}

variable "create_flow_log" {
  description = "Send the VPC flow log to a CloudWatch log group."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "Retention of the flow log group, in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group (null: CloudWatch default encryption)."
  type        = string
  default     = null
}

variable "public_subnet_tags" {
  description = "Extra tags of the public subnets (e.g. kubernetes.io/role/elb)."
  type        = map(string)
  default     = {}
}

variable "private_subnet_tags" {
  description = "Extra tags of the private subnets (e.g. kubernetes.io/role/internal-elb)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
