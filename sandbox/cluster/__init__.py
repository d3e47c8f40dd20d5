"""Cluster mode: a one-node Kubernetes run as host processes in a network namespace of its own."""
