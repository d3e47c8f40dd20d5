from sandbox.hpa import desired_replicas


def test_scales_up_in_proportion_to_utilisation():
    assert desired_replicas(2, utilization=140, target=70, low=2, high=10) == 4
    assert desired_replicas(2, utilization=1000, target=70, low=2, high=10) == 10  # clamped to max


def test_tolerance_band_keeps_the_count():
    assert desired_replicas(4, utilization=75, target=70, low=2, high=10) == 4


def test_scales_down_but_not_below_min():
    assert desired_replicas(8, utilization=10, target=70, low=2, high=10) == 2
    assert desired_replicas(8, utilization=35, target=70, low=2, high=10) == 4


def test_autoscaler_scales_up_at_once_and_down_after_the_window(monkeypatch):
    from types import SimpleNamespace

    from sandbox import hpa
    from sandbox.manifests import Workload
    from sandbox.state import ComponentRecord, ProcessRecord

    clock = {"t": 0.0, "cpu": 0.0}
    monkeypatch.setattr(hpa.time, "monotonic", lambda: clock["t"])
    monkeypatch.setattr(hpa.process, "tree_cpu_seconds", lambda pid: clock["cpu"] / len(record.processes))
    monkeypatch.setattr(hpa.process, "is_running", lambda record: True)
    monkeypatch.setattr(hpa, "INITIALIZATION", 0)
    workload = Workload("svc", ("x",), {}, 8001, 2, 10, 70, 100)
    service = SimpleNamespace(name="svc", workload=workload)
    record = ComponentRecord("svc", 8001, 0, [ProcessRecord(f"replica-{i}", i + 1, 0) for i in range(2)])
    scaler = hpa.Autoscaler(stabilization=30)

    def step(seconds, cores_used):
        clock["t"] += seconds
        clock["cpu"] += seconds * cores_used
        return scaler.evaluate(service, record)

    assert step(0, 0) is None  # first sample only sets the baseline
    busy = step(5, 0.56)  # 0.56 cores over 2 x 100m = 280 %
    assert busy.utilization == 280.0 and busy.desired == 8
    record.processes += [ProcessRecord(f"replica-{i}", i + 1, 0) for i in range(2, 8)]
    assert step(5, 0.0) is not None  # new replicas only set their baseline this round
    idle = step(5, 0.0)
    assert idle.recommended == 2 and idle.desired == 8  # the recent high recommendation holds
    for _ in range(6):
        idle = step(5, 0.0)
    assert idle.desired == 2  # after the 30 s window


def test_young_replicas_are_not_measured(monkeypatch):
    from types import SimpleNamespace

    from sandbox import hpa
    from sandbox.manifests import Workload
    from sandbox.state import ComponentRecord, ProcessRecord

    monkeypatch.setattr(hpa.process, "tree_cpu_seconds", lambda pid: 1000.0)
    monkeypatch.setattr(hpa.process, "is_running", lambda record: True)
    workload = Workload("svc", ("x",), {}, 8001, 2, 10, 70, 100)
    young = ComponentRecord("svc", 8001, 0, [ProcessRecord("replica-0", 1, hpa.time.time())])
    scaler = hpa.Autoscaler()
    assert scaler.evaluate(SimpleNamespace(name="svc", workload=workload), young) is None
    assert scaler.evaluate(SimpleNamespace(name="svc", workload=workload), young) is None
