"""`terraform/aws` applied in workspace `sandbox` to the AWS emulator: the bucket, table, Lambda
and notification the services use come from this apply, and its outputs feed `sandbox env`.

The CLI is OpenTofu (`tofu`, MPL-2.0), built by `make tools` into the cache: Terraform itself is
under the BUSL since 1.6, not an open-source licence; `terraform.binary` names another CLI for
users who bring their own. The aws provider cannot be downloaded here (no registry): it comes
from a filesystem mirror (`terraform.plugin_mirror`), seen under both registry host names (the
.tf files say `hashicorp/aws`, which OpenTofu reads as registry.opentofu.org and Terraform as
registry.terraform.io). When the CLI or the provider is missing the task is *skipped* with the
fix; the rest of the sandbox still starts. Applies are skipped when nothing changed: a
fingerprint of the .tf files, tfvars and Lambda zip plus the id of the emulator's state (which
survives a restart, sandbox/aws_state.py) is kept with the outputs; a cold `up` with data kept
applies nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from sandbox import lambda_package
from sandbox.components.base import Component, Kind
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.settings import PROJECT_ROOT

TF_DIR = PROJECT_ROOT / "terraform"
AWS_ROOT = TF_DIR / "aws"
LAMBDA_SOURCE = PROJECT_ROOT / "services" / "ticket-generator"
WORKSPACE = "sandbox"
# outputs exported to services, with the env names they read
OUTPUT_ENV = {
    "raw_data_bucket": "RAW_DATA_BUCKET",
    "users_table": "USERS_TABLE",
    "ticket_generator_function_name": "TICKET_GENERATOR_FUNCTION",
    "uploads_prefix": "UPLOADS_PREFIX",
    "tickets_prefix": "TICKETS_PREFIX",
}


class Terraform(Component):
    name = "terraform"
    kind = Kind.TASK
    needs = ("aws",)  # only the emulator: the apply runs while Kafka and Flink still boot

    # ------------------------------------------------------------ paths and environment
    @property
    def work_dir(self) -> Path:
        return self.state.root / "terraform"

    @property
    def record_file(self) -> Path:
        return self.state.records_dir / "terraform-apply.json"

    def binary(self) -> str | None:
        configured = self.settings.terraform.binary
        if configured:
            return shutil.which(configured)
        built = self.settings.cache_dir / "bin" / "tofu"
        return str(built) if built.exists() else shutil.which("tofu")

    def missing(self) -> str | None:
        """Why terraform cannot run here, with the fix; None when it can."""
        if not self.binary():
            configured = self.settings.terraform.binary
            return (f"{configured} not found (fix: install it, or unset terraform.binary to use OpenTofu from make tools)"
                    if configured else "OpenTofu (tofu) not found (fix: make tools builds it into .cache/bin)")
        mirror = Path(self.settings.terraform.plugin_mirror)
        if not (mirror / "registry.terraform.io" / "hashicorp" / "aws").exists():
            return (f"no hashicorp/aws provider in the mirror {mirror} (fix: point terraform.plugin_mirror / "
                    f"SANDBOX_TERRAFORM__PLUGIN_MIRROR at a `terraform providers mirror` folder)")
        return None

    def tf_env(self) -> dict[str, str]:
        from sandbox.components.aws import Aws

        self.work_dir.mkdir(parents=True, exist_ok=True)
        cli_config = self.work_dir / "cli.tfrc"
        template = (TF_DIR / "cli-config.tfrc.template").read_text()
        rendered = template.replace("@MIRROR@", str(self.mirror()))
        if not cli_config.exists() or cli_config.read_text() != rendered:
            cli_config.write_text(rendered)
        return {
            **os.environ,
            **Aws(self.settings, self.state).env(),
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_DATA_DIR": str(self.work_dir / "data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }

    def mirror(self) -> Path:
        """The provider mirror under both registry host names: its folders copied, its files linked
        (the CLI's mirror scan does not follow a linked folder). Rebuilt when the mirror changes."""
        source = Path(self.settings.terraform.plugin_mirror).resolve() / "registry.terraform.io"
        alias = self.work_dir / "mirror"
        listing = sorted(str(p.relative_to(source)) for p in source.rglob("*")) if source.is_dir() else []
        stamp = alias / ".source"
        wanted = json.dumps([str(source), listing])
        if not stamp.exists() or stamp.read_text() != wanted:
            shutil.rmtree(alias, ignore_errors=True)
            for host in ("registry.terraform.io", "registry.opentofu.org"):
                shutil.copytree(source, alias / host, copy_function=os.symlink)
            stamp.write_text(wanted)
        return alias

    def run(self, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
        """terraform -chdir=terraform/aws <args> with the emulator's endpoints (what tflocal does)."""
        reason, binary = self.missing(), self.binary()
        if reason or binary is None:
            raise SandboxError(reason or "no terraform binary (fix: make tools)")
        command = [binary, f"-chdir={AWS_ROOT}", *args]
        result = subprocess.run(command, env=self.tf_env(), capture_output=capture, text=True)
        if capture:
            with open(self.log_file, "a") as log:
                log.write(f"$ terraform {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()
            error = next((line for line in detail if "Error" in line), detail[-1] if detail else "")
            raise SandboxError(f"terraform {args[0]} failed: {error.strip(' │')[:300]}",
                               f"see `sandbox logs {self.name}`")
        return result

    def lambda_zip(self) -> Path:
        return lambda_package.build(LAMBDA_SOURCE, self.state.root / "build")

    def init(self, workspace: str) -> None:
        """init (only when the providers, modules or backend changed since the last one) and
        select the workspace: each terraform run costs seconds of provider start-up."""
        state_dir = self.work_dir / "state"
        inputs = hashlib.sha256(str(state_dir).encode())
        for path in sorted([*TF_DIR.glob("aws/*.tf"), *TF_DIR.glob("modules/**/*.tf")]):
            inputs.update(path.read_bytes())
        stamp = self.work_dir / "init.stamp"
        if not stamp.exists() or stamp.read_text() != inputs.hexdigest():
            # init refuses to run while the recorded workspace's state is gone (a wiped emulator
            # state): forget the selection, it is made right below
            (self.work_dir / "data" / "environment").unlink(missing_ok=True)
            self.run("init", "-input=false", "-no-color", "-reconfigure", f"-backend-config=workspace_dir={state_dir}",
                     f"-backend-config=path={state_dir / 'default.tfstate'}")
            stamp.write_text(inputs.hexdigest())
        self.run("workspace", "select", "-or-create", workspace)

    def state_file(self, workspace: str) -> Path:
        return self.work_dir / "state" / workspace / "terraform.tfstate"

    # ------------------------------------------------------------ task protocol
    def emulator_identity(self) -> str | None:
        """What the running emulator holds, as an id: the same as long as the resources of the
        last apply are there (None: no emulator)."""
        from sandbox.components.aws import Aws

        return Aws(self.settings, self.state).state_id()

    def _emulator_saves(self) -> None:
        """Have the emulator save what it holds now, so its file has the applied resources."""
        from sandbox.components.aws import Aws

        Aws(self.settings, self.state).save_state()

    def _fingerprint(self, zip_path: Path) -> str:
        digest = hashlib.sha256(zip_path.name.encode())
        for path in sorted([*TF_DIR.glob("aws/**/*.tf"), *TF_DIR.glob("aws/env/*.tfvars"),
                            *TF_DIR.glob("modules/**/*.tf")]):
            digest.update(str(path.relative_to(TF_DIR)).encode() + path.read_bytes())
        digest.update(str(self.settings.ports.aws).encode())
        return digest.hexdigest()

    def _record(self) -> dict:
        try:
            return json.loads(self.record_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def health(self) -> Health:
        reason = self.missing()
        if reason:
            return Health(False, reason, skipped=True)
        record = self._record()
        identity = self.emulator_identity()
        if not record or identity is None or record.get("emulator") != identity:
            return Health(False, "not applied to the running emulator")
        if record.get("fingerprint") != self._fingerprint(self.lambda_zip()):
            return Health(False, "terraform files changed since the last apply")
        return Health(True, f"workspace {WORKSPACE}: {record['resources']} resources applied")

    def after_start(self) -> None:
        if self.missing():
            return
        identity = self.emulator_identity()
        if identity is None:
            raise SandboxError("the AWS emulator is not running", "sandbox up --only aws first")
        # the Terraform state and the emulator state it describes go together: a state written
        # for another emulator state (wiped, or lost to a kill -9) describes resources that are gone
        marker = self.work_dir / "state" / f"{WORKSPACE}.emulator"
        same_emulator = marker.exists() and marker.read_text().strip() == identity
        if not same_emulator:
            shutil.rmtree(self.work_dir / "state" / WORKSPACE, ignore_errors=True)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(identity)
        zip_path = self.lambda_zip()
        self.init(WORKSPACE)
        apply = ["apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20", "-var-file=env/sandbox.tfvars",
                 f"-var=lambda_zip_path={zip_path}"]
        if same_emulator:
            apply.append("-refresh=false")  # the emulator that got the last apply still holds its state
        self.run(*apply)
        # outputs and resources straight from the state file: no more provider start-ups
        state = json.loads(self.state_file(WORKSPACE).read_text())
        resources = sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode") == "managed")
        self._emulator_saves()
        self.record_file.write_text(json.dumps({
            "fingerprint": self._fingerprint(zip_path), "emulator": identity, "resources": resources,
            "outputs": {k: v["value"] for k, v in state.get("outputs", {}).items()},
        }, indent=2))

    def snapshot_paths(self) -> list[Path]:
        """The workspaces' state and the last apply's record: they describe the emulator's state."""
        return [self.work_dir / "state", self.record_file]

    def outputs(self) -> dict:
        return self._record().get("outputs", {})

    def env(self) -> dict[str, str]:
        outputs = self.outputs()
        return {env: str(outputs[name]) for name, env in OUTPUT_ENV.items() if outputs.get(name) is not None}

    def network_env(self) -> dict[str, str]:
        """Outputs are names (tables, buckets, functions), the same wherever the reader runs."""
        return self.env()
