"""sandbox/cluster/pki.py: every certificate chains to its CA with the right names, identities and
usages; ensure() keeps what is valid byte for byte and reissues what no longer fits; the
kubeconfigs load with the clients users use. The last test runs etcd + kube-apiserver on loopback
with these files when `make cluster-tools` has built them."""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store

from sandbox.cluster import pki as pki_module
from sandbox.cluster.pki import MASTERS, CertSpec, ClusterPki

NODE = "sandbox-node"
SERVER = "https://10.200.0.1:6443"


@pytest.fixture
def pki(tmp_path) -> ClusterPki:
    return ClusterPki(tmp_path / "pki", "10.200.0.1", "10.96.0.0/16", NODE)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.iterdir()) if p.name != ".lock"}


def sans(cert: x509.Certificate) -> set[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n.value) for n in names}


def usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_every_certificate_chains_to_its_ca_for_its_purpose(pki):
    pki.ensure()
    for spec in pki.specs:
        crt, key = pki.pair(spec.name)
        cert, ca = load(crt), load(pki.pair(spec.issuer or spec.name).crt)
        cert.verify_directly_issued_by(ca)
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is (spec.issuer is None)
        assert load_pem_private_key(key.read_bytes(), None).public_key() == cert.public_key()
        if spec.issuer is None or not shutil.which("openssl"):
            continue
        for purpose, wanted in (("sslserver", spec.server), ("sslclient", spec.client)):
            result = subprocess.run(["openssl", "verify", "-x509_strict", "-purpose", purpose, "-CAfile", str(ca_path(pki, spec)),
                                     str(crt)], capture_output=True, text=True)
            assert (result.returncode == 0) is wanted, (spec.name, purpose, result.stdout, result.stderr)


def ca_path(pki: ClusterPki, spec: CertSpec) -> Path:
    return pki.pair(spec.issuer or spec.name).crt


def test_serving_certificates_verify_for_every_name_clients_dial(pki):
    paths = pki.ensure()
    cases = {paths.apiserver.crt: (paths.ca.crt, ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                                   "kubernetes.default.svc.cluster.local", "localhost",
                                                   "10.200.0.1", "10.96.0.1", "127.0.0.1"]),
             paths.kubelet_server.crt: (paths.ca.crt, [NODE, "10.200.0.1"]),
             paths.etcd_server.crt: (paths.etcd_ca.crt, ["127.0.0.1", "localhost"])}
    for crt, (ca, names) in cases.items():
        store = Store([load(ca)])
        for name in names:
            try:
                subject = IPAddress(ipaddress.ip_address(name))
            except ValueError:
                subject = DNSName(name)
            chain = PolicyBuilder().store(store).build_server_verifier(subject).verify(load(crt), [])
            assert chain[-1] == load(ca)
    assert sans(load(paths.apiserver.crt)) == {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                               "kubernetes.default.svc.cluster.local", "localhost",
                                               "10.200.0.1", "10.96.0.1", "127.0.0.1"}
    assert sans(load(paths.kubelet_server.crt)) == {NODE, "10.200.0.1"}


