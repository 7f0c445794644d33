"""A TLS-only Mosquitto for tests, with its own self-signed certificate (its own CA)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bldgwatch.core.config import MqttSettings
from bldgwatch.servers import _port_open, find_binary, free_port
from tests.tools import unavailable
from tests.waiting import wait_for


def self_signed(home: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, written to `home`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bldgwatch test broker")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = home / "broker.crt", home / "broker.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def start_tls_broker(home: Path) -> Iterator[MqttSettings]:
    """A Mosquitto with a TLS listener only (production's transport), on a free port."""
    binary = find_binary("mosquitto")
    if binary is None:
        unavailable("mosquitto not found")
    cert, key = self_signed(home)
    port = free_port()
    conf = home / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"certfile {cert}\nkeyfile {key}\n" + ("user root\n" if os.geteuid() == 0 else "")
        # As root, Mosquitto would otherwise drop to a user that cannot read the key here.
    )
    with (home / "mosquitto.log").open("wb") as log:
        proc = subprocess.Popen([str(binary), "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_for(lambda: _port_open(port), timeout=15, what="TLS broker listening")
        yield MqttSettings(port=port, tls=True, ca_file=cert)
    finally:
        proc.terminate()
        proc.wait(15)
