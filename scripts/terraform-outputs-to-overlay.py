#!/usr/bin/env python3
"""Write gitops/overlays/aws/{endpoints,terraform-outputs}.env from `terraform output -json`.

    terraform -chdir=terraform/aws output -json | scripts/terraform-outputs-to-overlay.py -

Committing the two files is the promotion step for infrastructure endpoints; they hold names,
endpoints and ARNs only (the RDS password stays in Secrets Manager).
"""

import json
import sys
from pathlib import Path

OVERLAY = Path(__file__).resolve().parent.parent / "gitops" / "overlays" / "aws"
HEADER = "# Written by scripts/terraform-outputs-to-overlay.py from `terraform output -json`; do not edit.\n"


def key(name: str) -> str:
    return name.upper().replace("-", "_")


def convert(outputs: dict) -> tuple[dict[str, str], dict[str, str]]:
    """(endpoints env, replacement sources) from terraform's output JSON ({name: {value: ...}})."""
    v = {k: o["value"] for k, o in outputs.items()}
    missing = [k for k in ("msk_bootstrap_brokers_tls", "rds_address", "rds_port", "rds_db_name",
                           "aws_region", "raw_data_bucket", "users_table") if v.get(k) in (None, "")]
    if missing:
        raise SystemExit(f"terraform outputs missing or null (is this the aws workspace?): {', '.join(missing)}")
    endpoints = {
        "KAFKA_BROKERS": v["msk_bootstrap_brokers_tls"],
        "DB_HOST": v["rds_address"],
        "DB_PORT": str(v["rds_port"]),
        "DB_NAME": v["rds_db_name"],
        "AWS_DEFAULT_REGION": v["aws_region"],
        "RAW_DATA_BUCKET": v["raw_data_bucket"],
        "USERS_TABLE": v["users_table"],
    }
    sources = {f"ECR_{key(s)}": url for s, url in sorted((v.get("ecr_repository_urls") or {}).items())}
    sources |= {f"IRSA_{key(s)}": arn for s, arn in sorted((v.get("irsa_role_arns") or {}).items())}
    return endpoints, sources


def write_env(path: Path, data: dict[str, str]) -> None:
    path.write_text(HEADER + "".join(f"{k}={val}\n" for k, val in data.items()))


def main(argv: list[str]) -> int:
    src = sys.stdin if argv[1:] in ([], ["-"]) else open(argv[1])
    endpoints, sources = convert(json.load(src))
    write_env(OVERLAY / "endpoints.env", endpoints)
    write_env(OVERLAY / "terraform-outputs.env", sources)
    print(f"wrote {OVERLAY / 'endpoints.env'} and {OVERLAY / 'terraform-outputs.env'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
