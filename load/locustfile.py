"""The seed's booking load test, with Locust (MIT) instead of k6 (AGPL, not usable here).

    locust -f load/locustfile.py --headless --host http://127.0.0.1:8000     # what `make load` runs
    locust -f load/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1   # `make load-ui`

Each user POSTs the original body `{"user_id", "event_id", "ticket_count"}` to `/api/book` and
waits 1 s (k6's `sleep(1)`), following the original stages (load/stages.py; `LOAD_SCALE` shortens
them). A response other than 202 is a failure. The original thresholds decide the exit code:
p95 < 500 ms and errors < 10 %. Env: `EVENT_ID` (default 1). Like the seed's script, no request
carries an Idempotency-Key: booking-service accepts them (each is a new booking, recorded exactly
once inside the system) and says so with `Idempotency-Key-Missing: true`, which is checked here.
"""

from __future__ import annotations

import itertools
import os

from locust import FastHttpUser, LoadTestShape, constant, events, task
from stages import scale_from_env, total_seconds, users_at

EVENT_ID = int(os.environ.get("EVENT_ID", "1"))
P95_LIMIT_MS = 500
ERROR_LIMIT = 0.10
SCALE = scale_from_env()
_user_numbers = itertools.count(1)


class Booker(FastHttpUser):
    wait_time = constant(1)

    def on_start(self) -> None:
        self.user_id = f"locust-{next(_user_numbers)}"

    @task
    def book(self) -> None:
        body = {"user_id": self.user_id, "event_id": EVENT_ID, "ticket_count": 1}
        with self.client.post("/api/book", json=body, name="/api/book", catch_response=True) as response:
            if response.status_code != 202:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
            elif response.headers.get("Idempotency-Key-Missing") != "true":
                response.failure("202 without the Idempotency-Key-Missing header")


class SeedStages(LoadTestShape):
    """k6's linear ramps: the target is recomputed every second, users spawn at once."""

    def tick(self):
        users = users_at(self.get_run_time(), SCALE)
        return None if users is None else (users, 100)  # users/s: above any stage's ramp, below Locust's warning


@events.init.add_listener
def _announce(environment, **_kwargs) -> None:
    print(f"load: event {EVENT_ID}, stages 10 -> 50 -> 150 -> 50 -> 0 users over {total_seconds(SCALE):.0f} s "
          f"(LOAD_SCALE={SCALE:g}); thresholds p95 < {P95_LIMIT_MS} ms, errors < {ERROR_LIMIT:.0%}", flush=True)


@events.quitting.add_listener
def _thresholds(environment, **_kwargs) -> None:
    total = environment.stats.total
    p95 = total.get_response_time_percentile(0.95) or 0
    verdicts = [(f"p95 {p95:.0f} ms < {P95_LIMIT_MS} ms", p95 < P95_LIMIT_MS),
                (f"errors {total.fail_ratio:.1%} < {ERROR_LIMIT:.0%}", total.fail_ratio < ERROR_LIMIT),
                (f"requests {total.num_requests} > 0", total.num_requests > 0)]
    for text, ok in verdicts:
        print(f"threshold {'ok  ' if ok else 'FAIL'} {text}", flush=True)
    environment.process_exit_code = 0 if all(ok for _, ok in verdicts) else 1
