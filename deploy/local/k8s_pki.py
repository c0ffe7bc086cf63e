"""Keys and certificates of the local Kubernetes control plane (deploy/local/k8s_plane.py).

Generated with ``cryptography`` into one directory, once (existing files are kept):

- ``ca.crt``/``ca.key``: a self-signed CA (ECDSA P-256, 1 year) that signs the two below and
  is the apiserver's ``--client-ca-file`` and the kubeconfig's ``certificate-authority``;
- ``apiserver.crt``/``apiserver.key``: the apiserver's serving certificate for 127.0.0.1,
  ``localhost`` and the in-cluster names of the ``kubernetes`` Service;
- ``admin.crt``/``admin.key``: a client certificate ``CN=parley-admin, O=system:masters``
  (cluster-admin), which kubectl, the controller-manager, the scheduler and kwok use;
- ``sa.key``/``sa.pub``: the service-account token signing key pair (RSA 2048; the apiserver
  signs with it, the controller-manager's token controller too).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True)
class Pki:
    """Paths of the control plane's keys and certificates (PEM), under ``dir``."""

    dir: Path

    ca_crt = property(lambda self: self.dir / "ca.crt")
    ca_key = property(lambda self: self.dir / "ca.key")
    apiserver_crt = property(lambda self: self.dir / "apiserver.crt")
    apiserver_key = property(lambda self: self.dir / "apiserver.key")
    admin_crt = property(lambda self: self.dir / "admin.crt")
    admin_key = property(lambda self: self.dir / "admin.key")
    sa_key = property(lambda self: self.dir / "sa.key")
    sa_pub = property(lambda self: self.dir / "sa.pub")


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _cert(subject: x509.Name, key, issuer: x509.Name, issuer_key, *, ca: bool,
          usages: list, sans: list | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                          crl_sign=False, content_commitment=False, data_encipherment=False,
                          key_agreement=False, encipher_only=False, decipher_only=False),
            critical=True).add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def ensure_pki(directory: Path, *, service_ip: str) -> Pki:
    """Create whatever of the files above is missing in ``directory``; ``service_ip`` is the
    ``kubernetes`` Service's cluster IP (the first address of the service CIDR), which the
    serving certificate names too. Returns their paths."""
    pki = Pki(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not pki.ca_crt.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert(_name("parley-local-k8s-ca"), ca_key, _name("parley-local-k8s-ca"), ca_key,
                   ca=True, usages=[])
        _write_key(pki.ca_key, ca_key)
        pki.ca_crt.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        for stale in ("apiserver", "admin"):  # signed by a previous CA
            (directory / f"{stale}.crt").unlink(missing_ok=True)
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    ca_name = x509.load_pem_x509_certificate(pki.ca_crt.read_bytes()).subject
    if not pki.apiserver_crt.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address(service_ip)),
                *(x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default",
                                            "kubernetes.default.svc",
                                            "kubernetes.default.svc.cluster.local"))]
        cert = _cert(_name("kube-apiserver"), key, ca_name, ca_key, ca=False,
                     usages=[ExtendedKeyUsageOID.SERVER_AUTH], sans=sans)
        _write_key(pki.apiserver_key, key)
        pki.apiserver_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if not pki.admin_crt.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(_name("parley-admin", "system:masters"), key, ca_name, ca_key, ca=False,
                     usages=[ExtendedKeyUsageOID.CLIENT_AUTH])
        _write_key(pki.admin_key, key)
        pki.admin_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if not pki.sa_key.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pki.sa_pub.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        _write_key(pki.sa_key, key)
    return pki
