"""Test certificates made with the `openssl` command: a CA, a broker's and a client's."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ServerStartError
from harness.process import find_binary

DAYS = 2


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate and its private key, as PEM files."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA of the test's own, which signs the broker's and the clients' certificates."""

    cert_file: Path
    key_file: Path
    workdir: Path

    def server(self, name: str = "broker") -> Certificate:
        """A broker certificate for 127.0.0.1 and localhost."""
        return self._issue(name, "subjectAltName=IP:127.0.0.1,DNS:localhost")

    def client(self, name: str = "client") -> Certificate:
        """A client certificate whose common name is `name`."""
        return self._issue(name, "extendedKeyUsage=clientAuth")

    def _issue(self, name: str, extension: str) -> Certificate:
        key = self.workdir / f"{name}.key"
        request = self.workdir / f"{name}.csr"
        cert = self.workdir / f"{name}.crt"
        extensions = self.workdir / f"{name}.ext"
        extensions.write_text(extension + "\n")
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                 "-subj", f"/CN={name}", "-out", str(request))  # fmt: skip
        _openssl("x509", "-req", "-in", str(request), "-CA", str(self.cert_file),
                 "-CAkey", str(self.key_file), "-CAcreateserial", "-days", str(DAYS),
                 "-sha256", "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
        return Certificate(cert, key)


def make_ca(workdir: Path, name: str = "officina-test-ca") -> CertificateAuthority:
    """A new self-signed CA in workdir (created if missing)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key = workdir / f"{name}.crt", workdir / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", str(DAYS), "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    return CertificateAuthority(cert, key, workdir)


def _openssl(*args: str) -> None:
    tool = find_binary("openssl", package="openssl")
    done = subprocess.run(
        [str(tool), *args], capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise ServerStartError(f"openssl {args[0]} failed: {done.stderr.strip()}")
