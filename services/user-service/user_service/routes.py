"""HTTP parsing for /users; state lives in models.py."""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, current_app, jsonify, request
from prometheus_client import Counter

from svc_common.errors import ApiError
from svc_common.text import storable_text

from .models import DuplicateEmail

bp = Blueprint("users", __name__)
USERS_CREATED = Counter("users_created_total", "Users registered")

NAME_MAX = 100
EMAIL_MAX = 254
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def read_json_object(max_bytes: int) -> dict:
    """The request body as a JSON object, or an :class:`ApiError` naming ``body``."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(f"request body larger than {max_bytes} bytes", "body", 413)
    if not request.is_json:
        raise ApiError("Content-Type must be application/json", "body", 415)
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError("request body is not valid JSON", "body")
    if not isinstance(payload, dict):
        raise ApiError("request body must be a JSON object", "body")
    return payload


def validate_user(payload: dict) -> tuple[str, str]:
    """Return (name, email) normalised, or raise ApiError naming the bad field."""
    # storable in DynamoDB (svc_common.text: no NUL, no lone surrogate, which has no UTF-8 form)
    name = storable_text(payload.get("name"), "name", NAME_MAX)
    if _CONTROL.search(name):
        raise ApiError("name must not contain control characters", "name")

    email = storable_text(payload.get("email"), "email", EMAIL_MAX)
    if not _EMAIL.match(email):
        raise ApiError("email is not a valid address", "email")
    local, domain = email.rsplit("@", 1)
    return name, f"{local}@{domain.lower()}"


@bp.post("/users")
def create_user():
    payload = read_json_object(current_app.config["MAX_BODY_BYTES"])
    name, email = validate_user(payload)
    try:
        user = current_app.extensions["user_store"].create(name, email)
    except DuplicateEmail:
        raise ApiError("email is already registered", "email", 409) from None
    USERS_CREATED.inc()
    return jsonify(public(user)), 201, {"Location": f"/users/{user['user_id']}"}


@bp.get("/users/<user_id>")
def get_user(user_id: str):
    try:
        canonical = str(uuid.UUID(user_id))
    except ValueError:
        raise ApiError("user not found", "user_id", 404) from None
    if canonical != user_id.lower():
        raise ApiError("user not found", "user_id", 404)
    user = current_app.extensions["user_store"].get(canonical)
    if user is None:
        raise ApiError("user not found", "user_id", 404)
    return jsonify(public(user))


def public(user: dict) -> dict:
    """A user as answered: ``user_id`` and, for the seed's clients, the same id as ``userId``."""
    return {**user, "userId": user["user_id"]}
