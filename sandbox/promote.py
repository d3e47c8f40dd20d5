"""Promotion rehearsal: the full cloud configuration must validate and plan against the emulator
without real credentials, from the same .tf files the sandbox applies (only tfvars and the
workspace differ). Checkov runs in `make tf-check`."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import SandboxError


@dataclass
class PlanSummary:
    plan_file: Path
    by_type: dict[str, Counter] = field(default_factory=dict)

    def _count(self, action: str) -> int:
        return sum(c.get(action, 0) for c in self.by_type.values())

    @property
    def total(self) -> int:
        return self._count("create")

    @property
    def changes(self) -> int:
        return self._count("update")

    @property
    def deletes(self) -> int:
        return self._count("delete")


def plan_summary(sandbox, target: str) -> PlanSummary:
    if target == "gcp":
        raise SandboxError(
            "the gcp stack cannot be planned here: the hashicorp/google provider is not in the offline mirror",
            "run terraform -chdir=terraform/gcp plan -var-file=env/gcp.tfvars where the provider can be installed; "
            "`make tf-check` still formats and scans it",
        )
    terraform = sandbox.component("terraform")
    reason = terraform.missing()
    if reason:
        raise SandboxError(reason)
    if not terraform.emulator_identity():
        raise SandboxError("the AWS emulator is not running", "sandbox up --only aws")
    zip_path = terraform.lambda_zip()
    plan_file = terraform.work_dir / f"{target}.tfplan"
    with sandbox.state.lock():  # the sandbox apply shares the terraform data dir
        terraform.init(target)
        try:
            terraform.run("validate", "-no-color")
            terraform.run("plan", "-input=false", "-no-color", "-lock=false", f"-var-file=env/{target}.tfvars",
                          f"-var=lambda_zip_path={zip_path}", f"-out={plan_file}")
            plan = json.loads(terraform.run("show", "-json", str(plan_file)).stdout)
        finally:
            terraform.run("workspace", "select", "sandbox", check=False)
    by_type: dict[str, Counter] = defaultdict(Counter)
    for change in plan.get("resource_changes", []):
        for action in change["change"]["actions"]:
            if action != "no-op":
                by_type[change["type"]][action] += 1
    return PlanSummary(plan_file, dict(by_type))
