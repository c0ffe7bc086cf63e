"""Keys and certificates of the local Kubernetes control plane (deploy/local/k8s_plane.py).

Generated with ``cryptography`` into one directory, once (existing files are kept):

- ``ca.crt``/``ca.key``: a self-signed CA (ECDSA P-256, 1 year) that signs the two below and
  is the apiserver's ``--client-ca-file`` and the kubeconfig's ``certificate-authority``;
- ``apiserver.crt``/``apiserver.key``: the apiserver's serving certificate for 127.0.0.1,
  ``localhost`` and the in-cluster names of the ``kubernetes`` Service;
- ``admin.crt``/``admin.key``: a client certificate ``CN=parley-admin, O=system:masters``
  (cluster-admin), which kubectl, the controller-manager, the scheduler and kwok use;
- ``sa.key``/``sa.pub``: the service-account token signing key pair (RSA 2048; the apiserver
  signs with it, the controller-manager's token controller too);
- the aggregation layer's (Kubernetes docs, "Configure the Aggregation Layer"):
  ``front-proxy-ca.crt``/``.key``, a second CA, the apiserver's ``--requestheader-client-ca-file``;
  ``front-proxy-client.crt``/``.key`` (``CN=front-proxy-client``, signed by it), with which the
  apiserver proxies requests to an extension API server such as prometheus-adapter; and
  ``extension.crt``/``.key``, that extension server's serving certificate (signed by ``ca``)
  for the names passed as ``extension_names`` (the apiserver checks the Service's DNS name,
  ``<service>.<namespace>.svc``).
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
    front_proxy_ca_crt = property(lambda self: self.dir / "front-proxy-ca.crt")
    front_proxy_ca_key = property(lambda self: self.dir / "front-proxy-ca.key")
    front_proxy_client_crt = property(lambda self: self.dir / "front-proxy-client.crt")
    front_proxy_client_key = property(lambda self: self.dir / "front-proxy-client.key")
    extension_crt = property(lambda self: self.dir / "extension.crt")
    extension_key = property(lambda self: self.dir / "extension.key")

#: the common name the apiserver accepts on front-proxy client certificates
#: (``--requestheader-allowed-names``)
FRONT_PROXY_CLIENT = "front-proxy-client"


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


def _ca(path_crt: Path, path_key: Path, cn: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(_name(cn), key, _name(cn), key, ca=True, usages=[])
    _write_key(path_key, key)
    path_crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _leaf(crt: Path, key_path: Path, subject: x509.Name, ca_crt: Path, ca_key: Path, *,
          usages: list, sans: list | None = None) -> None:
    issuer_key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    issuer = x509.load_pem_x509_certificate(ca_crt.read_bytes()).subject
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(subject, key, issuer, issuer_key, ca=False, usages=usages, sans=sans)
    _write_key(key_path, key)
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_pki(directory: Path, *, service_ip: str, extension_names: tuple[str, ...] = ()) -> Pki:
    """Create whatever of the files above is missing in ``directory``; ``service_ip`` is the
    ``kubernetes`` Service's cluster IP (the first address of the service CIDR), which the
    serving certificate names too; ``extension_names`` are the DNS names the extension API
    server's certificate names (it is made again when they change). Returns their paths."""
    pki = Pki(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not pki.ca_crt.exists():
        _ca(pki.ca_crt, pki.ca_key, "parley-local-k8s-ca")
        for stale in ("apiserver", "admin", "extension"):  # signed by a previous CA
            (directory / f"{stale}.crt").unlink(missing_ok=True)
    if not pki.apiserver_crt.exists():
        sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address(service_ip)),
                *(x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default",
                                            "kubernetes.default.svc",
                                            "kubernetes.default.svc.cluster.local"))]
        _leaf(pki.apiserver_crt, pki.apiserver_key, _name("kube-apiserver"), pki.ca_crt,
              pki.ca_key, usages=[ExtendedKeyUsageOID.SERVER_AUTH], sans=sans)
    if not pki.admin_crt.exists():
        _leaf(pki.admin_crt, pki.admin_key, _name("parley-admin", "system:masters"), pki.ca_crt,
              pki.ca_key, usages=[ExtendedKeyUsageOID.CLIENT_AUTH])
    if not pki.sa_key.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pki.sa_pub.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        _write_key(pki.sa_key, key)
    if not pki.front_proxy_ca_crt.exists():
        _ca(pki.front_proxy_ca_crt, pki.front_proxy_ca_key, "parley-local-front-proxy-ca")
        pki.front_proxy_client_crt.unlink(missing_ok=True)
    if not pki.front_proxy_client_crt.exists():
        _leaf(pki.front_proxy_client_crt, pki.front_proxy_client_key, _name(FRONT_PROXY_CLIENT),
              pki.front_proxy_ca_crt, pki.front_proxy_ca_key,
              usages=[ExtendedKeyUsageOID.CLIENT_AUTH])
    if extension_names and _names_of(pki.extension_crt) != set(extension_names):
        _leaf(pki.extension_crt, pki.extension_key, _name("parley-extension-apiserver"),
              pki.ca_crt, pki.ca_key, usages=[ExtendedKeyUsageOID.SERVER_AUTH],
              sans=[x509.DNSName(name) for name in extension_names])
    return pki


def _names_of(crt: Path) -> set[str]:
    """The DNS names a certificate names (empty when the file does not exist)."""
    if not crt.exists():
        return set()
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(sans.get_values_for_type(x509.DNSName))
