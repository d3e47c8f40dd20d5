# A user's own small root (a bucket, a table, a Lambda and its role) applied to the sandbox's AWS
# emulator by `make bench` (bench/terraform_small_root.py): what "my Terraform against the
# sandbox" costs, beside the project's own 41-resource root.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" { type = string }
variable "lambda_zip" { type = string }

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
  endpoints {
    s3       = var.endpoint
    dynamodb = var.endpoint
    lambda   = var.endpoint
    iam      = var.endpoint
    sts      = var.endpoint
  }
}

resource "aws_s3_bucket" "uploads" {
  bucket = "bench-small-root"
}

resource "aws_dynamodb_table" "items" {
  name         = "bench-small-root"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_iam_role" "fn" {
  name = "bench-small-root"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }]
  })
}

resource "aws_lambda_function" "fn" {
  function_name    = "bench-small-root"
  role             = aws_iam_role.fn.arn
  handler          = "app.handler"
  runtime          = "python3.11"
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)
}
