"""The web page (plain HTML + JS, no build step)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

bp = Blueprint("web", __name__)

CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


@bp.get("/")
def index():
    # the events filter as typed (Jinja escapes it); the list itself is loaded by app.js from /api/events
    name_filter = request.args.get("name", "")[:200]
    response = current_app.make_response(render_template(
        "index.html", max_upload_mb=round(current_app.config["MAX_UPLOAD_BYTES"] / 1024 / 1024, 1),
        name_filter=name_filter))
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
