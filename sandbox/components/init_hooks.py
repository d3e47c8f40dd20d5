"""The `init` task: the user's init hooks, run once everything else is ready (LocalStack's
`/etc/localstack/init/ready.d`, here `sandbox/init/ready.d`, or the folder `init_dir` names).

Each `*.sh` (bash) or `*.py` (this interpreter) runs in name order with the sandbox's endpoint env
(`sandbox env`) and the project as its working directory; output goes to `sandbox logs init`. What
ran is written where the AWS emulator serves it as LocalStack's `/_localstack/init`. The emulator
removes that report when it starts, so the hooks run again exactly once per emulator start (a
kept-data `up` of a running sandbox runs nothing). A failing hook fails `up` naming it; the
remaining hooks still run, as LocalStack does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sandbox.components.base import Component, Kind
from sandbox.health import Health

SUFFIXES = {".sh": ["bash"], ".py": [sys.executable]}
HOOK_TIMEOUT = 300.0


class InitHooks(Component):
    name = "init"
    kind = Kind.TASK
    needs = ("*",)  # every other selected component, healthy
    needed_by_later_tiers = False

    @property
    def hooks_dir(self) -> Path:
        return Path(self.settings.init_dir) / "ready.d"

    @property
    def report_file(self) -> Path:
        """Beside the Lambda log: the folder the docker runtime's emulator sees too."""
        return self.state.log_file("lambda").parent / "init-status.json"

    def hooks(self) -> list[Path]:
        found = self.hooks_dir.glob("*") if self.hooks_dir.is_dir() else []
        return sorted(p for p in found if p.is_file() and p.suffix in SUFFIXES)

    def _report(self) -> dict | None:
        try:
            return json.loads(self.report_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def health(self) -> Health:
        report = self._report()
        if report is None:
            return Health(False, "not run since the AWS emulator started")
        failed = [s["name"] for s in report["scripts"] if s["state"] != "SUCCESSFUL"]
        if failed:
            return Health(False, f"hook {', '.join(failed)} failed (see `sandbox logs init`)")
        return Health(True, f"{len(report['scripts'])} hook(s) ran" if report["scripts"]
                      else f"no hooks in {self.hooks_dir}")

    def after_start(self) -> None:
        scripts = []
        with open(self.log_file, "a") as log:
            for hook in self.hooks():
                log.write(f"{time.strftime('%H:%M:%S')} $ {hook.name}\n")
                log.flush()
                try:
                    result = subprocess.run([*SUFFIXES[hook.suffix], str(hook)], cwd=self.settings.init_dir,
                                            env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                            timeout=HOOK_TIMEOUT)
                    state = "SUCCESSFUL" if result.returncode == 0 else "ERROR"
                except subprocess.TimeoutExpired:
                    state = "ERROR"
                    log.write(f"{hook.name} timed out after {HOOK_TIMEOUT:.0f}s\n")
                scripts.append({"stage": "READY", "name": hook.name, "state": state})
        self.report_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.report_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"scripts": scripts, "ran_at": time.time()}))
        tmp.replace(self.report_file)

    def _env(self) -> dict[str, str]:
        import os

        return {**os.environ, **self.endpoints.host}

    def env(self) -> dict[str, str]:
        return {}
