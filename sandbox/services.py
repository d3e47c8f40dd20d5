"""The ticket-booking services the native sandbox runs, and how.

A plain list for now; it is meant to be rendered from the GitOps `sandbox` overlay (issue 8)."""

from sandbox.components.service import ServiceSpec

SERVICES: list[ServiceSpec] = []
