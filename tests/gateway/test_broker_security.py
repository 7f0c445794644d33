"""deploy/mosquitto/production.conf + acl on a real Mosquitto (free ports, certificates and
password file made here): anonymous clients are refused, gateway A cannot publish on
gateway B's topics, and the gateway runs over TLS with its own credentials."""

from __future__ import annotations

import getpass
import re
import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bldgwatch.core import topics
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.servers import DEPLOY_DIR, free_port
from tests.gateway.harness import (
    Collector,
    ModbusUnits,
    in_process_config,
    load_devices,
    serving,
    write_load_profile,
)
from tests.tools import require_binary
from tests.waiting import wait_for

# A gateway's account is {site}/{gateway} (deploy/mosquitto/README.md); `operator` watches.
PASSWORDS = {"s1/gw-a": "secret-a", "s1/gw-b": "secret-b", "operator": "secret-o"}


@dataclass
class Broker:
    plain_port: int
    tls_port: int
    ca_file: Path

    def settings(self, user: str | None, *, tls: bool = True) -> MqttSettings:
        return MqttSettings(
            host="127.0.0.1",
            port=self.tls_port if tls else self.plain_port,
            tls=tls,
            ca_file=self.ca_file if tls else None,
            username=user,
            password=PASSWORDS.get(user or ""),
        )


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(folder: Path) -> None:
    """A private CA and a server certificate for 127.0.0.1 (what a site would do once)."""
    folder.mkdir(parents=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=bldgwatch test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=folder,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=folder,
    )
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
        cwd=folder,
    )


DEBIAN_MAIN = """\
persistence true
persistence_location {folder}/data/
log_dest stderr
include_dir {folder}/conf.d
"""
"""Debian 12's /etc/mosquitto/mosquitto.conf (its paths in the test's folder, no pid file):
production.conf is a drop-in of its conf.d, and Mosquitto refuses a setting given twice."""


def render_config(folder: Path, plain_port: int, tls_port: int) -> Path:
    """production.conf in a Debian-like main file's conf.d, with this test's ports and paths
    (and the current user)."""
    text = (DEPLOY_DIR / "mosquitto" / "production.conf").read_text()
    text = text.replace("/etc/mosquitto/bldgwatch/", f"{folder}/")
    text = re.sub(
        r"^listener 1883 127\.0\.0\.1$", f"listener {plain_port} 127.0.0.1", text, flags=re.M
    )
    text = re.sub(r"^listener 8883$", f"listener {tls_port} 127.0.0.1", text, flags=re.M)
    text = text.replace("log_dest syslog", "log_dest stderr")
    assert str(plain_port) in text and str(tls_port) in text
    (folder / "conf.d").mkdir()
    (folder / "conf.d" / "bldgwatch.conf").write_text(text)
    conf = folder / "mosquitto.conf"
    conf.write_text(DEBIAN_MAIN.format(folder=folder) + f"user {getpass.getuser()}\n")
    return conf


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    require_binary("mosquitto_passwd", "openssl")
    folder = tmp_path / "etc"
    make_certs(folder / "certs")
    (folder / "data").mkdir()
    shutil.copy(DEPLOY_DIR / "mosquitto" / "acl", folder / "acl")
    passwd = folder / "passwd"
    passwd.touch(mode=0o600)
    for user, password in PASSWORDS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True)
    plain, tls = free_port(), free_port()
    conf = render_config(folder, plain, tls)
    log = (tmp_path / "mosquitto.log").open("ab")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_for(
            lambda: proc.poll() is not None or (_port_open(plain) and _port_open(tls)),
            timeout=15,
            what="mosquitto listening",
        )
        assert proc.poll() is None, (tmp_path / "mosquitto.log").read_text()
        yield Broker(plain, tls, folder / "certs" / "ca.crt")
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def connect_reason(settings: MqttSettings) -> str:
    """The broker's answer to a CONNECT with these settings ("Success" or the refusal)."""
    result: list[str] = []
    done = threading.Event()
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:6]}", protocol=paho.MQTTv5
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        client.tls_set(ca_certs=str(settings.ca_file))

    def on_connect(_c: paho.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        result.append(str(reason))
        done.set()

    client.on_connect = on_connect
    client.connect(settings.host, settings.port)
    client.loop_start()
    try:
        assert done.wait(10), "no CONNACK"
    finally:
        client.loop_stop()
        client.disconnect()
    return result[0]


def test_anonymous_and_wrong_passwords_are_refused(broker: Broker) -> None:
    assert connect_reason(broker.settings(None, tls=False)) == "Not authorized"
    assert connect_reason(broker.settings(None)) == "Not authorized"
    wrong = broker.settings("s1/gw-a").model_copy(update={"password": "guess"})
    assert connect_reason(wrong) in {"Bad user name or password", "Not authorized"}
    assert connect_reason(broker.settings("s1/gw-a")) == "Success"


def test_gateway_a_cannot_publish_on_gateway_b_topics(broker: Broker) -> None:
    watcher = Collector(broker.settings("operator", tls=False), "s1", "gw-b")
    own = Collector(broker.settings("operator", tls=False), "s1", "gw-a")
    a = MqttClient(broker.settings("s1/gw-a"), client_id="gw-a-test")
    a.start()
    try:
        assert a.wait_connected(10)
        forged = a.publish(topics.gateway_status("s1", "gw-b"), b'{"state":"online"}', qos=1)
        a.publish(topics.readings("s1", "gw-b"), b"{}", qos=1)
        a.publish(topics.alarms("s1", "P-01"), b"{}", qos=1)
        a.publish(topics.gateway_status("s1", "gw-a"), b'{"state":"online"}', qos=1)
        forged.wait_for_publish(10)
        wait_for(lambda: own.status, timeout=10, what="gw-a's own status")  # its own: allowed
        # Same connection, published earlier: had the forged ones passed, they would be here.
        assert watcher.status is None and not watcher.batches
    finally:
        a.stop()
        watcher.close()
        own.close()


@pytest.mark.timeout(60)
def test_gateway_connects_with_tls_and_its_credentials(tmp_path: Path, broker: Broker) -> None:
    units = ModbusUnits(1)
    profile = write_load_profile(tmp_path / "profiles")
    cfg = in_process_config(
        tmp_path,
        broker.settings("s1/gw-a"),
        "gw-a",
        site="s1",
        profiles_dir=str(tmp_path / "profiles"),
        devices=load_devices(1, units.port, profile, 0.2),
    )
    collector = Collector(broker.settings("operator"), "s1", "gw-a")
    try:
        with serving(cfg) as gateway:
            wait_for(lambda: len(collector.key_counts()) > 200, timeout=30, what="readings via TLS")
            wait_for(
                lambda: (collector.status or {}).get("state") == "online",
                timeout=10,
                what="the retained status",
            )
    finally:
        units.close()
        collector.close()
    assert gateway.client.connected.is_set() is False
