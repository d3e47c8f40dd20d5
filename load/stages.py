"""The seed's load profile as data: k6's ramping stages, without Locust (so tests import it).

The original k6 script ramps 10 -> 50 -> 150 -> 50 -> 0 virtual users over 30 s / 1 m / 2 m /
1 m / 30 s; within a stage the count moves linearly from the previous target, as k6's stages do.
`LOAD_SCALE` multiplies every duration (0.1 runs the whole profile in 30 s).
"""

from __future__ import annotations

import os

STAGES: tuple[tuple[float, int], ...] = ((30, 10), (60, 50), (120, 150), (60, 50), (30, 0))  # (seconds, target users)


def scale_from_env(env=os.environ) -> float:
    raw = env.get("LOAD_SCALE", "1")
    try:
        scale = float(raw)
    except ValueError:
        raise SystemExit(f"LOAD_SCALE={raw!r} is not a number (fix: e.g. LOAD_SCALE=0.1 for a 30 s run)") from None
    if not 0 < scale <= 10:
        raise SystemExit(f"LOAD_SCALE={raw!r} must be in (0, 10] (fix: e.g. LOAD_SCALE=0.1 for a 30 s run)")
    return scale


def total_seconds(scale: float) -> float:
    return sum(duration for duration, _ in STAGES) * scale


def users_at(elapsed: float, scale: float) -> int | None:
    """Target user count `elapsed` seconds into the run; None once the last stage has ended."""
    start_users, stage_start = 0, 0.0
    for duration, target in STAGES:
        length = duration * scale
        if elapsed < stage_start + length:
            return round(start_users + (target - start_users) * (elapsed - stage_start) / length)
        start_users, stage_start = target, stage_start + length
    return None
