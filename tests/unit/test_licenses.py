"""The licence gate (scripts/licenses.py): the policy, the allow-list and the parsers of each tool's output."""

import importlib.util
import sys
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("licenses", Path(__file__).parents[2] / "scripts" / "licenses.py")
licenses = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = licenses
spec.loader.exec_module(licenses)


@pytest.mark.parametrize("text", ["AGPL-3.0-only", "GNU Affero General Public License v3", "SSPL-1.0", "BUSL-1.1",
                                  "Business Source License 1.1", "BSL-1.1", "Apache-2.0 with Commons Clause",
                                  "Elastic License 2.0", "Other/Proprietary License", "", "UNKNOWN"])
def test_denied_licences(text):
    assert licenses.judge(text).startswith("denied")


@pytest.mark.parametrize("text", ["MIT", "Apache-2.0", "BSD-3-Clause", "BSL-1.0", "MPL-2.0", "LGPL-3.0-or-later",
                                  "GPL-2.0-or-later; MIT", "PostgreSQL", "DFSG"])
def test_open_licences_pass(text):
    assert licenses.judge(text) == "ok"


def test_allow_list_lets_a_denied_package_through_with_its_reason(tmp_path):
    allow = tmp_path / "allow.toml"
    allow.write_text('[[allow]]\necosystem = "go"\nname = "Example/Mod"\nreason = "dual-licensed, we take MIT"\n')
    packages = [licenses.Package("go", "example/mod", "v1", "AGPL-3.0", "kustomize"),
                licenses.Package("go", "other/mod", "v1", "AGPL-3.0", "kube-score"),
                licenses.Package("python", "fine", "1", "MIT", "x")]
    denied = licenses.apply_gate(packages, licenses.load_allow_list(allow))
    assert [p.name for p in denied] == ["other/mod"]
    assert packages[0].verdict == "allowed: dual-licensed, we take MIT" and packages[2].verdict == "ok"


def test_an_allow_entry_without_a_reason_is_refused(tmp_path):
    allow = tmp_path / "allow.toml"
    allow.write_text('[[allow]]\necosystem = "go"\nname = "x"\n')
    with pytest.raises(SystemExit, match="no reason"):
        licenses.load_allow_list(allow)


def test_the_project_allow_list_gives_a_reason_for_every_entry():
    assert all(reason for reason in licenses.load_allow_list().values())


def test_maven_third_party_lines_parse_with_several_licences():
    line = ("     (Apache License, Version 2.0) (LGPL 2.1) jna (net.java.dev.jna:jna:5.13.0 - "
            "https://github.com/java-native-access/jna)")
    match = licenses.THIRD_PARTY_LINE.match(line)
    assert match["gav"] == "net.java.dev.jna:jna:5.13.0"
    assert licenses.re.findall(r"\((.+?)\)", match["licenses"]) == ["Apache License, Version 2.0", "LGPL 2.1"]


def test_debian_packages_come_from_every_script_and_dockerfile():
    names = licenses.debian_names()
    assert {"haproxy", "postgresql", "maven", "wrk", "chromium", "docker.io", "debootstrap", "postgresql-15",
            "openjdk-17-jre-headless", "python3-pip"} <= set(names)
    assert "scripts/install-system-deps.sh" in names["haproxy"]
    assert not {"-y", "apt-get", "install", "--no-install-recommends", "&&"} & set(names)


def test_pip_licenses_reads_the_venv_with_its_parents():
    packages = {p.name.lower(): p for p in licenses.python_packages()}
    assert "MIT" in packages["locust"].license and licenses.judge(packages["locust"].license) == "ok"
    assert "locust" in packages["geventhttpclient"].pulled_in_by
    assert "cloud-sandbox" not in packages  # the project itself is not third-party


def test_a_terraform_named_by_the_setting_is_gated_as_busl(monkeypatch):
    from sandbox.settings import settings

    monkeypatch.setenv("SANDBOX_TERRAFORM__BINARY", "terraform")
    settings.cache_clear()
    try:
        packages = licenses.machine_packages()
    finally:
        settings.cache_clear()
    if not packages:
        pytest.skip("no terraform on this machine")
    assert licenses.judge(packages[0].license) == "denied: Business Source License"


def test_the_default_cli_is_built_by_the_project_not_taken_from_the_machine(monkeypatch):
    from sandbox.settings import settings

    monkeypatch.delenv("SANDBOX_TERRAFORM__BINARY", raising=False)
    settings.cache_clear()
    assert licenses.machine_packages() == [] and "tofu" in licenses.GO_BINARIES


def test_npm_packages_of_a_package_json_are_read_by_license_checker(tmp_path):
    app = tmp_path / "ui"
    app.mkdir()
    (app / "package.json").write_text('{"name": "probe", "version": "1.0.0", "private": true, '
                                      '"dependencies": {"is-number": "7.0.0"}}')
    packages = licenses.npm_packages(tmp_path)
    assert [(p.name, p.version, p.license, p.pulled_in_by) for p in packages] == [
        ("is-number", "7.0.0", "MIT", "ui/package.json")]
