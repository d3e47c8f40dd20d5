terraform {
  required_version = ">= 1.5.0"

  # Local state; where it lives is given at init time, e.g.
  #   init -backend-config=workspace_dir=<repo>/.sandbox/terraform/state
  # so the harness keeps every workspace's state in the git-ignored .sandbox/.
  # A team account swaps this for its remote backend (s3 + DynamoDB lock).
  backend "local" {}

  # The google provider is NOT in the offline mirror: this root can only be
  # formatted and scanned here (see ../README.md). Init/validate/plan need
  # registry access or a mirror that holds hashicorp/google.
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.30, < 7.0"
    }
  }
}
