"""The docker runtime: the same components as the native runtime, run as containers.

One module per component; each class puts `ContainerComponent` (base.py) in front of the native
class, so health checks, set-up and endpoint env are shared. The registry
(`DOCKER_INFRA`) sits with the native one in sandbox/components/__init__.py.
"""

from sandbox.components import DOCKER_INFRA  # noqa: F401 - the registry lives with the others
