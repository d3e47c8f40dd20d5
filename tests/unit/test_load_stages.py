"""The Locust load profile follows the seed's k6 stages (load/stages.py, no Locust imported)."""

import importlib.util
import sys
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("stages", Path(__file__).parents[2] / "load" / "stages.py")
stages = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = stages
spec.loader.exec_module(stages)


def test_full_profile_ramps_like_k6():
    assert stages.total_seconds(1) == 300
    assert [stages.users_at(t, 1) for t in (0, 15, 30, 60, 90, 150, 210, 240, 270, 285)] == [
        0, 5, 10, 30, 50, 100, 150, 100, 50, 25]
    assert stages.users_at(300, 1) is None


def test_load_scale_shortens_every_stage_proportionally():
    assert stages.total_seconds(0.1) == pytest.approx(30)
    assert stages.users_at(21, 0.1) == stages.users_at(210, 1) == 150
    assert stages.users_at(30.1, 0.1) is None


@pytest.mark.parametrize("raw", ["fast", "0", "-1", "11"])
def test_bad_load_scale_names_the_setting_and_the_fix(raw):
    with pytest.raises(SystemExit, match="LOAD_SCALE.*fix"):
        stages.scale_from_env({"LOAD_SCALE": raw})
