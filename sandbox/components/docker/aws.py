"""AWS APIs from LocalStack 4.14.0 as a container (the last release that starts without an account
token; later images exit without LOCALSTACK_AUTH_TOKEN). Health: the native STS call.

Lambda: LocalStack 4.14.0 runs functions only with its "docker" executor (sibling containers from
the AWS Lambda base images, via /var/run/docker.sock); set `docker.localstack_lambda = true` to mount
the socket. Those images cannot be pulled on offline machines, so it is off by default and Lambda
invocations fail there (functions can still be created and listed).
"""

from __future__ import annotations

from sandbox.components import aws as native
from sandbox.components.docker.base import ContainerComponent, ContainerSpec, docker_settings

CONTAINER_PORT = 4566
SERVICES = "s3,dynamodb,lambda,iam,sts,logs,secretsmanager,sns,sqs"


class Aws(ContainerComponent, native.Aws):
    image_key = "aws"

    def container_specs(self) -> list[ContainerSpec]:
        return [ContainerSpec(
            "aws", self.image,
            env={"SERVICES": SERVICES, "GATEWAY_LISTEN": f"0.0.0.0:{CONTAINER_PORT}",
                 "AWS_DEFAULT_REGION": self.settings.region, "DISABLE_EVENTS": "1",
                 "LOCALSTACK_HOST": f"127.0.0.1:{self.port}"},
            ports={CONTAINER_PORT: self.port},
        )]

    def log_files(self):
        return []

    def network_env(self) -> dict[str, str]:
        return {**self.env(), "AWS_ENDPOINT_URL": f"http://aws:{CONTAINER_PORT}"}


def lambda_enabled(settings) -> bool:
    return bool(docker_settings(settings).get("localstack_lambda"))
