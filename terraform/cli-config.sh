#!/usr/bin/env bash
# Renders the offline CLI configuration for check.sh and tests/e2e_sandbox.sh (the harness does
# the same in sandbox/components/terraform.py):
#   terraform/cli-config.sh WORKDIR MIRROR   -> writes WORKDIR/cli.tfrc (and WORKDIR/mirror/)
# The provider mirror is presented under both registry host names (OpenTofu reads hashicorp/aws as
# registry.opentofu.org): folders copied, files linked, since the CLI's mirror scan does not follow
# a linked folder.
set -euo pipefail
work=$1 mirror=$(realpath "$2")
mkdir -p "${work}/mirror"
for host in registry.terraform.io registry.opentofu.org; do
  rm -rf "${work}/mirror/${host}" && cp -rs "${mirror}/registry.terraform.io" "${work}/mirror/${host}"
done
sed "s#@MIRROR@#${work}/mirror#" "$(dirname "$0")/cli-config.tfrc.template" >"${work}/cli.tfrc"
