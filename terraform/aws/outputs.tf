################################################################################
# Always present (the sandbox workspace feeds these to `sandbox env`)
################################################################################

output "aws_region" {
  description = "Region of the stack (AWS_REGION / AWS_DEFAULT_REGION)."
  value       = var.aws_region
}

output "name_prefix" {
  description = "Prefix of every resource name."
  value       = var.name_prefix
}

output "account_id" {
  description = "Account the stack lives in."
  value       = local.account_id
}

output "kms_key_arn" {
  description = "ARN of the stack's customer managed KMS key (null when create_kms_key is false)."
  value       = local.kms_key_arn
}

output "raw_data_bucket" {
  description = "Raw-data bucket name (RAW_DATA_BUCKET): uploads/ in, tickets/ out."
  value       = module.raw_data_bucket.bucket_id
}

output "raw_data_bucket_arn" {
  description = "ARN of the raw-data bucket."
  value       = module.raw_data_bucket.bucket_arn
}

output "uploads_prefix" {
  description = "Key prefix that triggers the ticket generator."
  value       = var.uploads_prefix
}

output "tickets_prefix" {
  description = "Key prefix the ticket generator writes to."
  value       = var.tickets_prefix
}

output "users_table" {
  description = "DynamoDB users table name (USERS_TABLE)."
  value       = module.users_table.table_name
}

output "users_table_arn" {
  description = "ARN of the users table."
  value       = module.users_table.table_arn
}

output "ticket_generator_function_name" {
  description = "Name of the ticket generator Lambda."
  value       = module.ticket_generator.function_name
}

output "ticket_generator_function_arn" {
  description = "ARN of the ticket generator Lambda."
  value       = module.ticket_generator.function_arn
}

output "ticket_generator_log_group" {
  description = "CloudWatch log group of the ticket generator."
  value       = module.ticket_generator.log_group_name
}

output "ecr_repository_urls" {
  description = "Map of service name to ECR repository URL (empty when create_ecr is false)."
  value       = { for service, repo in module.ecr : service => repo.repository_url }
}

################################################################################
# Null when the corresponding create_* switch is off (sandbox workspace)
################################################################################

output "vpc_id" {
  description = "ID of the VPC (null when create_vpc is false)."
  value       = try(module.vpc[0].vpc_id, null)
}

output "private_subnet_ids" {
  description = "Private subnet IDs (empty when create_vpc is false)."
  value       = try(module.vpc[0].private_subnet_ids, [])
}

output "public_subnet_ids" {
  description = "Public subnet IDs (empty when create_vpc is false)."
  value       = try(module.vpc[0].public_subnet_ids, [])
}

output "eks_cluster_name" {
  description = "Name of the EKS cluster (null when create_eks is false)."
  value       = try(module.eks[0].cluster_name, null)
}

output "eks_cluster_endpoint" {
  description = "Endpoint of the EKS API server (null when create_eks is false)."
  value       = try(module.eks[0].cluster_endpoint, null)
}

output "eks_cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the EKS API server (null when create_eks is false)."
  value       = try(module.eks[0].cluster_certificate_authority_data, null)
}

output "eks_oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider for IRSA (null when create_eks is false)."
  value       = try(module.eks[0].oidc_provider_arn, null)
}

output "irsa_role_arns" {
  description = "Map of service account name to IAM role ARN for the eks.amazonaws.com/role-arn annotation (empty when create_eks is false)."
  value       = { for service, role in module.irsa : service => role.role_arn }
}

output "kubernetes_namespace" {
  description = "Namespace the IRSA roles trust."
  value       = var.kubernetes_namespace
}

output "msk_bootstrap_brokers_tls" {
  description = "TLS bootstrap brokers (KAFKA_BROKERS; null when create_msk is false)."
  value       = try(module.msk[0].bootstrap_brokers_tls, null)
}

output "rds_endpoint" {
  description = "host:port of the RDS instance (null when create_rds is false)."
  value       = try(module.rds[0].endpoint, null)
}

output "rds_address" {
  description = "Host name of the RDS instance (DB_HOST; null when create_rds is false)."
  value       = try(module.rds[0].address, null)
}

output "rds_port" {
  description = "Port of the RDS instance (DB_PORT; null when create_rds is false)."
  value       = try(module.rds[0].port, null)
}

output "rds_db_name" {
  description = "Database name (DB_NAME; null when create_rds is false)."
  value       = try(module.rds[0].db_name, null)
}

output "rds_master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret with the RDS master credentials; the password itself is never an output (null when create_rds is false)."
  value       = try(module.rds[0].master_user_secret_arn, null)
}
