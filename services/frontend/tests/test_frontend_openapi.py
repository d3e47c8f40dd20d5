"""The OpenAPI document is valid and documents every route of the app."""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from openapi_spec_validator import validate

SPEC = Path(__file__).resolve().parents[1] / "openapi.yaml"


def test_openapi_is_valid_and_covers_every_route(make_frontend):
    app = make_frontend()
    spec = yaml.safe_load(SPEC.read_text())
    validate(spec)
    routes = {re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
              for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert routes == set(spec["paths"])