def test_identities_and_usages(pki):
    pki.ensure()
    wanted = {"admin": ("kubernetes-admin", ["system:masters"]),
              "kube-controller-manager": ("system:kube-controller-manager", []),
              "kube-scheduler": ("system:kube-scheduler", []),
              "kubelet": (f"system:node:{NODE}", ["system:nodes"]),
              "kube-proxy": ("system:kube-proxy", []),
              "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", ["system:masters"]),
              "front-proxy-client": ("front-proxy-client", []),
              "apiserver-etcd-client": ("kube-apiserver-etcd-client", [])}
    for name, (cn, orgs) in wanted.items():
        cert = load(pki.pair(name).crt)
        assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [cn]
        assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
        assert usages(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}, name
    for name in ("apiserver", "kubelet-server"):
        assert usages(load(pki.pair(name).crt)) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert usages(load(pki.pair("etcd-server").crt)) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    for name in ("ca", "front-proxy-ca", "etcd-ca"):
        key_usage = load(pki.pair(name).crt).extensions.get_extension_for_class(x509.KeyUsage).value
        assert key_usage.key_cert_sign and key_usage.crl_sign
    ca, leaf = load(pki.pair("ca").crt), load(pki.pair("admin").crt)
    assert 3649 <= (ca.not_valid_after_utc - ca.not_valid_before_utc).days <= 3651
    assert 364 <= (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days <= 366


def test_service_account_keys_sign_tokens_as_es256(pki):
    paths = pki.ensure()
    key = load_pem_private_key(paths.sa_key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    public = load_pem_public_key(paths.sa_pub.read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(key.sign(b"claims", ec.ECDSA(hashes.SHA256())), b"claims", ec.ECDSA(hashes.SHA256()))


def test_keys_and_kubeconfigs_are_private(pki):
    paths = pki.ensure()
    assert stat.S_IMODE(paths.root.stat().st_mode) == 0o700
    for path in paths.root.iterdir():
        private = path.suffix in (".key", ".kubeconfig")
        assert stat.S_IMODE(path.stat().st_mode) == (0o600 if private else 0o644) or path.name == ".lock", path
    assert not list(paths.root.glob(".*.tmp"))


def test_a_second_ensure_changes_no_byte(pki, tmp_path):
    pki.ensure()
    before = snapshot(pki.root)
    pki.ensure()
    ClusterPki(pki.root, "10.200.0.1", "10.96.0.0/16", NODE).ensure()
    assert snapshot(pki.root) == before


def test_a_new_node_address_reissues_only_the_certificates_that_name_it(pki):
    pki.ensure()
    before = snapshot(pki.root)
    paths = ClusterPki(pki.root, "10.200.0.7", "10.96.0.0/16", NODE).ensure()
    after = snapshot(pki.root)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"apiserver.crt", "etcd-server.crt", "kubelet-server.crt", *(f"{identity}.kubeconfig" for identity
                                                                                     in paths.kubeconfigs)}
    assert "10.200.0.7" in sans(load(paths.apiserver.crt)) and "10.200.0.1" not in sans(load(paths.apiserver.crt))
    load(paths.apiserver.crt).verify_directly_issued_by(load(paths.ca.crt))
    assert yaml.safe_load(paths.kubeconfigs["kubelet"].read_text())["clusters"][0]["cluster"]["server"] == \
        "https://10.200.0.7:6443"


def test_certificates_expiring_within_30_days_are_renewed(pki, monkeypatch):
    monkeypatch.setattr(pki_module, "LEAF_DAYS", 20)
    pki.ensure()
    short = load(pki.pair("apiserver").crt)
    monkeypatch.setattr(pki_module, "LEAF_DAYS", 365)
    pki.ensure()
    renewed = load(pki.pair("apiserver").crt)
    assert renewed.serial_number != short.serial_number
    assert renewed.not_valid_after_utc - short.not_valid_after_utc > pki_module.RENEW_BEFORE
    assert renewed.public_key() == short.public_key()  # renewal keeps the key, as `kubeadm certs renew`


def test_a_new_ca_reissues_every_certificate_it_signs(pki):
    pki.ensure()
    before = snapshot(pki.root)
    pki.pair("ca").key.unlink()
    paths = pki.ensure()
    after = snapshot(pki.root)
    for spec in pki.specs:
        crt = f"{spec.name}.crt"
        assert (after[crt] != before[crt]) is (spec.issuer == "ca" or spec.name == "ca"), spec.name
        load(paths.root / crt).verify_directly_issued_by(load(ca_path(pki, spec)))
    assert after["sa.key"] == before["sa.key"]


def test_torn_files_are_made_again(pki):
    paths = pki.ensure()
    paths.apiserver.crt.write_bytes(b"-----BEGIN CERT")
    paths.kubelet_server.key.write_bytes(b"")
    paths.sa_pub.unlink()
    pki.ensure()
    for pair in (paths.apiserver, paths.kubelet_server):
        load(pair.crt).verify_directly_issued_by(load(paths.ca.crt))
        assert load_pem_private_key(pair.key.read_bytes(), None).public_key() == load(pair.crt).public_key()
    assert load_pem_public_key(paths.sa_pub.read_bytes()) == load_pem_private_key(paths.sa_key.read_bytes(), None).public_key()


def check_kubeconfig(path: Path, pki: ClusterPki, identity: str, server: str) -> None:
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == pki_module.CLUSTER
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    assert cluster["server"] == server
    assert base64.b64decode(cluster["certificate-authority-data"]) == pki.pair("ca").crt.read_bytes()
    assert base64.b64decode(user["client-certificate-data"]) == pki.pair(identity).crt.read_bytes()
    assert base64.b64decode(user["client-key-data"]) == pki.pair(identity).key.read_bytes()
    if importlib.util.find_spec("kubernetes"):
        from kubernetes import client
        from kubernetes import config as kube_config

        configuration = client.Configuration()
        kube_config.load_kube_config(config_file=str(path), client_configuration=configuration)
        assert configuration.host == server
        assert Path(configuration.cert_file).read_bytes() == pki.pair(identity).crt.read_bytes()
    if shutil.which("kubectl"):
        view = subprocess.run(["kubectl", "config", "view", "--kubeconfig", str(path), "--raw", "-o", "json"],
                              capture_output=True, text=True, check=True)
        assert yaml.safe_load(view.stdout)["clusters"][0]["cluster"]["server"] == server


def test_kubeconfigs_are_self_contained_and_load_with_the_clients(pki, tmp_path):
    paths = pki.ensure()
    for identity, path in paths.kubeconfigs.items():
        check_kubeconfig(path, pki, identity, SERVER)
    user = pki.kubeconfig("admin", "https://127.0.0.1:16443", tmp_path / "kubeconfig")
    check_kubeconfig(user, pki, "admin", "https://127.0.0.1:16443")
    assert stat.S_IMODE(user.stat().st_mode) == 0o600


def test_any_identity_can_be_issued_with_its_kubeconfig(pki):
    pki.ensure()
    pair = pki.issue(CertSpec("argocd", "argocd-application-controller", MASTERS, client=True))
    cert = load(pair.crt)
    cert.verify_directly_issued_by(load(pki.pair("ca").crt))
    assert cert.subject.rfc4514_string() == "CN=argocd-application-controller,O=system:masters"
    check_kubeconfig(pki.kubeconfig("argocd", SERVER), pki, "argocd", SERVER)
    before = pair.crt.read_bytes()
    pki.issue(CertSpec("argocd", "argocd-application-controller", MASTERS, client=True))
    assert pair.crt.read_bytes() == before
    with pytest.raises(ValueError, match="issuer must be one of"):
        pki.issue(CertSpec("bad", "bad", client=True, issuer="admin"))
    with pytest.raises(ValueError, match="ensure"):
        pki.issue(CertSpec("admin", "someone-else", client=True))


def test_ensure_is_fast_cold_and_warm(tmp_path):
    """Targets 0.5 s cold and 20 ms warm (measured ~15 ms and ~6 ms); bounds leave room for a loaded machine."""
    pki = ClusterPki(tmp_path / "pki", "10.200.0.1", "10.96.0.0/16", NODE)
    started = time.perf_counter()
    pki.ensure()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(5):
        started = time.perf_counter()
        pki.ensure()
        warm.append(time.perf_counter() - started)
    assert cold < 0.5 and min(warm) < 0.05, (cold, warm)


# --- etcd + kube-apiserver with these files, when built -------------------------------------------------------------

def built(name: str) -> Path | None:
    from sandbox.cluster import tools
    from sandbox.settings import settings

    path = tools.paths(settings().user_cache_dir).get(name)
    return path if path and path.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:  # apiserver and etcd may need SIGKILL (CLUSTER-FACTS)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_etcd_and_kube_apiserver_accept_these_files(pki, tmp_path, processes):
    apiserver, etcd = built("kube-apiserver"), built("etcd")
    if not (apiserver and etcd):
        pytest.skip("kube-apiserver and etcd are not built yet (make cluster-tools)")
    paths = pki.ensure()
    etcd_port, peer_port, port = free_port(), free_port(), free_port()
    etcd_url = f"https://127.0.0.1:{etcd_port}"

    def spawn(name: str, argv: list[str]) -> Path:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            processes.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        return log

    spawn("etcd", [str(etcd), "--name", "default", "--data-dir", str(tmp_path / "etcd"),
                   "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                   "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
                   "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
                   "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
                   "--cert-file", str(paths.etcd_server.crt), "--key-file", str(paths.etcd_server.key),
                   "--client-cert-auth", "--trusted-ca-file", str(paths.etcd_ca.crt)])
    log = spawn("kube-apiserver", [
        str(apiserver), "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
        "--endpoint-reconciler-type=none", f"--cert-dir={tmp_path / 'apiserver'}",
        f"--etcd-servers={etcd_url}", f"--etcd-cafile={paths.etcd_ca.crt}",
        f"--etcd-certfile={paths.apiserver_etcd_client.crt}", f"--etcd-keyfile={paths.apiserver_etcd_client.key}",
        f"--tls-cert-file={paths.apiserver.crt}", f"--tls-private-key-file={paths.apiserver.key}",
        f"--client-ca-file={paths.ca.crt}", "--authorization-mode=Node,RBAC",
        f"--kubelet-client-certificate={paths.apiserver_kubelet_client.crt}",
        f"--kubelet-client-key={paths.apiserver_kubelet_client.key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={paths.sa_pub}", f"--service-account-signing-key-file={paths.sa_key}",
        "--service-cluster-ip-range=10.96.0.0/16",
        f"--requestheader-client-ca-file={paths.front_proxy_ca.crt}", "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={paths.front_proxy_client.crt}", f"--proxy-client-key-file={paths.front_proxy_client.key}"])
    url = f"https://127.0.0.1:{port}"
    admin = requests.Session()
    admin.trust_env = False  # REQUESTS_CA_BUNDLE would replace the cluster CA
    admin.verify, admin.cert = str(paths.ca.crt), (str(paths.admin.crt), str(paths.admin.key))
    deadline = time.monotonic() + 90
    while True:
        try:
            if admin.get(f"{url}/readyz", timeout=2).text == "ok":
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        assert all(p.poll() is None for p in processes), log.read_text()[-3000:]
        time.sleep(0.3)

    def whoami(session: requests.Session, **kwargs) -> dict:
        response = session.post(f"{url}/apis/authentication.k8s.io/v1/selfsubjectreviews", timeout=5,
                                json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, **kwargs)
        response.raise_for_status()
        return response.json()["status"]["userInfo"]

    assert "system:masters" in whoami(admin)["groups"]
    kubelet = requests.Session()
    kubelet.trust_env = False  # REQUESTS_CA_BUNDLE would replace the cluster CA
    kubelet.verify, kubelet.cert = str(paths.ca.crt), (str(pki.pair("kubelet").crt), str(pki.pair("kubelet").key))
    assert whoami(kubelet)["username"] == f"system:node:{NODE}"
    front_proxy = requests.Session()
    front_proxy.trust_env = False  # REQUESTS_CA_BUNDLE would replace the cluster CA
    front_proxy.verify, front_proxy.cert = str(paths.ca.crt), (str(paths.front_proxy_client.crt),
                                                               str(paths.front_proxy_client.key))
    assert whoami(front_proxy, headers={"X-Remote-User": "alice"})["username"] == "alice"
    # a service-account token signed with the EC key (ES256) authenticates
    admin.post(f"{url}/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "probe"}},
               timeout=5).raise_for_status()
    token = admin.post(f"{url}/api/v1/namespaces/default/serviceaccounts/probe/token", timeout=5,
                       json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    token.raise_for_status()
    bearer = requests.Session()
    bearer.trust_env = False  # REQUESTS_CA_BUNDLE would replace the cluster CA
    bearer.verify = str(paths.ca.crt)
    assert whoami(bearer, headers={"Authorization": f"Bearer {token.json()['status']['token']}"})["username"] == \
        "system:serviceaccount:default:probe"
    if shutil.which("kubectl"):
        user = pki.kubeconfig("admin", url, tmp_path / "kubeconfig")
        out = subprocess.run(["kubectl", "--kubeconfig", str(user), "get", "--raw", "/readyz"],
                             capture_output=True, text=True, timeout=30)
        assert out.stdout == "ok", out.stderr
