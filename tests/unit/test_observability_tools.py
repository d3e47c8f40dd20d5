"""scripts/install-observability-tools.sh (`make observability-tools`): where it puts each pinned
binary, and the licence gate's view of them. Builds nothing (Prometheus with its UI takes minutes)."""

import json
import re
import subprocess

from install_scripts import ROOT, licenses, required, script_paths

SCRIPT = ROOT / "scripts" / "install-observability-tools.sh"
MODULES = ROOT / "tools" / "observability"


def test_every_binary_is_keyed_by_the_version_its_wrapper_module_pins(tmp_path):
    prometheus = required(MODULES / "prometheus" / "go.mod", "github.com/prometheus/prometheus")
    victorialogs = required(MODULES / "victorialogs" / "go.mod", "github.com/VictoriaMetrics/VictoriaLogs")
    versions = {"prometheus": prometheus, "promtool": prometheus, "victoria-logs": victorialogs,
                "vlagent": victorialogs,
                "postgres_exporter": required(MODULES / "postgres-exporter" / "go.mod", "github.com/prometheus-community/postgres_exporter"),
                "pushgateway": required(MODULES / "pushgateway" / "go.mod", "github.com/prometheus/pushgateway"),
                "otelcol": required(MODULES / "otelcol" / "go.mod", "go.opentelemetry.io/collector/otelcol")}
    found = script_paths(SCRIPT, tmp_path)
    assert set(versions) <= set(found)
    for name, version in versions.items():
        assert found[name] == tmp_path / "observability" / f"{name}-{version}" / name
    for name, path in found.items():  # the others too: <name>-<version>/<name>
        assert path.parent.parent == tmp_path / "observability" and re.fullmatch(rf"{re.escape(name)}-v\S+", path.parent.name)
        assert path.name == name


def test_the_web_ui_patch_applies_to_the_pinned_prometheus():
    """web-ui.patch names the files it changes under web/ui and moves only @mantine's versions."""
    patch = (MODULES / "prometheus" / "web-ui.patch").read_text()
    assert re.findall(r"^\+\+\+ b/(\S+)$", patch, re.M) == ["mantine-ui/package.json", "pnpm-lock.yaml"]
    def keys(sign: str) -> set[str]:  # lock entries as name@version, without their peers' suffix
        return set(re.findall(rf"^\{sign}  '?(@?[\w./-]+@\d[\w.-]*)", patch, re.M))

    added, removed = keys("+") - keys("-"), keys("-") - keys("+")
    mantine = {"code-highlight", "core", "dates", "hooks", "notifications", "store"}
    assert added == {f"@mantine/{name}@9.6.2" for name in mantine}
    assert removed == {f"@mantine/{name}@9.7.2" for name in mantine}


def test_the_licence_gate_reads_the_npm_packages_bundled_into_the_prometheus_ui(tmp_path):
    binary = tmp_path / "prometheus"
    binary.write_text("")
    (tmp_path / "ui-third-party-licenses.txt").write_text(
        "Name: react\nVersion: 19.3.1\nLicense: MIT\nPrivate: false\nLicense Text:\n===\n\nMIT License\n\n---\n\n"
        "Name: odd\nVersion: 1.0.0\nLicense: null\nPrivate: false\n")
    script = tmp_path / "paths.sh"
    script.write_text(f"echo 'prometheus {binary}'; echo 'vlagent {tmp_path}/vlagent'\n")
    found = licenses.bundled_ui_packages((script,))
    assert [(p.name, p.version, p.license, p.pulled_in_by) for p in found] == [
        ("react", "19.3.1", "MIT", "prometheus (web UI)"), ("odd", "1.0.0", "", "prometheus (web UI)")]
    assert licenses.apply_gate(found, {}) == [found[1]]  # no licence: denied
    assert licenses.built_binaries(script) == [binary]  # vlagent not built


def test_perses_and_its_plugins_are_keyed_by_the_version_its_wrapper_module_pins(tmp_path):
    found = script_paths(ROOT / "scripts" / "install-perses.sh", tmp_path)
    folder = tmp_path / "observability" / f"perses-{required(MODULES / 'perses' / 'go.mod', 'github.com/perses/perses')}"
    assert found == {"perses": folder / "perses", "plugins": folder / "plugins"}


def test_the_perses_ui_listing_names_each_installed_package_with_its_licence(tmp_path):
    """What install-perses.sh writes for the licence gate from the UI build's node_modules."""
    modules = tmp_path / "ui" / "node_modules"
    for name, manifest, licence_file in [("left-pad", {"license": "WTFPL"}, None),
                                         ("@scope/plain", {}, "Apache License\nVersion 2.0"),
                                         ("nothing", {}, None)]:
        (modules / name).mkdir(parents=True)
        (modules / name / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", **manifest}))
        if licence_file:
            (modules / name / "LICENSE").write_text(licence_file)
    (modules / "left-pad" / "lib").mkdir()
    (modules / "left-pad" / "lib" / "package.json").write_text('{"name": "inner", "version": "0"}')  # not a package
    script = "source <(sed -n '/^ui_licences() {/,/^}/p' scripts/install-perses.sh); ui_licences \"$1\""
    listing = subprocess.run(["bash", "-c", script, "-", str(tmp_path / "ui")], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    binary = tmp_path / "perses"
    binary.write_text("")
    (tmp_path / "ui-third-party-licenses.txt").write_text(listing)
    paths_script = tmp_path / "paths.sh"
    paths_script.write_text(f"echo 'perses {binary}'\n")
    found = {(p.name, p.license) for p in licenses.bundled_ui_packages((paths_script,))}
    assert found == {("left-pad", "WTFPL"), ("@scope/plain", "Apache-2.0"), ("nothing", "")}
