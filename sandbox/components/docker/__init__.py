"""The docker runtime: the same components as the native runtime, run as containers.

One module per component; each class puts `ContainerComponent` (base.py) in front of the native
class, so health checks, set-up and endpoint env are shared. `DOCKER_INFRA` is the registry the
orchestrator uses for `runtime = "docker"` (name -> "module:Class", like NATIVE_INFRA).
"""

DOCKER_INFRA = {
    "aws": "sandbox.components.docker.aws:Aws",
    "kafka": "sandbox.components.docker.kafka:Kafka",
    "postgres": "sandbox.components.docker.postgres:Postgres",
    "gcs": "sandbox.components.docker.gcs:Gcs",
    "flink": "sandbox.components.docker.flink:Flink",
}
