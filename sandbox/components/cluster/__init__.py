"""The parts of the one-node Kubernetes of cluster mode (`sandbox up --cluster`), each a component
with its own process, log and health check through its real client, run inside the cluster's
network namespace (sandbox/cluster/namespaces.py)."""
