terraform {
  required_version = ">= 1.5.0"

  # Local state; where it lives is given at init time, e.g.
  #   init -backend-config=workspace_dir=<repo>/.sandbox/terraform/state
  # so the harness keeps every workspace's state in the git-ignored .sandbox/.
  # A team account swaps this for its remote backend (s3 + DynamoDB lock).
  backend "local" {}

  # Only hashicorp/aws: it is the one provider the offline filesystem mirror
  # holds. No random/archive/tls providers, no registry modules.
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}
