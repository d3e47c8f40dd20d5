"""The cluster's PKI: CAs, certificates, keys and kubeconfigs in one directory, kept valid.

Kubernetes authenticates components by X.509 client certificates (CN = user, O = groups) and
serves TLS everywhere, so the cluster needs the set kubeadm makes (the same names and
identities). `ensure()` is idempotent: a file that still says what is wanted is left byte for
byte, so a warm `up` restarts nothing; a certificate whose subject, SANs or usages no longer
match (node_address changed) or that expires within 30 days is reissued, reusing its key.

Keys are EC P-256: generated in well under a millisecond, where RSA-2048 takes tens. Every
consumer takes them: Go's TLS, and kube-apiserver's token signer (ES256 for
--service-account-signing-key-file).
"""

from __future__ import annotations

import base64
import fcntl
import ipaddress
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple, TypeVar

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAF_DAYS = 365
CA_DAYS = 3650
RENEW_BEFORE = timedelta(days=30)
BACKDATE = timedelta(minutes=5)  # clock skew between this process and the components
CLUSTER = "cloud-sandbox"  # the cluster's and the context's name in every kubeconfig
APISERVER_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                   "kubernetes.default.svc.cluster.local", "localhost")
MASTERS = ("system:masters",)  # bypasses RBAC: no ClusterRoleBinding needed before the apiserver is up
PEM = serialization.Encoding.PEM
E = TypeVar("E", bound=x509.ExtensionType)


@dataclass(frozen=True)
class CertSpec:
    """What one certificate must say; an existing <name>.crt that says anything else is reissued.
    issuer is the name of the CA that signs it, None for a self-signed CA."""

    name: str
    cn: str
    orgs: tuple[str, ...] = ()
    server: bool = False
    client: bool = False
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    issuer: str | None = "ca"

    def subject(self) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in self.orgs]
                         + [x509.NameAttribute(NameOID.COMMON_NAME, self.cn)])

    def sans(self) -> set[x509.GeneralName]:
        return ({x509.DNSName(d) for d in self.dns}
                | {x509.IPAddress(ipaddress.ip_address(i)) for i in self.ips})

    def usages(self) -> set[x509.ObjectIdentifier]:
        return ({ExtendedKeyUsageOID.SERVER_AUTH} if self.server else set()) | (
            {ExtendedKeyUsageOID.CLIENT_AUTH} if self.client else set())


class Pair(NamedTuple):
    crt: Path
    key: Path


@dataclass(frozen=True)
class Paths:
    """Where each file lives, for the components' flags. Kubeconfigs (identity -> file) point at
    https://<node_address>:6443, for the components inside the namespace."""

    root: Path
    ca: Pair
    front_proxy_ca: Pair  # --requestheader-client-ca-file
    etcd_ca: Pair
    apiserver: Pair
    apiserver_kubelet_client: Pair
    apiserver_etcd_client: Pair
    front_proxy_client: Pair  # --proxy-client-cert-file/--proxy-client-key-file
    etcd_server: Pair
    kubelet_server: Pair  # the kubelet's --tls-cert-file/--tls-private-key-file
    admin: Pair
    sa_key: Path  # --service-account-signing-key-file, the controller-manager's --service-account-private-key-file
    sa_pub: Path  # --service-account-key-file
    kubeconfigs: dict[str, Path]


