provider "aws" {
  region = var.aws_region

  # Emulator switches; all false for a real account (see env/sandbox.tfvars).
  skip_credentials_validation = var.skip_credentials_validation
  skip_requesting_account_id  = var.skip_requesting_account_id
  skip_metadata_api_check     = var.skip_metadata_api_check
  s3_use_path_style           = var.s3_use_path_style

  default_tags {
    tags = merge(var.tags, {
      Project   = "ticketing"
      Workspace = terraform.workspace
      ManagedBy = "terraform"
    })
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  count = var.create_vpc && var.azs == null ? 1 : 0

  state = "available"
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = var.azs != null ? var.azs : try(slice(data.aws_availability_zones.available[0].names, 0, 2), [])

  eks_cluster_name = "${var.name_prefix}-eks"
  users_table      = "${var.name_prefix}-users"
  raw_data_bucket  = "${var.name_prefix}-raw-data-${local.account_id}"
  ticket_generator = "${var.name_prefix}-ticket-generator"

  create_eks = var.create_vpc && var.create_eks
  create_msk = local.create_eks && var.create_msk
  create_rds = local.create_eks && var.create_rds

  # null: AWS managed encryption (see var.create_kms_key).
  kms_key_arn = var.create_kms_key ? aws_kms_key.main[0].arn : null
}

################################################################################
# Encryption key shared by the stack's data stores and log groups
################################################################################

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:Key policy: "*" is the key itself, and only the account root and the regional CloudWatch Logs service (with an encryption-context condition) are principals.
  #checkov:skip=CKV_AWS_356:Key policy: "*" is the key itself; a key policy cannot name its own ARN before the key exists.
  #checkov:skip=CKV_AWS_109:Key policy: the account root must administer the key (AWS default key policy), otherwise the key becomes unmanageable.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # In a key policy "*" means this key.

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsUse"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"] # In a key policy "*" means this key.

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:*"]
    }
  }
}

resource "aws_kms_key" "main" {
  count = var.create_kms_key ? 1 : 0

  description             = "${var.name_prefix}: S3, DynamoDB, Lambda, logs, ECR, EKS secrets, MSK, RDS"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.main[0].key_id
}

################################################################################
# Network
################################################################################

module "vpc" {
  source = "../modules/vpc"
  count  = var.create_vpc ? 1 : 0

  name                 = var.name_prefix
  cidr                 = var.vpc_cidr
  enable_dns_hostnames = var.vpc_enable_dns_hostnames
  azs                  = local.azs
  public_subnets       = var.public_subnets
  private_subnets      = var.private_subnets
  create_nat           = var.create_nat

  kms_key_arn             = local.kms_key_arn
  flow_log_retention_days = var.log_retention_days

  public_subnet_tags  = { "kubernetes.io/role/elb" = "1" }
  private_subnet_tags = { "kubernetes.io/role/internal-elb" = "1" }
}

################################################################################
# EKS (+ OIDC provider for IRSA)
################################################################################

module "eks" {
  source = "../modules/eks"
  count  = local.create_eks ? 1 : 0

  cluster_name           = local.eks_cluster_name
  cluster_version        = var.eks_cluster_version
  subnet_ids             = module.vpc[0].private_subnet_ids
  endpoint_public_access = var.eks_endpoint_public_access
  public_access_cidrs    = var.eks_public_access_cidrs
  kms_key_arn            = local.kms_key_arn
  log_retention_days     = var.log_retention_days

  node_instance_types = var.eks_node_instance_types
  node_min_size       = var.eks_node_min_size
  node_desired_size   = var.eks_node_desired_size
  node_max_size       = var.eks_node_max_size
}

################################################################################
# MSK: two brokers, reachable only from the EKS cluster security group
################################################################################

module "msk" {
  source = "../modules/msk"
  count  = local.create_msk ? 1 : 0

  cluster_name              = "${var.name_prefix}-msk"
  kafka_version             = var.msk_kafka_version
  broker_instance_type      = var.msk_broker_instance_type
  number_of_broker_nodes    = var.msk_number_of_broker_nodes
  vpc_id                    = module.vpc[0].vpc_id
  subnet_ids                = module.vpc[0].private_subnet_ids
  client_security_group_ids = [module.eks[0].cluster_security_group_id]
  kms_key_arn               = local.kms_key_arn
  log_retention_days        = var.log_retention_days
}

################################################################################
# RDS PostgreSQL (event catalog, seat inventory)
################################################################################

module "rds" {
  source = "../modules/rds"
  count  = local.create_rds ? 1 : 0

  identifier                = "${var.name_prefix}-postgres"
  engine_version            = var.rds_engine_version
  instance_class            = var.rds_instance_class
  db_name                   = var.rds_db_name
  username                  = var.rds_username
  vpc_id                    = module.vpc[0].vpc_id
  subnet_ids                = module.vpc[0].private_subnet_ids
  client_security_group_ids = [module.eks[0].cluster_security_group_id]
  kms_key_arn               = local.kms_key_arn
  multi_az                  = var.rds_multi_az
}

