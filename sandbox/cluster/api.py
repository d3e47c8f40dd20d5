"""The Kubernetes API as the sandbox's health checks and status read it: HTTPS GETs with the
admin's client certificate through the forwarded apiserver port. Changes go through kubectl,
the client users use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


class KubeApi:
    def __init__(self, server: str, ca: Path, cert: Path, key: Path, timeout: float = 3.0):
        self.server = server.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the cluster CA; loopback needs no proxy
        self._session.verify = str(ca)
        self._session.cert = (str(cert), str(key))

    def get(self, path: str, **params: Any) -> Any:
        response = self._session.get(self.server + path, params=params or None, timeout=self.timeout)
        response.raise_for_status()
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    def merge_patch(self, path: str, patch: dict) -> Any:
        response = self._session.patch(self.server + path, json=patch, timeout=self.timeout,
                                       headers={"Content-Type": "application/merge-patch+json"})
        response.raise_for_status()
        return response.json()

    def text(self, path: str) -> tuple[int, str]:
        """Status and body of a plain-text endpoint (/readyz, /livez)."""
        response = self._session.get(self.server + path, timeout=self.timeout)
        return response.status_code, response.text
