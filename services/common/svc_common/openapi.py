"""Every HTTP service serves its own OpenAPI document: ``GET /openapi.json`` and ``GET /docs``.

The document is the service folder's ``openapi.yaml`` (the one the layout test validates),
read once at start and served as JSON with ``servers`` set to the URL it was fetched from, so a
tool pointed at ``<service>/openapi.json`` (schemathesis, a client generator) calls that same
service, whichever port or gateway it sits behind. ``/docs`` is a self-contained HTML page listing
every operation (parameters, request body, responses): no script, nothing fetched from anywhere.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from flask import Flask, Response, request
from markupsafe import escape

DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def spec_path(app: Flask) -> Path:
    """``<service folder>/openapi.yaml``: beside the service's package (``app.root_path``), in a
    checkout as in the image (whose Dockerfile copies it to the same place)."""
    return Path(app.root_path).parent / "openapi.yaml"


def load(path: Path) -> dict:
    import yaml  # PyYAML (each HTTP service pins it); libyaml's parser when there is one

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open() as f:
        spec = yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader
    if not isinstance(spec, dict) or "paths" not in spec:
        raise ValueError(f"{path} is not an OpenAPI document")
    return spec


def init_app(app: Flask, path: Path | None = None) -> None:
    """Serve ``path`` (default :func:`spec_path`) at /openapi.json and /docs; nothing if it is absent."""
    path = path or spec_path(app)
    if not path.is_file():
        return
    spec = load(path)
    page = render_docs(spec)

    @app.get("/openapi.json")
    def _openapi_json():
        served = copy.copy(spec)
        served["servers"] = [{"url": request.url_root.rstrip("/")}]
        return Response(json.dumps(served), content_type="application/json")

    @app.get("/docs")
    def _docs():
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = DOCS_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _resolve(spec: dict, node):
    """Follow one local ``$ref`` (``#/components/...``)."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node


def _schema_text(spec: dict, schema, depth: int = 0) -> str:
    """A one-line sketch of a schema: ``{event_id: integer, user_id: string ≤128}``."""
    ref = schema.get("$ref", "").rsplit("/", 1)[-1] if isinstance(schema, dict) else ""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return ""
    kind = schema.get("type", "")
    if kind == "object" and isinstance(schema.get("properties"), dict) and depth < 2:
        required = set(schema.get("required", []))
        fields = [f"{name}{'' if name in required else '?'}: {_schema_text(spec, sub, depth + 1)}"
                  for name, sub in schema["properties"].items()]
        return (f"{ref} " if ref else "") + "{" + ", ".join(fields) + "}"
    if kind == "array":
        return f"array of {_schema_text(spec, schema.get('items', {}), depth + 1)}"
    if ref:
        return ref
    limits = [f"{key} {schema[key]}" for key in ("minimum", "maximum", "minLength", "maxLength", "pattern", "format")
              if key in schema]
    if "enum" in schema:
        limits.append("one of " + ", ".join(str(v) for v in schema["enum"]))
    return (kind or "any") + (f" ({'; '.join(limits)})" if limits else "")


def render_docs(spec: dict) -> str:
    """The /docs page: one section per operation, everything escaped."""
    info = spec.get("info", {})
    title = str(info.get("title", "API"))
    rows = []
    for path, item in spec.get("paths", {}).items():
        item = _resolve(spec, item) or {}
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = []
            for p in [*shared, *op.get("parameters", [])]:
                p = _resolve(spec, p)
                if isinstance(p, dict) and "name" in p:
                    params.append(f"<li><code>{escape(p['name'])}</code> ({escape(p.get('in', ''))}"
                                  f"{', required' if p.get('required') else ''}): "
                                  f"{escape(_schema_text(spec, p.get('schema', {})))}"
                                  f"{' — ' + str(escape(p['description'])) if p.get('description') else ''}</li>")
            body = ""
            request_body = _resolve(spec, op.get("requestBody"))
            if isinstance(request_body, dict):
                for media, content in (request_body.get("content") or {}).items():
                    body += (f"<p>Body <code>{escape(media)}</code>: "
                             f"{escape(_schema_text(spec, (content or {}).get('schema', {})))}</p>")
            responses = []
            for status, response in (op.get("responses") or {}).items():
                response = _resolve(spec, response) or {}
                responses.append(f"<li><b>{escape(status)}</b> {escape(response.get('description', ''))}</li>")
            rows.append(
                f'<section id="{escape(method + path)}"><h2><span class="m">{escape(method.upper())}</span> '
                f"<code>{escape(path)}</code></h2>"
                f"<p>{escape(op.get('summary', ''))}</p>"
                + (f"<p class=\"d\">{escape(op['description'])}</p>" if op.get("description") else "")
                + (f"<h3>Parameters</h3><ul>{''.join(params)}</ul>" if params else "")
                + body
                + (f"<h3>Responses</h3><ul>{''.join(responses)}</ul>" if responses else "")
                + "</section>")
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)} API</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#222}"
        "section{border-top:1px solid #ddd;padding:.5rem 0}h2{font-size:1.05rem;margin:.4rem 0}"
        "h3{font-size:.9rem;margin:.4rem 0}.m{display:inline-block;min-width:4rem;font-weight:bold;color:#05a}"
        "code{background:#f4f4f4;padding:0 .2rem}.d{white-space:pre-wrap;color:#444}ul{margin:.2rem 0}"
        "</style></head><body>"
        f"<h1>{escape(title)} <small>{escape(info.get('version', ''))}</small></h1>"
        f"<p class=\"d\">{escape(info.get('description', ''))}</p>"
        "<p>Machine-readable: <a href=\"openapi.json\">openapi.json</a> (OpenAPI "
        f"{escape(spec.get('openapi', ''))}).</p>"
        + "".join(rows) + "</body></html>")
