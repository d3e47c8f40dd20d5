"""AWS APIs as a container: the official LocalStack 4.14.0 image when the engine has it (the last
release that starts without an account token), else the stand-in `make images` builds, which is
the native runtime's own emulator (moto server + the project's Lambda executor; no DynamoDB
Local, whose terms are not an open-source licence). Health: the native STS call.

Lambda on the stand-in runs inside the emulator's container, by the same executor as natively;
its invocation log is a bind-mounted file, so `sandbox logs lambda` reads it as natively.

Lambda on LocalStack: 4.14.0 runs functions only with its "docker" executor, as sibling containers
created through the engine's socket (mounted into the LocalStack container), on the sandbox
network from AWS's `public.ecr.aws/lambda/python:3.11` image, reaching LocalStack as `aws` and
carrying this component's labels (role `lambda`) so `stop`/`down` remove them. That image must be
pulled by the user (no registry here, so this path is not exercised on these machines).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sandbox.components import aws as native
from sandbox.components.docker.base import (
    COMPONENT_LABEL,
    IMAGES,
    OWNER_LABEL,
    ROLE_LABEL,
    ContainerComponent,
    ContainerSpec,
    image_present,
)
from sandbox.errors import SandboxError

CONTAINER_PORT = 4566
SERVICES = "s3,dynamodb,lambda,iam,sts,logs,secretsmanager,sns,sqs,kms,ec2"
LAMBDA_IMAGE = "public.ecr.aws/lambda/python:3.11"
LAMBDA_RUNTIMES = ("python3.11",)
EMULATOR_LOG_DIR = "/var/log/aws-emulator"


def engine_socket() -> Path | None:
    """The engine's unix socket on this host, if it has one (LocalStack's Lambda needs it)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    path = Path(host.removeprefix("unix://")) if host.startswith("unix://") else None
    return path if path and path.exists() else None


class Aws(ContainerComponent, native.Aws):
    image_key = "aws"

    @property
    def runs_emulator(self) -> bool:
        """True when the image is the stand-in (the project's emulator), not LocalStack."""
        return self.image == IMAGES["aws"][1]

    def container_specs(self) -> list[ContainerSpec]:
        if self.runs_emulator:
            log_dir = self.state.log_file("lambda").parent
            return [ContainerSpec("aws", self.image, env={"AWS_DEFAULT_REGION": self.settings.region},
                                  ports={CONTAINER_PORT: self.port},
                                  volumes={str(log_dir): {"bind": EMULATOR_LOG_DIR, "mode": "rw"}})]
        env = {"SERVICES": SERVICES, "GATEWAY_LISTEN": f"0.0.0.0:{CONTAINER_PORT}",
               "AWS_DEFAULT_REGION": self.settings.region, "DISABLE_EVENTS": "1",
               "LOCALSTACK_HOST": f"127.0.0.1:{self.port}"}
        volumes = {}
        socket = engine_socket()
        if socket:
            labels = {OWNER_LABEL: self.owner, COMPONENT_LABEL: self.name, ROLE_LABEL: "lambda"}
            env.update({
                "LAMBDA_RUNTIME_IMAGE_MAPPING": json.dumps({r: LAMBDA_IMAGE for r in LAMBDA_RUNTIMES}),
                "LAMBDA_DOCKER_NETWORK": self.network, "HOSTNAME_FROM_LAMBDA": "aws",
                "MAIN_CONTAINER_NAME": self.container_name("aws"),
                "LAMBDA_DOCKER_FLAGS": " ".join(f"-l {k}={v}" for k, v in labels.items()),
            })
            volumes = {str(socket): {"bind": "/var/run/docker.sock", "mode": "rw"}}
        return [ContainerSpec("aws", self.image, env=env, ports={CONTAINER_PORT: self.port}, volumes=volumes)]

    def log_files(self):
        return [self.state.log_file("lambda")] if self.runs_emulator else []

    def network_env(self) -> dict[str, str]:
        return {**self.env(), "AWS_ENDPOINT_URL": f"http://aws:{CONTAINER_PORT}"}

    def preflight(self) -> None:
        super().preflight()
        if not self.runs_emulator and engine_socket() and not image_present(LAMBDA_IMAGE):
            raise SandboxError(f"image {LAMBDA_IMAGE} for LocalStack's Lambda functions is not in the Docker engine",
                               f"docker pull {LAMBDA_IMAGE}, or remove the LocalStack image to use the "
                               "project's emulator (make images)")
