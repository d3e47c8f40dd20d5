#!/usr/bin/env bash
# End-to-end proof of terraform/aws against an AWS emulator, using exactly
# the commands the harness uses (see terraform/README.md, "Harness recipe"):
#
#   1. sandbox workspace: fresh apply (timed), then a no-op re-apply (timed,
#      and `plan -detailed-exitcode` must report no changes)
#   2. the outputs name the bucket/table/function, and the bucket notification
#      invokes the Lambda for uploads/ only (moto records an invocation as a
#      log stream in /aws/lambda/<fn>, even when it cannot run the code)
#   3. aws workspace: full-stack plan against the same emulator (never applied)
#   4. destroy of the sandbox workspace
#
# Environment:
#   AWS_ENDPOINT_URL   emulator to use; if unset, a private moto_server is
#                      started on 127.0.0.1:$MOTO_PORT (default 4599) and stopped
#   LAMBDA_SRC         directory with lambda_function.py to zip (default: a
#                      placeholder handler written to the work dir)
#   E2E_WORKDIR        where data dir, state and zip go (default: mktemp -d)
#   SANDBOX_TERRAFORM__PLUGIN_MIRROR, TERRAFORM   as for check.sh
#   KEEP=1             keep the sandbox resources (skip destroy)
set -euo pipefail

TF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "${TF_ROOT}/.." && pwd)"
TERRAFORM="${TERRAFORM:-${REPO_ROOT}/.cache/bin/tofu}"
MIRROR="${SANDBOX_TERRAFORM__PLUGIN_MIRROR:-/opt/tf-plugins}"
PY="${PYTHON:-${REPO_ROOT}/.venv/bin/python}"
WORK="${E2E_WORKDIR:-$(mktemp -d /tmp/tf-e2e.XXXXXX)}"
mkdir -p "${WORK}"

die() { echo "e2e: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($2 - $1, 2))"; }

MOTO_PID=""
cleanup() { if [[ -n "${MOTO_PID}" ]]; then kill "${MOTO_PID}" 2>/dev/null || true; fi; }
trap cleanup EXIT

if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
  port="${MOTO_PORT:-4599}"
  "${REPO_ROOT}/.venv/bin/moto_server" -H 127.0.0.1 -p "${port}" >"${WORK}/moto.log" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:${port}"
  for _ in $(seq 50); do curl -sf "${AWS_ENDPOINT_URL}/moto-api/" >/dev/null && break; sleep 0.2; done
fi
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1

# --- the harness recipe --------------------------------------------------
"${TF_ROOT}/cli-config.sh" "${WORK}" "${MIRROR}"
export TF_CLI_CONFIG_FILE="${WORK}/cli.tfrc" TF_DATA_DIR="${WORK}/data"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
TF=("${TERRAFORM}" -chdir="${TF_ROOT}/aws")

if [[ -z "${LAMBDA_SRC:-}" ]]; then
  LAMBDA_SRC="${WORK}/lambda_src"
  mkdir -p "${LAMBDA_SRC}"
  cat >"${LAMBDA_SRC}/lambda_function.py" <<'PYEOF'
import json
import os


def lambda_handler(event, context):
    print(json.dumps({"placeholder": True, "users_table": os.environ.get("USERS_TABLE"), "event": event}))
    return {"ok": True}
