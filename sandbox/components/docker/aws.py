"""AWS APIs from LocalStack 4.14.0 as a container (the last release that starts without an account
token; later images exit without LOCALSTACK_AUTH_TOKEN). Health: the native STS call.

Lambda: LocalStack 4.14.0 runs functions only with its "docker" executor, as sibling containers
created through the engine's socket (mounted into the LocalStack container). They run on the
sandbox network from the `lambda-python` image (`LAMBDA_RUNTIME_IMAGE_MAPPING`: AWS's base image,
or its stand-in from `make images`), reach LocalStack as `aws`, and carry this component's labels
(role `lambda`), so `stop`/`down` remove them with LocalStack. Without a local socket (a remote
engine) functions stay in state Failed and the Terraform apply fails on them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sandbox.components import aws as native
from sandbox.components.docker.base import (COMPONENT_LABEL, OWNER_LABEL, ROLE_LABEL, ContainerComponent,
                                            ContainerSpec, resolve_image)

CONTAINER_PORT = 4566
SERVICES = "s3,dynamodb,lambda,iam,sts,logs,secretsmanager,sns,sqs,kms,ec2"
LAMBDA_RUNTIMES = ("python3.11",)


def engine_socket() -> Path | None:
    """The engine's unix socket on this host, if it has one (LocalStack's Lambda needs it)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    path = Path(host.removeprefix("unix://")) if host.startswith("unix://") else None
    return path if path and path.exists() else None


class Aws(ContainerComponent, native.Aws):
    image_key = "aws"

    def container_specs(self) -> list[ContainerSpec]:
        env = {"SERVICES": SERVICES, "GATEWAY_LISTEN": f"0.0.0.0:{CONTAINER_PORT}",
               "AWS_DEFAULT_REGION": self.settings.region, "DISABLE_EVENTS": "1",
               "LOCALSTACK_HOST": f"127.0.0.1:{self.port}"}
        volumes = {}
        socket = engine_socket()
        if socket:
            image = resolve_image("lambda-python", self.settings)
            labels = {OWNER_LABEL: self.owner, COMPONENT_LABEL: self.name, ROLE_LABEL: "lambda"}
            env.update({
                "LAMBDA_RUNTIME_IMAGE_MAPPING": json.dumps({r: image for r in LAMBDA_RUNTIMES}),
                "LAMBDA_DOCKER_NETWORK": self.network, "HOSTNAME_FROM_LAMBDA": "aws",
                "MAIN_CONTAINER_NAME": self.container_name("aws"),
                "LAMBDA_DOCKER_FLAGS": " ".join(f"-l {k}={v}" for k, v in labels.items()),
            })
            volumes = {str(socket): {"bind": "/var/run/docker.sock", "mode": "rw"}}
        return [ContainerSpec("aws", self.image, env=env, ports={CONTAINER_PORT: self.port}, volumes=volumes)]

    def log_files(self):
        return []

    def network_env(self) -> dict[str, str]:
        return {**self.env(), "AWS_ENDPOINT_URL": f"http://aws:{CONTAINER_PORT}"}

    def preflight(self) -> None:
        super().preflight()
        if engine_socket():
            from sandbox.components.docker.base import image_present
            from sandbox.errors import SandboxError

            image = resolve_image("lambda-python", self.settings)
            if not image_present(image):
                raise SandboxError(f"image {image} for Lambda functions is not present in the Docker engine",
                                   "make images (builds local stand-ins), or docker pull " + image)
