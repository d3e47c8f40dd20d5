"""The native Terraform task (`terraform/aws`, workspace `sandbox`) applied to the LocalStack
container through its published port: same binary, provider mirror, fingerprints and outputs.

Two differences from the native task, both because the emulator is LocalStack, not moto:
- the emulator's identity (which decides whether the last apply still holds) is the container's
  start time: a new container is an empty LocalStack.
- `create_ecr=false`: ECR is a LocalStack Pro service; the community image answers 501.
"""

from __future__ import annotations

from datetime import datetime

from sandbox.components import terraform as native
from sandbox.components.docker.base import ROLE_LABEL


class Terraform(native.Terraform):
    def emulator_identity(self) -> str | None:
        from sandbox.components.docker.aws import Aws

        for container in Aws(self.settings, self.state)._containers(all_states=False):
            if container.labels.get(ROLE_LABEL) == "aws":
                started = container.attrs["State"]["StartedAt"]  # RFC 3339 with nanoseconds
                return str(round(datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00").timestamp()))
        return None

    def _emulator_saves(self) -> None:
        """A container's emulator keeps nothing across restarts: nothing to save."""

    def run(self, *args: str, **kwargs):
        if args and args[0] == "apply":
            args = (*args, "-var=create_ecr=false")
        return super().run(*args, **kwargs)
