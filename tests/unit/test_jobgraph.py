"""The analytics job's kept graph is named by everything it was made from (sandbox/jobgraph.py):
a changed argument or file is another graph, planned again; the same inputs find the same one."""

from __future__ import annotations

from sandbox import jobgraph


def test_the_same_inputs_name_the_same_graph_and_any_change_another(tmp_path):
    job, conf = tmp_path / "job.py", tmp_path / "config.yaml"
    job.write_text("print('job')")
    conf.write_text("parallelism.default: 1")
    args = ["-py", str(job), "--", "--window-seconds", "10"]
    first = jobgraph.graph_file(tmp_path, args, [job, conf])
    assert jobgraph.graph_file(tmp_path, list(args), [job, conf]) == first
    assert jobgraph.graph_file(tmp_path, [*args[:-1], "30"], [job, conf]) != first
    conf.write_text("parallelism.default: 2")
    assert jobgraph.graph_file(tmp_path, args, [job, conf]) != first
    assert first.parent == tmp_path and first.name.startswith("jobgraph-") and first.suffix == ".bin"


def test_flink_run_is_told_to_keep_the_graph_and_where_the_jobmanager_is(tmp_path):
    args = jobgraph.capture_args(tmp_path / "g.bin", 8081)
    assert args[:2] == ["-t", jobgraph.TARGET]
    assert {"-Drest.address=127.0.0.1", "-Drest.port=8081", f"-Dsandbox.jobgraph.file={tmp_path / 'g.bin'}"} <= set(args)
