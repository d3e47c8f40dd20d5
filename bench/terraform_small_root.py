"""A user's own small Terraform root (bench/terraform_small_root/: a bucket, a table, a Lambda and
its role) applied to the bench's sandbox and destroyed again: init, apply, a no-op apply and each
resource's creation time, with the sandbox's OpenTofu and provider mirror.

Where the time goes (TF_LOG=debug, measured here): each `apply` starts the AWS provider three
times (validate, plan, apply), ~1.5-3 s each to load its schema; the emulator answers each call in
milliseconds; `aws_lambda_function` takes 5 s because the provider's wait for State=Active sleeps
5 s before its first look, whatever the endpoint answers."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ROOT = PROJECT / "bench" / "terraform_small_root"


def measure(env: dict) -> dict:
    """Run in a child with the bench sandbox's env, so the settings (state dir, ports) are that sandbox's."""
    done = subprocess.run([sys.executable, __file__], env=env, cwd=PROJECT, capture_output=True, text=True)
    if done.returncode != 0:
        return {"failed": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    return json.loads(done.stdout)


def measure_here() -> dict:
    from sandbox.components.terraform import Terraform
    from sandbox.settings import settings
    from sandbox.state import StateDir

    terraform = Terraform(settings(), StateDir(settings().state_dir))
    tofu = terraform.binary()
    if terraform.missing() or not tofu:
        return {"skipped": terraform.missing() or "no OpenTofu"}
    work = Path(tempfile.mkdtemp(prefix="tf-small-root-"))
    try:
        shutil.copytree(ROOT, work / "root")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
        (work / "fn.zip").write_bytes(buffer.getvalue())
        tf_env = {**terraform.tf_env(), "TF_DATA_DIR": str(work / "data")}  # its own root, the sandbox's mirror
        variables = [f"-var=endpoint={tf_env['AWS_ENDPOINT_URL']}", f"-var=lambda_zip={work / 'fn.zip'}"]

        def run(*args: str) -> tuple[float, str]:
            started = time.perf_counter()
            done = subprocess.run([tofu, f"-chdir={work / 'root'}", *args], env=tf_env, capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise RuntimeError(f"tofu {args[0]} failed: {(done.stderr or done.stdout)[-1500:]}")
            return time.perf_counter() - started, done.stdout

        init_s, _ = run("init", "-input=false", "-no-color")
        apply_s, output = run("apply", "-auto-approve", "-input=false", "-no-color", *variables)
        noop_s, _ = run("apply", "-auto-approve", "-input=false", "-no-color", *variables)
        run("destroy", "-auto-approve", "-input=false", "-no-color", *variables)
        created = {m.group(1): float(m.group(2)) for m in
                   re.finditer(r"^(\S+): Creation complete after (\d+)s", output, re.MULTILINE)}
        return {"init_s": round(init_s, 2), "apply_s": round(apply_s, 2), "noop_apply_s": round(noop_s, 2),
                "created_after_s": created}
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    print(json.dumps(measure_here()))