class ClusterPki:
    """The PKI of one cluster in `root` (e.g. <state_dir>/conf/cluster-pki)."""

    def __init__(self, root: Path, node_address: str, service_cidr: str, node_name: str):
        self.root = Path(root)
        first_service_ip = str(ipaddress.ip_network(service_cidr)[1])  # the `kubernetes` Service
        self.clients = {  # identity -> (CN, O): the users RBAC's bootstrap policy knows
            "admin": ("kubernetes-admin", MASTERS),
            "kube-controller-manager": ("system:kube-controller-manager", ()),
            "kube-scheduler": ("system:kube-scheduler", ()),
            "kubelet": (f"system:node:{node_name}", ("system:nodes",)),
            "kube-proxy": ("system:kube-proxy", ()),
        }
        self.specs = [
            CertSpec("ca", "kubernetes", issuer=None),
            CertSpec("front-proxy-ca", "front-proxy-ca", issuer=None),
            CertSpec("etcd-ca", "etcd-ca", issuer=None),  # its own CA: a cluster client cert must not open etcd
            CertSpec("apiserver", "kube-apiserver", server=True, dns=APISERVER_NAMES,
                     ips=(node_address, first_service_ip, "127.0.0.1")),
            # system:masters rather than kubeadm's binding to system:kubelet-api-admin: nothing to apply first
            CertSpec("apiserver-kubelet-client", "kube-apiserver-kubelet-client", MASTERS, client=True),
            CertSpec("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True, issuer="etcd-ca"),
            CertSpec("front-proxy-client", "front-proxy-client", client=True, issuer="front-proxy-ca"),
            CertSpec("etcd-server", "etcd", server=True, client=True, issuer="etcd-ca",
                     dns=("localhost", node_name), ips=("127.0.0.1", node_address)),
            CertSpec("kubelet-server", node_name, server=True, dns=(node_name,), ips=(node_address,)),
            *(CertSpec(name, cn, orgs, client=True) for name, (cn, orgs) in self.clients.items()),
        ]
        self.node_server = f"https://{node_address}:6443"

    @property
    def paths(self) -> Paths:
        return Paths(root=self.root, ca=self.pair("ca"), front_proxy_ca=self.pair("front-proxy-ca"),
                     etcd_ca=self.pair("etcd-ca"), apiserver=self.pair("apiserver"),
                     apiserver_kubelet_client=self.pair("apiserver-kubelet-client"),
                     apiserver_etcd_client=self.pair("apiserver-etcd-client"),
                     front_proxy_client=self.pair("front-proxy-client"), etcd_server=self.pair("etcd-server"),
                     kubelet_server=self.pair("kubelet-server"), admin=self.pair("admin"),
                     sa_key=self.root / "sa.key", sa_pub=self.root / "sa.pub",
                     kubeconfigs={name: self.root / f"{name}.kubeconfig" for name in self.clients})

    def pair(self, name: str) -> Pair:
        return Pair(self.root / f"{name}.crt", self.root / f"{name}.key")

    def ensure(self) -> Paths:
        """Make every file valid for the current settings; rewrite only those that are not."""
        with self._locked():
            issued: dict[str, tuple[x509.Certificate, ec.EllipticCurvePrivateKey]] = {}
            for spec in self.specs:
                issued[spec.name] = self._ensure(spec, issued[spec.issuer] if spec.issuer else None)
            sa = self._key(self.root / "sa.key")
            _write(self.root / "sa.pub", sa.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
                   0o644)
            for name in self.clients:
                self._kubeconfig(name, self.node_server, self.root / f"{name}.kubeconfig")
        return self.paths

    def issue(self, spec: CertSpec) -> Pair:
        """One more certificate signed by one of the CAs, kept like the others, e.g. a client identity
        for a component run outside pods: CertSpec("argocd", "argocd", MASTERS, client=True)."""
        with self._locked():
            cas = {s.name: s for s in self.specs if s.issuer is None}
            if spec.issuer not in cas:
                raise ValueError(f"{spec.name}: issuer must be one of {', '.join(cas)}, not {spec.issuer!r}")
            if spec.name in {s.name for s in self.specs} | {"sa"}:
                raise ValueError(f"{spec.name} is one of ensure()'s own certificates")
            self._ensure(spec, self._ensure(cas[spec.issuer], None))
        return self.pair(spec.name)

    def kubeconfig(self, identity: str, server: str, path: Path | None = None) -> Path:
        """A self-contained kubeconfig (certs embedded) for the client cert `identity` and `server`,
        e.g. the user's: kubeconfig("admin", "https://127.0.0.1:16443", state_dir / "kubeconfig")."""
        with self._locked():
            return self._kubeconfig(identity, server, path or self.root / f"{identity}.kubeconfig")

    def _ensure(self, spec: CertSpec, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None
                ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        crt, key_path = self.pair(spec.name)
        key = self._key(key_path)
        try:
            cert: x509.Certificate | None = x509.load_pem_x509_certificate(crt.read_bytes())
        except (OSError, ValueError):
            cert = None
        if cert is None or not _fits(cert, spec, key, issuer[0] if issuer else None):
            cert = _sign(spec, key, issuer)
            _write(crt, cert.public_bytes(PEM), 0o644)
        return cert, key

    @staticmethod
    def _key(path: Path) -> ec.EllipticCurvePrivateKey:
        """The key in `path`, or a new one when it is absent or unreadable (kept across reissues)."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), None)
        except (OSError, ValueError, TypeError):
            key = None
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            return key
        key = ec.generate_private_key(ec.SECP256R1())
        _write(path, key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)
        return key

    def _kubeconfig(self, identity: str, server: str, path: Path) -> Path:
        crt, key = self.pair(identity)
        data = {name: base64.b64encode(file.read_bytes()).decode() for name, file in
                (("ca", self.root / "ca.crt"), ("crt", crt), ("key", key))}
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": CLUSTER, "cluster": {"server": server, "certificate-authority-data": data["ca"]}}],
            "users": [{"name": identity, "user": {"client-certificate-data": data["crt"],
                                                  "client-key-data": data["key"]}}],
            "contexts": [{"name": CLUSTER, "context": {"cluster": CLUSTER, "user": identity}}],
            "current-context": CLUSTER,
        }
        _write(path, yaml.dump(config, Dumper=_DUMPER, sort_keys=False, width=1 << 16).encode(), 0o600)
        return path

    @contextmanager
    def _locked(self):
        """One writer at a time: two `up`s must not pair one's key with the other's certificate."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _public(key: ec.EllipticCurvePublicKey | object) -> bytes:
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _extension(cert: x509.Certificate, kind: type[E]) -> E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _fits(cert: x509.Certificate, spec: CertSpec, key: ec.EllipticCurvePrivateKey,
          issuer: x509.Certificate | None) -> bool:
    """Whether `cert` is still what `spec` wants, for `key`, signed by `issuer` (itself for a CA)."""
    now = datetime.now(UTC)
    try:
        cert.verify_directly_issued_by(issuer or cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    sans = _extension(cert, x509.SubjectAlternativeName)
    usages = _extension(cert, x509.ExtendedKeyUsage)
    basic = _extension(cert, x509.BasicConstraints)
    return (cert.subject == spec.subject() and _public(cert.public_key()) == _public(key.public_key())
            and cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > RENEW_BEFORE
            and set(sans or ()) == spec.sans() and set(usages or ()) == spec.usages()
            and basic is not None and basic.ca == (spec.issuer is None))


def _sign(spec: CertSpec, key: ec.EllipticCurvePrivateKey,
          issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None) -> x509.Certificate:
    now = datetime.now(UTC)
    ca = spec.issuer is None
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    not_after = now + timedelta(days=CA_DAYS if ca else LEAF_DAYS)
    if issuer_cert is not None:  # a leaf never outlives its CA: both are renewed together
        not_after = min(not_after, issuer_cert.not_valid_after_utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (x509.CertificateBuilder()
               .subject_name(spec.subject())
               .issuer_name(issuer_cert.subject if issuer_cert else spec.subject())
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(ski, critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if spec.usages():
        builder = builder.add_extension(x509.ExtendedKeyUsage(sorted(spec.usages(), key=lambda o: o.dotted_string)),
                                        critical=False)
    if spec.sans():
        builder = builder.add_extension(x509.SubjectAlternativeName(sorted(spec.sans(), key=str)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` atomically unless it already holds `data`. No fsync: a file torn by a crash
    fails validation at the next ensure() and is made again."""
    try:
        if path.read_bytes() == data:
            if path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)
            return
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as file:
        os.fchmod(file.fileno(), mode)  # whatever the umask, and an older tmp's mode
        file.write(data)
    os.replace(tmp, path)