PYEOF
fi
ZIP="${WORK}/ticket-generator.zip"
python3 - "${LAMBDA_SRC}" "${ZIP}" <<'PYEOF'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "tests"))
        for name in sorted(files):
            if not name.endswith(".pyc"):
                path = os.path.join(root, name)
                # fixed timestamp: the same sources give the same zip hash
                info = zipfile.ZipInfo(os.path.relpath(path, src), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                z.writestr(info, open(path, "rb").read(), zipfile.ZIP_DEFLATED)
PYEOF

STATE_DIR="${WORK}/state"
SB_VARS=(-var-file=env/sandbox.tfvars -var "lambda_zip_path=${ZIP}")

t0=$(now)
"${TF[@]}" init -input=false -no-color -reconfigure \
  -backend-config="workspace_dir=${STATE_DIR}" -backend-config="path=${STATE_DIR}/default.tfstate" >"${WORK}/init.log"
t_init=$(elapsed "${t0}" "$(now)")
"${TF[@]}" workspace select -or-create sandbox -no-color >/dev/null

t0=$(now)
"${TF[@]}" apply -auto-approve -input=false -no-color -parallelism=20 "${SB_VARS[@]}" >"${WORK}/apply.log" \
  || { tail -30 "${WORK}/apply.log"; die "sandbox apply failed"; }
t_apply=$(elapsed "${t0}" "$(now)")

t0=$(now)
"${TF[@]}" apply -auto-approve -input=false -no-color -parallelism=20 "${SB_VARS[@]}" >"${WORK}/reapply.log"
t_reapply=$(elapsed "${t0}" "$(now)")
grep -q "0 added, 0 changed, 0 destroyed" "${WORK}/reapply.log" || die "re-apply changed something: $(grep -E 'Apply complete' "${WORK}/reapply.log")"

t0=$(now)
"${TF[@]}" apply -auto-approve -input=false -no-color -refresh=false -parallelism=20 "${SB_VARS[@]}" >"${WORK}/reapply-norefresh.log"
t_reapply_norefresh=$(elapsed "${t0}" "$(now)")

set +e
"${TF[@]}" plan -detailed-exitcode -input=false -no-color -lock=false "${SB_VARS[@]}" >"${WORK}/plan-noop.log"
plan_rc=$?
set -e
[[ ${plan_rc} -eq 0 ]] || die "plan after apply is not empty (exit ${plan_rc}); see ${WORK}/plan-noop.log"

"${TF[@]}" output -json >"${WORK}/outputs.json"

# --- the resources work --------------------------------------------------
"${PY}" - "${WORK}/outputs.json" <<'PYEOF'
import json, sys, time
import boto3

out = {k: v["value"] for k, v in json.load(open(sys.argv[1])).items()}
for key in ("raw_data_bucket", "users_table", "ticket_generator_function_name", "aws_region"):
    assert out.get(key), f"output {key} missing"
for key in ("msk_bootstrap_brokers_tls", "rds_endpoint", "rds_master_user_secret_arn", "eks_cluster_name", "eks_oidc_provider_arn"):
    assert out.get(key) is None, f"output {key} should be null in the sandbox, got {out.get(key)!r}"

s3 = boto3.client("s3")
logs = boto3.client("logs")
lam = boto3.client("lambda")
ddb = boto3.client("dynamodb")

fn = lam.get_function(FunctionName=out["ticket_generator_function_name"])["Configuration"]
env = fn["Environment"]["Variables"]
assert env["USERS_TABLE"] == out["users_table"] and env["RAW_DATA_BUCKET"] == out["raw_data_bucket"], env
assert fn["Runtime"] == "python3.11" and fn["Handler"] == "lambda_function.lambda_handler", fn
ddb.put_item(TableName=out["users_table"], Item={"user_id": {"S": "e2e"}, "name": {"S": "E2E"}})
assert ddb.get_item(TableName=out["users_table"], Key={"user_id": {"S": "e2e"}})["Item"]["name"]["S"] == "E2E"
pitr = ddb.describe_continuous_backups(TableName=out["users_table"])["ContinuousBackupsDescription"]
assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", pitr

group = out["ticket_generator_log_group"]
def streams():
    return len(logs.describe_log_streams(logGroupName=group).get("logStreams", []))

before = streams()
s3.put_object(Bucket=out["raw_data_bucket"], Key="other/ignored.json", Body=b"{}")
time.sleep(0.5)
assert streams() == before, "an object outside uploads/ invoked the Lambda"
s3.put_object(Bucket=out["raw_data_bucket"], Key=out["uploads_prefix"] + "e2e.json", Body=b'{"booking_id": "e2e"}')
deadline = time.time() + 10
while streams() == before and time.time() < deadline:
    time.sleep(0.2)
assert streams() == before + 1, "the uploads/ object did not invoke the Lambda"
print("e2e: resources ok; S3 uploads/ -> Lambda invoke observed")
PYEOF

# --- promotion rehearsal: full aws plan against the emulator -------------
"${TF[@]}" workspace select -or-create aws -no-color >/dev/null
t0=$(now)
"${TF[@]}" plan -input=false -no-color -lock=false \
  -var-file=env/aws.tfvars -var "lambda_zip_path=${ZIP}" -out="${WORK}/aws.tfplan" >"${WORK}/plan-aws.log" \
  || { tail -30 "${WORK}/plan-aws.log"; die "aws plan failed"; }
t_plan_aws=$(elapsed "${t0}" "$(now)")
plan_summary="$(grep -E '^Plan:' "${WORK}/plan-aws.log")"
"${TF[@]}" show -json "${WORK}/aws.tfplan" | python3 -c '
import json, sys
plan = json.load(sys.stdin)
types = {r["type"] for r in plan["resource_changes"] if "create" in r["change"]["actions"]}
need = {"aws_eks_cluster", "aws_eks_node_group", "aws_iam_openid_connect_provider", "aws_msk_cluster", "aws_db_instance", "aws_nat_gateway", "aws_kms_key"}
missing = need - types
assert not missing, f"aws plan lacks {sorted(missing)}"
'
"${TF[@]}" workspace select sandbox -no-color >/dev/null

t_destroy=null
if [[ "${KEEP:-0}" != "1" ]]; then
  t0=$(now)
  "${TF[@]}" destroy -auto-approve -input=false -no-color -parallelism=20 "${SB_VARS[@]}" >"${WORK}/destroy.log" \
    || { tail -30 "${WORK}/destroy.log"; die "destroy failed"; }
  t_destroy=$(elapsed "${t0}" "$(now)")
fi

cat <<JSON
{"init_s": ${t_init}, "sandbox_apply_s": ${t_apply}, "sandbox_reapply_noop_s": ${t_reapply}, "sandbox_reapply_noop_refresh_false_s": ${t_reapply_norefresh}, "aws_plan_s": ${t_plan_aws}, "sandbox_destroy_s": ${t_destroy}, "aws_plan": "${plan_summary}", "resources": $(grep -oE '[0-9]+ added' "${WORK}/apply.log" | grep -oE '[0-9]+'), "loadavg": "$(cut -d' ' -f1-3 /proc/loadavg)", "workdir": "${WORK}"}
JSON
echo "e2e: PASS" >&2
