"""Shared fixtures of the cluster-mode building-block tests (namespaces, forwarder, PKI)."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def processes():
    """start(argv, **popen_kwargs): Popen objects killed, reaped and closed at the end, whatever happened."""
    started: list[subprocess.Popen] = []

    def start(argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
