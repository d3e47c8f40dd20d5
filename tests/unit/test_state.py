import pytest

from sandbox.errors import SandboxError
from sandbox.state import ComponentRecord, ProcessRecord, StateDir


def test_record_round_trip(tmp_path):
    state = StateDir(tmp_path)
    record = ComponentRecord("kafka", 19092, 123.0, [ProcessRecord("broker", 42, 100.5, ["java"])])
    state.save(record)
    loaded = state.load("kafka")
    assert loaded == record
    assert loaded.process("broker").pid == 42


def test_missing_record_is_none(tmp_path):
    assert StateDir(tmp_path).load("kafka") is None


def test_torn_record_is_discarded(tmp_path):
    state = StateDir(tmp_path)
    state.ensure()
    (state.records_dir / "kafka.json").write_text('{"name": "kaf')
    assert state.load("kafka") is None
    assert not (state.records_dir / "kafka.json").exists()


def test_second_lock_holder_gets_a_clear_error(tmp_path):
    state = StateDir(tmp_path)
    with state.lock():
        with pytest.raises(SandboxError, match="another"):
            with StateDir(tmp_path).lock():
                pass
    with state.lock():  # released after the first holder leaves
        pass


def test_wipe_removes_data_and_records(tmp_path):
    state = StateDir(tmp_path)
    state.save(ComponentRecord("aws", 4566, 1.0))
    state.data_dir("aws").mkdir(parents=True)
    state.wipe()
    assert state.load("aws") is None
    assert not state.data_dir("aws").exists()
