"""The one poll helper: only a probe's listed exceptions mean "not yet"; any other surfaces at once."""

import time

import pytest

from sandbox import components
from sandbox.health import Health
from sandbox.poll import ProcessExited, wait_for
from sandbox.settings import load_settings
from sandbox.state import StateDir


def test_a_listed_exception_is_not_yet_until_the_probe_answers():
    calls = []

    def probe():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("not listening yet")
        return Health(True, "up")

    assert wait_for(probe, timeout=5, interval=0.01).ok and len(calls) == 3


def test_a_listed_exception_until_the_deadline_is_a_failed_health_naming_it():
    def probe():
        raise TimeoutError("no answer")

    health = wait_for(probe, timeout=0.1, interval=0.01)
    assert not health.ok and health.detail == "TimeoutError: no answer"


def test_an_unexpected_exception_is_raised_at_once_not_after_the_timeout():
    def probe():
        raise KeyError("taskmanagers")  # a bug in the probe

    started = time.monotonic()
    with pytest.raises(KeyError, match="taskmanagers"):
        wait_for(probe, timeout=30, interval=0.01)
    assert time.monotonic() - started < 1


def test_a_dead_process_ends_the_wait_at_once():
    def probe():
        raise ProcessExited("replica-0 exited")

    assert wait_for(probe, timeout=30).detail == "replica-0 exited"


@pytest.mark.parametrize("runtime", ["native", "docker"])
def test_every_component_lists_its_clients_not_yet_exceptions(runtime, tmp_path):
    settings = load_settings(state_dir=tmp_path / "state")
    state = StateDir(settings.state_dir)
    for name in components.component_names(runtime):
        errors = components.load(name, runtime)(settings, state).probe().not_yet
        assert OSError in errors and all(issubclass(e, BaseException) for e in errors), name
