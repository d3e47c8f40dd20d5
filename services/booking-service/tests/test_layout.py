"""The OpenAPI document is valid and names every route."""
import re
from pathlib import Path

import yaml
from booking_service.routes import bookings_bp, health_bp
from flask import Flask
from openapi_spec_validator import validate

SERVICE_DIR = Path(__file__).resolve().parent.parent


def test_openapi_valid_and_complete():
    spec = yaml.safe_load((SERVICE_DIR / "openapi.yaml").read_text())
    validate(spec)
    app = Flask(__name__)
    app.register_blueprint(health_bp)
    app.register_blueprint(bookings_bp)
    routes = {re.sub(r"<(?:\w+:)?\w+>", "{}", r.rule) for r in app.url_map.iter_rules() if r.endpoint != "static"}
    documented = {re.sub(r"\{\w+\}", "{}", p) for p in spec["paths"]}
    assert routes | {"/metrics", "/openapi.json", "/docs"} == documented  # the last three: svc_common.http
