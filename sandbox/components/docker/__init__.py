"""The docker runtime's components: the same components as the native runtime, run as containers.

One module per component; each class puts `ContainerComponent` (base.py) in front of the native
class, so health checks, set-up and endpoint env are shared. The registry sits with the native one
in sandbox/components/__init__.py; sandbox/runtimes/docker.py realises them.
"""
