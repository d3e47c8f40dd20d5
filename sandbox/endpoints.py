"""Every component's endpoint env, gathered once per command and handed to the components.

A service's pods get the endpoints of everything else (as `sandbox env` prints them); in the docker
runtime its containers get them as seen on the sandbox network. The orchestrator makes one
`Endpoints` and passes it to each component it builds, so no component builds the whole sandbox
to learn an address. `refresh()` forgets them once a task (the Terraform apply) changed outputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox import components

if TYPE_CHECKING:
    from sandbox.settings import Settings
    from sandbox.state import StateDir


class Endpoints:
    def __init__(self, settings: Settings, state: StateDir, runtime: str | None = None):
        self.settings = settings
        self.state = state
        self.runtime = runtime or settings.runtime  # whose components: a docker one built alone asks "docker"
        self._host: dict[str, str] | None = None
        self._network: dict[str, str] | None = None

    def _components(self) -> list:
        runtime = self.runtime
        return [components.load(name, runtime)(self.settings, self.state, self)
                for name in components.component_names(runtime)]

    def _merged(self, env_of) -> dict[str, str]:
        merged: dict[str, str] = {}
        for comp in self._components():
            merged.update(env_of(comp))
        return merged

    @property
    def host(self) -> dict[str, str]:
        """As the host reaches them: 127.0.0.1 and the sandbox's ports."""
        if self._host is None:
            self._host = self._merged(lambda comp: comp.env())
        return self._host

    @property
    def network(self) -> dict[str, str]:
        """As containers on the sandbox network reach them: aliases and container ports."""
        if self._network is None:
            self._network = self._merged(lambda comp: comp.network_env())
        return self._network

    def refresh(self) -> None:
        self._host = self._network = None
