# Offline unit tests of terraform/aws with a mocked aws provider (no emulator,
# no credentials): `terraform -chdir=terraform/aws test`.
# They pin the workspace contract: what the sandbox switches off, what the
# aws workspace must contain, and the ticket generator wiring.
# The emulator end-to-end proof is terraform/tests/e2e_sandbox.sh.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c"]
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:us-east-1:123456789012:key/mock"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:mock"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mock"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock"
    }
  }

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = {
      arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/MOCK"
    }
  }

  mock_resource "aws_msk_configuration" {
    defaults = {
      arn = "arn:aws:kafka:us-east-1:123456789012:configuration/mock"
    }
  }

  mock_resource "aws_ecr_repository" {
    defaults = {
      arn = "arn:aws:ecr:us-east-1:123456789012:repository/mock"
    }
  }

  mock_resource "aws_eks_cluster" {
    defaults = {
      arn                   = "arn:aws:eks:us-east-1:123456789012:cluster/mock"
      identity              = [{ oidc = [{ issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/MOCK" }] }]
      certificate_authority = [{ data = "bW9jaw==" }]
    }
  }

  mock_resource "aws_db_instance" {
    defaults = {
      arn                = "arn:aws:rds:us-east-1:123456789012:db:mock"
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-mock", kms_key_id = "", secret_status = "active" }]
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  lambda_zip_path = "../tests/fixtures/lambda/lambda_function.py"
}

run "sandbox_switches_off_managed_data_planes" {
  command = apply

  variables {
    name_prefix             = "ticketing-sandbox"
    create_nat              = false
    create_eks              = false
    create_msk              = false
    create_rds              = false
    create_kms_key          = false
    create_bucket_lifecycle = false
    force_destroy           = true
  }

  assert {
    condition     = length(module.eks) == 0 && length(module.msk) == 0 && length(module.rds) == 0
    error_message = "EKS, MSK and RDS must be off in the sandbox"
  }

  assert {
    condition     = module.vpc[0].nat_gateway_id == null
    error_message = "no NAT gateway in the sandbox"
  }

  assert {
    condition     = output.msk_bootstrap_brokers_tls == null && output.rds_endpoint == null && output.eks_cluster_name == null && output.rds_master_user_secret_arn == null
    error_message = "outputs of switched-off planes must be null"
  }

  assert {
    condition     = length(output.irsa_role_arns) == 0
    error_message = "no IRSA roles without EKS"
  }

  assert {
    condition     = output.users_table == "ticketing-sandbox-users"
    error_message = "users table name must derive from name_prefix"
  }

  assert {
    condition     = output.raw_data_bucket == "ticketing-sandbox-raw-data-123456789012"
    error_message = "bucket name must derive from name_prefix and the account"
  }
}

run "ticket_generator_wiring" {
  command = apply

  variables {
    name_prefix        = "ticketing-sandbox"
    create_vpc         = false
    lambda_environment = { LOG_LEVEL = "DEBUG", USERS_TABLE = "must-be-overridden" }
  }

  assert {
    condition     = module.ticket_generator.function_name == "ticketing-sandbox-ticket-generator"
    error_message = "function name must derive from name_prefix"
  }

  assert {
    condition     = aws_s3_bucket_notification.raw_data.lambda_function[0].filter_prefix == "uploads/" && contains(aws_s3_bucket_notification.raw_data.lambda_function[0].events, "s3:ObjectCreated:*")
    error_message = "the notification must fire on ObjectCreated under uploads/"
  }

  assert {
    condition     = aws_lambda_permission.ticket_generator_s3.principal == "s3.amazonaws.com"
    error_message = "S3 must be allowed to invoke the function"
  }
}

run "aws_workspace_is_the_full_stack" {
  command = apply

  variables {
    name_prefix = "ticketing-prod"
  }

  assert {
    condition     = length(module.eks) == 1 && length(module.msk) == 1 && length(module.rds) == 1
    error_message = "the aws workspace must contain EKS, MSK and RDS"
  }

  assert {
    condition     = length(aws_kms_key.main) == 1 && output.kms_key_arn != null
    error_message = "the aws workspace uses a customer managed key"
  }

  assert {
    condition     = length(module.ecr) == 5
    error_message = "one ECR repository per service"
  }

  assert {
    condition     = toset(keys(module.irsa)) == toset(["user-service", "frontend", "event-catalog", "booking-consumer"])
    error_message = "IRSA roles for the services that call AWS"
  }
}
