"""HTTP parsing for /users; state lives in models.py."""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, current_app, jsonify

from .models import DuplicateEmail
from svc_common.observability import ApiError, read_json_object

bp = Blueprint("users", __name__)

NAME_MAX = 100
EMAIL_MAX = 254
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_user(payload: dict) -> tuple[str, str]:
    """Return (name, email) normalised, or raise ApiError naming the bad field."""
    name = payload.get("name")
    if name is None:
        raise ApiError(400, "name is required", "name")
    if not isinstance(name, str):
        raise ApiError(400, "name must be a string", "name")
    name = name.strip()
    if not name:
        raise ApiError(400, "name must not be empty", "name")
    if len(name) > NAME_MAX:
        raise ApiError(400, f"name must be at most {NAME_MAX} characters", "name")
    if _CONTROL.search(name):
        raise ApiError(400, "name must not contain control characters", "name")

    email = payload.get("email")
    if email is None:
        raise ApiError(400, "email is required", "email")
    if not isinstance(email, str):
        raise ApiError(400, "email must be a string", "email")
    email = email.strip()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise ApiError(400, "email is not a valid address", "email")
    local, domain = email.rsplit("@", 1)
    return name, f"{local}@{domain.lower()}"


@bp.post("/users")
def create_user():
    payload = read_json_object(current_app.config["MAX_BODY_BYTES"])
    name, email = validate_user(payload)
    try:
        user = current_app.extensions["user_store"].create(name, email)
    except DuplicateEmail:
        raise ApiError(409, "email is already registered", "email")
    current_app.extensions["users_created"].inc()
    return jsonify(user), 201, {"Location": f"/users/{user['user_id']}"}


@bp.get("/users/<user_id>")
def get_user(user_id: str):
    try:
        canonical = str(uuid.UUID(user_id))
    except ValueError:
        raise ApiError(404, "user not found", "user_id")
    if canonical != user_id.lower():
        raise ApiError(404, "user not found", "user_id")
    user = current_app.extensions["user_store"].get(canonical)
    if user is None:
        raise ApiError(404, "user not found", "user_id")
    return jsonify(user)
