# Workspace "sandbox": applied to the local AWS emulator (moto / LocalStack).
# The endpoint comes from AWS_ENDPOINT_URL, credentials are test/test.
# EKS, MSK, RDS and the NAT gateway are provided by the sandbox's own
# components (processes), so they are switched off here.

name_prefix = "ticketing-sandbox"
aws_region  = "us-east-1"

skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
s3_use_path_style           = true

create_vpc = true
create_nat = false
create_eks = false
create_msk = false
create_rds = false
create_ecr = true

# AWS managed encryption instead of a customer managed key: creating a key
# costs ~12 s of provider-side propagation waits.
create_kms_key = false

# No EKS in the sandbox, so no DNS host names: enabling them makes the
# provider wait 10 s after creating the VPC.
vpc_enable_dns_hostnames = false

# The provider's lifecycle-configuration waiter takes ~55 s by design
# (eventual-consistency guard); nothing in the sandbox needs expiry rules.
create_bucket_lifecycle = false

force_destroy      = true
log_retention_days = 7

tags = {
  Environment = "sandbox"
}