################################################################################
# DynamoDB users table and the raw-data bucket
################################################################################

module "users_table" {
  source = "../modules/dynamodb_table"

  name                = local.users_table
  hash_key            = "user_id"
  kms_key_arn         = local.kms_key_arn
  deletion_protection = !var.force_destroy
}

module "raw_data_bucket" {
  source = "../modules/s3_bucket"

  bucket                         = local.raw_data_bucket
  kms_key_arn                    = local.kms_key_arn
  force_destroy                  = var.force_destroy
  create_lifecycle_configuration = var.create_bucket_lifecycle
}

################################################################################
# Ticket generator: Lambda on s3:ObjectCreated under uploads/
################################################################################

data "aws_iam_policy_document" "ticket_generator" {
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = ["${module.raw_data_bucket.bucket_arn}/${var.uploads_prefix}*"]
  }

  statement {
    sid       = "WriteTickets"
    actions   = ["s3:PutObject"]
    resources = ["${module.raw_data_bucket.bucket_arn}/${var.tickets_prefix}*"]
  }

  statement {
    sid       = "ReadUsers"
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = [module.users_table.table_arn]
  }

  dynamic "statement" {
    for_each = var.create_kms_key ? [local.kms_key_arn] : []

    content {
      sid       = "UseDataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

module "ticket_generator" {
  source = "../modules/lambda_function"

  function_name                  = local.ticket_generator
  description                    = "Builds a PDF ticket for every object uploaded under ${var.uploads_prefix}"
  handler                        = var.lambda_handler
  runtime                        = var.lambda_runtime
  zip_path                       = var.lambda_zip_path
  timeout                        = var.lambda_timeout
  memory_size                    = var.lambda_memory_size
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  tracing_mode                   = var.lambda_tracing_mode
  kms_key_arn                    = local.kms_key_arn
  log_retention_days             = var.log_retention_days
  policy_json                    = data.aws_iam_policy_document.ticket_generator.json

  environment_variables = merge(var.lambda_environment, {
    USERS_TABLE     = module.users_table.table_name
    RAW_DATA_BUCKET = module.raw_data_bucket.bucket_id
    TICKETS_PREFIX  = var.tickets_prefix
  })
}

resource "aws_lambda_permission" "ticket_generator_s3" {
  statement_id   = "AllowS3Invoke"
  action         = "lambda:InvokeFunction"
  function_name  = module.ticket_generator.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = module.raw_data_bucket.bucket_arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "raw_data" {
  bucket = module.raw_data_bucket.bucket_id

  lambda_function {
    id                  = "ticket-generator"
    lambda_function_arn = module.ticket_generator.function_arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = var.uploads_prefix
  }

  depends_on = [aws_lambda_permission.ticket_generator_s3]
}

################################################################################
# ECR: one repository per service
################################################################################

module "ecr" {
  source   = "../modules/ecr_repository"
  for_each = var.create_ecr ? toset(var.ecr_repositories) : toset([])

  name         = "${var.name_prefix}/${each.value}"
  kms_key_arn  = local.kms_key_arn
  force_delete = var.force_destroy
}

################################################################################
# IRSA: one role per service that calls AWS APIs
################################################################################

data "aws_iam_policy_document" "irsa" {
  for_each = local.create_eks ? local.irsa_statements : {}

  dynamic "statement" {
    for_each = each.value

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

locals {
  kms_use = var.create_kms_key ? [{
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }] : []

  db_secret = local.create_rds ? [{
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [module.rds[0].master_user_secret_arn]
  }] : []

  irsa_statements = {
    "user-service" = concat([
      {
        sid       = "UsersTable"
        actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
        resources = [module.users_table.table_arn]
      },
    ], local.kms_use)
    "frontend" = concat([
      {
        sid       = "PutUploads"
        actions   = ["s3:PutObject"]
        resources = ["${module.raw_data_bucket.bucket_arn}/${var.uploads_prefix}*"]
      },
      {
        sid       = "GetTickets"
        actions   = ["s3:GetObject"]
        resources = ["${module.raw_data_bucket.bucket_arn}/${var.tickets_prefix}*"]
      },
    ], local.kms_use)
    "event-catalog"    = concat(local.db_secret, local.kms_use)
    "booking-consumer" = concat(local.db_secret, local.kms_use)
  }
}

module "irsa" {
  source   = "../modules/irsa_role"
  for_each = data.aws_iam_policy_document.irsa

  name              = "${var.name_prefix}-${each.key}"
  oidc_provider_arn = module.eks[0].oidc_provider_arn
  oidc_issuer_url   = module.eks[0].oidc_issuer_url
  namespace         = var.kubernetes_namespace
  service_account   = each.key
  policy_json       = each.value.json
}
