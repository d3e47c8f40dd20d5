#!/usr/bin/env bash
# Static gate for terraform/ (called by `make tf-check`). Offline-safe.
#
#   1. terraform fmt -check -recursive terraform/
#   2. terraform/aws: init -backend=false + validate, providers from the
#      filesystem mirror ($SANDBOX_TERRAFORM__PLUGIN_MIRROR, default /opt/tf-plugins)
#   3. terraform/gcp: init + validate only if the mirror holds hashicorp/google,
#      otherwise a plain SKIP line (the google provider is not available offline)
#   4. terraform test in terraform/aws (mocked provider: workspace contract)
#   5. checkov on terraform/aws (env/aws.tfvars) and terraform/gcp
#      (env/gcp.tfvars): must pass
#   6. checkov on tests/fixtures/insecure: must FAIL with the expected checks,
#      otherwise this script fails (the gate must bite)
#
# Environment:
#   TERRAFORM                 the CLI (default: OpenTofu from `make tools`, .cache/bin/tofu)
#   SANDBOX_TERRAFORM__PLUGIN_MIRROR  provider mirror directory (default /opt/tf-plugins)
#   CHECKOV                   checkov binary (default: the pinned CHECKOV_VERSION below in its
#                             own cached venv .cache/venvs/checkov-<version>, installed from PyPI
#                             on first use with .venv's uv, or pip when there is no uv; never a
#                             checkov of another version found on PATH)
#   TF_CHECK_WORKDIR          scratch dir for data dirs / CLI config
#                             (default <repo>/.cache/tf-check, git-ignored)
set -euo pipefail

TF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${TF_ROOT}/.." && pwd)"
TERRAFORM="${TERRAFORM:-${REPO_ROOT}/.cache/bin/tofu}"
MIRROR="${SANDBOX_TERRAFORM__PLUGIN_MIRROR:-/opt/tf-plugins}"
WORKDIR="${TF_CHECK_WORKDIR:-${REPO_ROOT}/.cache/tf-check}"
CHECKOV_VERSION="3.3.30"
CHECKOV_VENV="${REPO_ROOT}/.cache/venvs/checkov-${CHECKOV_VERSION}"   # keyed by version: a bump installs anew

step() { printf '\n== %s\n' "$*"; }
die() { printf 'tf-check: %s\n' "$*" >&2; exit 1; }

command -v "${TERRAFORM}" >/dev/null 2>&1 \
  || die "${TERRAFORM} not found; make tools builds OpenTofu there (or set TERRAFORM=/path/to/your/cli)"
[[ -d "${MIRROR}/registry.terraform.io/hashicorp/aws" ]] \
  || die "no hashicorp/aws provider under ${MIRROR}; set SANDBOX_TERRAFORM__PLUGIN_MIRROR to a filesystem mirror (terraform providers mirror DIR)"

"${TF_ROOT}/cli-config.sh" "${WORKDIR}" "${MIRROR}"
export TF_CLI_CONFIG_FILE="${WORKDIR}/cli.tfrc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

step "terraform fmt -check -recursive"
"${TERRAFORM}" -chdir="${TF_ROOT}" fmt -check -recursive -diff \
  || die "formatting differs; run: terraform -chdir=terraform fmt -recursive"

step "terraform/aws: init -backend=false + validate"
TF_DATA_DIR="${WORKDIR}/aws-data" "${TERRAFORM}" -chdir="${TF_ROOT}/aws" init -backend=false -input=false -no-color >"${WORKDIR}/aws-init.log" \
  || { cat "${WORKDIR}/aws-init.log" >&2; die "init of terraform/aws failed"; }
TF_DATA_DIR="${WORKDIR}/aws-data" "${TERRAFORM}" -chdir="${TF_ROOT}/aws" validate -no-color

step "terraform/aws: terraform test (mocked provider, offline)"
TF_DATA_DIR="${WORKDIR}/aws-data" "${TERRAFORM}" -chdir="${TF_ROOT}/aws" test -no-color

step "terraform/gcp: init -backend=false + validate"
if [[ -d "${MIRROR}/registry.terraform.io/hashicorp/google" ]]; then
  TF_DATA_DIR="${WORKDIR}/gcp-data" "${TERRAFORM}" -chdir="${TF_ROOT}/gcp" init -backend=false -input=false -no-color >"${WORKDIR}/gcp-init.log" \
    || { cat "${WORKDIR}/gcp-init.log" >&2; die "init of terraform/gcp failed"; }
  TF_DATA_DIR="${WORKDIR}/gcp-data" "${TERRAFORM}" -chdir="${TF_ROOT}/gcp" validate -no-color
