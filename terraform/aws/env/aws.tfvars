# Workspace "aws": the full stack for a real account. `sandbox promote --plan aws`
# plans it against the emulator too (never applied there).

name_prefix = "ticketing-prod"
aws_region  = "us-east-1"

create_vpc = true
create_nat = true
create_eks = true
create_msk = true
create_rds = true
create_ecr = true

force_destroy      = false
log_retention_days = 365

eks_node_min_size     = 2
eks_node_desired_size = 3
eks_node_max_size     = 6

msk_number_of_broker_nodes = 2
rds_multi_az               = true

tags = {
  Environment = "production"
}
