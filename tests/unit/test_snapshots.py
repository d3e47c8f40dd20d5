"""Snapshot names and files from elsewhere (sandbox/snapshots.py): refused with the fix, never
unpacked outside the snapshots folder."""

from __future__ import annotations

import io
import json
import re
import tarfile
from types import SimpleNamespace

import pytest

from sandbox.errors import SandboxError
from sandbox.snapshots import FORMAT, Snapshots
from sandbox.state import StateDir


def snapshots(tmp_path) -> Snapshots:
    settings = SimpleNamespace(runtime="native")
    return Snapshots(SimpleNamespace(state=StateDir(tmp_path / "state"), settings=settings, owner="x"))


def tarball(path, members: dict[str, bytes]):
    with tarfile.open(path, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("name", ["Bad", "a b", "../x", "", "-x", "x" * 64])
def test_bad_names_are_refused_with_the_rule(tmp_path, name):
    with pytest.raises(SandboxError, match="bad snapshot name"):
        snapshots(tmp_path).path(name)


def test_a_tarball_that_is_not_one_snapshot_is_refused(tmp_path):
    two = tarball(tmp_path / "two.tar", {"a/snapshot.json": b"{}", "b/snapshot.json": b"{}"})
    with pytest.raises(SandboxError, match="is not a snapshot file"):
        snapshots(tmp_path).import_tarball(two)


def test_a_tarball_escaping_its_folder_is_refused(tmp_path):
    evil = tarball(tmp_path / "evil.tar", {"good/snapshot.json": b"{}", "good/../../escaped": b"x"})
    with pytest.raises(SandboxError):
        snapshots(tmp_path).import_tarball(evil)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "state" / "escaped").exists()


def test_a_tarball_of_another_format_is_refused_after_unpacking(tmp_path):
    manifest = json.dumps({"format": FORMAT + 1, "runtime": "native", "components": {}}).encode()
    other = tarball(tmp_path / "other.tar", {"old/snapshot.json": manifest})
    with pytest.raises(SandboxError, match=f"format {FORMAT + 1}"):
        snapshots(tmp_path).import_tarball(other)
    assert snapshots(tmp_path).saved() == [] and not (tmp_path / "state" / "snapshots" / "old").exists()


def _live(tmp_path, baseline: dict | None, refused: str | None = None):
    from sandbox.reset import FORMAT as LIVE_FORMAT
    from sandbox.reset import LIVE, InPlace

    snaps = snapshots(tmp_path)
    snaps.sandbox.names = lambda: ["aws", "kafka", "postgres", "gcs"]
    live = snaps.path("first-up") / LIVE
    live.mkdir(parents=True)
    if baseline is not None:
        (live / "live.json").write_text(json.dumps({"format": LIVE_FORMAT, **baseline}))
    if refused:
        (live / "refused.txt").write_text(refused)
    return InPlace(snaps, "first-up")


@pytest.mark.parametrize(("baseline", "refused", "says"), [
    (None, None, "not taken by a running native sandbox"),
    (None, "OperationalError: no server", "keeping it failed (OperationalError: no server)"),
    ({"records": {"ticket-bookings": 3, "analytics-clock": 50}}, None, "its topics held records (ticket-bookings)"),
])
def test_a_reset_that_cannot_be_done_in_place_says_why(tmp_path, baseline, refused, says):
    from sandbox.reset import NotInPlace

    with pytest.raises(NotInPlace, match=re.escape(says)):
        _live(tmp_path, baseline, refused).baseline()


def test_clock_ticks_and_health_probes_do_not_stop_an_in_place_reset(tmp_path):
    records = {"ticket-bookings": 0, "analytics-clock": 1854, "sandbox-health": 122}
    assert _live(tmp_path, {"records": records}).baseline()["records"] == records