else
  echo "SKIP: hashicorp/google is not in ${MIRROR}; terraform/gcp is only fmt-checked and scanned (see terraform/README.md)"
fi

step "checkov"
find_checkov() {
  if [[ -n "${CHECKOV:-}" ]]; then echo "${CHECKOV}"; return; fi
  # .complete is written last: a half-built venv (interrupted install) is built again
  if [[ -x "${CHECKOV_VENV}/bin/checkov" && -f "${CHECKOV_VENV}/.complete" ]]; then echo "${CHECKOV_VENV}/bin/checkov"; return; fi
  # its own venv: checkov's pinned boto3 conflicts with moto's in .venv. The interpreter is .venv's
  # (make venv, a prerequisite of make tf-check), else python3.11 from PATH.
  local python uv
  python="${REPO_ROOT}/.venv/bin/python"
  [[ -x "${python}" ]] || python="$(command -v python3.11 || true)"
  [[ -n "${python}" ]] || die "no Python 3.11 to install checkov with; run make venv (or set CHECKOV)"
  uv="$(command -v uv || echo "${REPO_ROOT}/.venv/bin/uv")"   # make venv installs uv into .venv
  echo "installing checkov==${CHECKOV_VERSION} into ${CHECKOV_VENV#"${REPO_ROOT}/"} (once)" >&2
  rm -rf "${CHECKOV_VENV}"
  if [[ -x "${uv}" ]]; then
    # the platform's certificate store, as pip does: uv's own bundle lacks a CA the machine adds
    export UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}"
    "${uv}" venv -q -p "${python}" "${CHECKOV_VENV}" >&2
    "${uv}" pip install -q -p "${CHECKOV_VENV}/bin/python" "checkov==${CHECKOV_VERSION}" >&2 \
      || die "uv could not install checkov==${CHECKOV_VERSION} from PyPI"
  else
    "${python}" -m venv "${CHECKOV_VENV}" >&2
    "${CHECKOV_VENV}/bin/python" -m pip install -q "checkov==${CHECKOV_VERSION}" >&2 \
      || die "pip could not install checkov==${CHECKOV_VERSION} from PyPI"
  fi
  touch "${CHECKOV_VENV}/.complete"
  echo "${CHECKOV_VENV}/bin/checkov"
}
CHECKOV_BIN="$(find_checkov)"
echo "using ${CHECKOV_BIN} ($("${CHECKOV_BIN}" --version))"

scan() { # scan <dir> [checkov args...]; must pass
  local dir="$1"; shift
  echo "-- checkov ${dir#"${TF_ROOT}/"} $*"
  (cd "${TF_ROOT}" && "${CHECKOV_BIN}" --config-file .checkov.yaml -d "${dir#"${TF_ROOT}/"}" "$@") \
    || die "checkov found failed checks in ${dir}: fix them or skip inline with a reason"
}
scan "${TF_ROOT}/aws" --var-file aws/env/aws.tfvars
scan "${TF_ROOT}/gcp" --var-file gcp/env/gcp.tfvars

step "checkov on the insecure fixture (must fail)"
fixture_report="${WORKDIR}/insecure-fixture.json"
set +e
(cd "${TF_ROOT}" && "${CHECKOV_BIN}" --config-file .checkov.yaml -d tests/fixtures/insecure -o json) >"${fixture_report}" 2>"${WORKDIR}/insecure-fixture.err"
rc=$?
set -e
[[ ${rc} -ne 0 ]] || die "checkov PASSED the insecure fixture: the security gate does not bite"
python3 - "${fixture_report}" <<'PY'
import json, sys

expected = {"CKV_AWS_20", "CKV_AWS_57", "CKV2_AWS_6", "CKV_AWS_24", "CKV_AWS_28", "CKV_AWS_62"}
report = json.load(open(sys.argv[1]))
reports = report if isinstance(report, list) else [report]
failed = {c["check_id"] for r in reports for c in r.get("results", {}).get("failed_checks", [])}
missing = expected - failed
if missing:
    sys.exit(f"tf-check: checkov did not flag {sorted(missing)} on the insecure fixture (got {sorted(failed)})")
print(f"insecure fixture rejected as expected: {len(failed)} failed checks, including {sorted(expected)}")
PY

step "tf-check passed"
