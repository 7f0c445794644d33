"""Identity on the broker (issue 12, point 3) on the demo's Mosquitto: every component has its
own account, anonymous clients are refused, a gateway writes only its own topics, only rules
may publish alarm events and only maintenance work-order events; the console publishes
nothing on them. The password file holds hashes, every file is private, the data folder
belongs to the user Mosquitto runs as, and deploy/mosquitto/acl is the generated ACL."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bldgwatch.broker_auth import (
    SERVICES,
    BrokerFolderError,
    GatewayGrant,
    _hand_to_broker_user,
    ensure_broker_auth,
    render_acl,
)
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.demo_setup import DEMO_GATEWAYS
from bldgwatch.servers import BROKER_USER, DEPLOY_DIR, Server, ServerError, find_binary
from tests.gateway.test_broker_security import connect_reason

pytestmark = pytest.mark.services

ACCEPTED, NOT_AUTHORIZED = 0, 0x87


class Account:
    """One connection as one account, recording each PUBACK's reason code."""

    def __init__(self, broker: Server, username: str) -> None:
        assert broker.auth is not None
        self.settings = broker.auth.settings(MqttSettings(port=broker.port), username)
        self.results: dict[int, int] = {}
        self._done = threading.Condition()
        self.client = MqttClient(
            self.settings, client_id=f"t-{uuid.uuid4().hex[:8]}", on_publish=self._on_publish
        )
        self.client.start()
        assert self.client.wait_connected(10)

    def _on_publish(self, mid: int, reason: int) -> None:
        with self._done:
            self.results[mid] = reason
            self._done.notify_all()

    def publish(self, topic: str) -> int:
        """The broker's answer to one QoS 1 message on `topic`: ACCEPTED (0, or 0x10 when
        nobody subscribes) or its refusal code."""
        mid = self.client.publish(topic, b"{}", qos=1).mid
        with self._done:
            assert self._done.wait_for(lambda: mid in self.results, timeout=10), topic
            reason = self.results[mid]
        return ACCEPTED if reason < 0x80 else reason


@pytest.fixture
def accounts(demo_broker: Server) -> Iterator[dict[str, Account]]:
    names = ["demo/gw-1", "rules", "maintenance", "alerts", "console", "ingest"]
    made = {name: Account(demo_broker, name) for name in names}
    yield made
    for account in made.values():
        account.client.stop()


def test_anonymous_clients_and_wrong_passwords_are_refused(demo_broker: Server) -> None:
    anonymous = MqttSettings(port=demo_broker.port)
    assert connect_reason(anonymous) == "Not authorized"
    wrong = anonymous.model_copy(update={"username": "rules", "password": "guess"})
    assert connect_reason(wrong) in {"Bad user name or password", "Not authorized"}


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("bw/v1/demo/gw-1/readings", ACCEPTED),
        ("bw/v1/demo/gw-1/status", ACCEPTED),
        ("bw/v1/demo/gw-1/deadletter", ACCEPTED),
        ("bw/v1/demo/gw-evil/readings", NOT_AUTHORIZED),  # another gateway of its site
        ("bw/v1/other/gw-1/readings", NOT_AUTHORIZED),  # its id under another site
        ("bw/v1/demo/alarms/E-01", NOT_AUTHORIZED),
        ("bw/v1/demo/workorders/E-01", NOT_AUTHORIZED),
        ("bw/v1/demo/gw-1/readings/x", NOT_AUTHORIZED),
        ("bw/v1/_sim/demo/control", NOT_AUTHORIZED),
        ("bw/v1/_svc/rules/rules-1/status", NOT_AUTHORIZED),
    ],
)
def test_a_gateway_writes_only_under_its_own_site_and_id(
    accounts: dict[str, Account], topic: str, expected: int
) -> None:
    assert accounts["demo/gw-1"].publish(topic) == expected


@pytest.mark.parametrize(
    ("account", "alarms", "work_orders"),
    [
        ("rules", ACCEPTED, NOT_AUTHORIZED),
        ("maintenance", NOT_AUTHORIZED, ACCEPTED),
        ("alerts", NOT_AUTHORIZED, NOT_AUTHORIZED),
        ("console", NOT_AUTHORIZED, NOT_AUTHORIZED),
        ("ingest", NOT_AUTHORIZED, NOT_AUTHORIZED),
        ("demo/gw-1", NOT_AUTHORIZED, NOT_AUTHORIZED),
    ],
)
def test_alarm_events_only_from_rules_and_work_order_events_only_from_maintenance(
    accounts: dict[str, Account], account: str, alarms: int, work_orders: int
) -> None:
    assert accounts[account].publish("bw/v1/ghost/alarms/NOPE") == alarms
    assert accounts[account].publish("bw/v1/demo/workorders/P-01") == work_orders


def test_the_console_publishes_nothing_it_listens_to(accounts: dict[str, Account]) -> None:
    console = accounts["console"]
    for topic in ("bw/v1/demo/alarms/P-01", "bw/v1/demo/workorders/P-01", "bw/v1/demo/gw-1/status"):
        assert console.publish(topic) == NOT_AUTHORIZED, topic
    assert console.publish("bw/v1/demo/deadletter/console") == ACCEPTED


def test_alerts_writes_only_its_dead_letters_and_status(accounts: dict[str, Account]) -> None:
    alerts = accounts["alerts"]
    assert alerts.publish("bw/v1/demo/deadletter/alerts") == ACCEPTED
    assert alerts.publish("bw/v1/_svc/alerts/alerts-1/status") == ACCEPTED
    for topic in ("bw/v1/demo/deadletter/maintenance", "bw/v1/_svc/rules/rules-1/status"):
        assert alerts.publish(topic) == NOT_AUTHORIZED, topic


class Reader:
    """One connection as one account, subscribed to some filters, collecting what arrives."""

    def __init__(self, broker: Server, username: str, *filters: str) -> None:
        assert broker.auth is not None
        settings = broker.auth.settings(MqttSettings(port=broker.port), username)
        self.got: list[str] = []
        self._arrived = threading.Condition()
        self.client = MqttClient(settings, client_id=f"r-{uuid.uuid4().hex[:8]}")
        for topic_filter in filters:
            self.client.subscribe(topic_filter, self._on_message)
        self.client.start()
        assert self.client.wait_subscribed(10)

    def _on_message(self, msg: Any) -> None:
        with self._arrived:
            self.got.append(msg.topic)
            self._arrived.notify_all()

    def wait_for(self, topic: str, timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: topic in self.got, timeout=timeout)


def test_a_gateway_reads_every_sensor_topic_of_its_site_and_none_of_another(
    demo_broker: Server,
) -> None:
    """Review 21c M5: the ACL granted a gateway only the sensor topics fixed when its account
    was made (the demo: TS-01; `bldgwatch install`: none), so a sensor added by a push was
    subscribed (Mosquitto grants the SUBSCRIBE) and never delivered. A gateway now reads its
    site's sensor family `sensors/{site}/#`, and nothing of another site's."""
    sensor = f"TS-{uuid.uuid4().hex[:6]}"  # in no account's list: a sensor added by a push
    ours, theirs = f"sensors/demo/{sensor}", f"sensors/other/{sensor}"
    gateway = Reader(demo_broker, "demo/gw-1", ours, theirs)
    simulate = Account(demo_broker, "simulate")
    try:
        # the other site's message first: the broker delivers one publisher's messages to a
        # subscriber in order, so when ours has arrived, theirs would have arrived before it
        assert simulate.publish(theirs) == ACCEPTED
        assert simulate.publish(ours) == ACCEPTED
        assert gateway.wait_for(ours, timeout=10)
        assert gateway.got == [ours]
    finally:
        gateway.client.stop()
        simulate.client.stop()
    assert demo_broker.auth is not None
    acl = demo_broker.auth.acl_file.read_text()
    assert "user demo/gw-1\ntopic read sensors/demo/#\n" in acl


def test_files_are_private_and_the_password_file_holds_only_hashes(demo_broker: Server) -> None:
    auth = demo_broker.auth
    assert auth is not None
    for path in (auth.password_file, auth.acl_file, auth.folder / "credentials.yaml"):
        assert path.stat().st_mode & 0o077 == 0, path
    hashed = auth.password_file.read_text()
    assert set(auth.passwords) == {*SERVICES, *(g.username for g in DEMO_GATEWAYS)}
    for password in auth.passwords.values():
        assert password not in hashed
        assert password not in demo_broker.log_path.read_text()
    assert all(line.split(":", 1)[1].startswith("$7$") for line in hashed.splitlines())


@pytest.mark.skipif(os.geteuid() != 0, reason="the ownership question arises only as root")
def test_the_data_folder_belongs_to_the_user_mosquitto_runs_as(demo_broker: Server) -> None:
    home = demo_broker.data_dir
    assert home.owner() == BROKER_USER
    assert (home / "mosquitto.conf").read_text().count(f"user {BROKER_USER}") == 1
    assert "Permission denied" not in demo_broker.log_path.read_text()


def test_the_deployed_acl_is_the_generated_one() -> None:
    assert (DEPLOY_DIR / "mosquitto" / "acl").read_text() == render_acl(), (
        "deploy/mosquitto/acl is stale: write bldgwatch.broker_auth.render_acl() to it"
    )


def test_accounts_survive_a_restart_of_the_demo(tmp_path: Path) -> None:
    first = ensure_broker_auth(tmp_path / "b", DEMO_GATEWAYS)
    again = ensure_broker_auth(tmp_path / "b", DEMO_GATEWAYS)
    assert first.passwords == again.passwords  # the component configs keep working


def test_without_mosquitto_passwd_the_package_to_install_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 21b L7: the message named mosquitto-clients; on Debian mosquitto_passwd is in
    the mosquitto package. No plain password file is left behind."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    if find_binary("mosquitto_passwd") is not None:  # in /usr/sbin or /sbin on this machine
        pytest.skip("mosquitto_passwd is in an sbin folder here")
    with pytest.raises(ServerError, match=r"apt-get install mosquitto \("):
        ensure_broker_auth(tmp_path / "auth", [])
    assert not (tmp_path / "auth" / "passwd").exists()


def test_without_a_mosquitto_user_the_files_stay_roots(tmp_path: Path) -> None:
    """Review 21b L7: where the broker runs elsewhere there is no `mosquitto` user: handing
    the files over raised LookupError; now they stay root's (0600)."""
    auth = ensure_broker_auth(tmp_path / "auth", [])
    if os.geteuid() == 0:  # this machine has the user: as a machine without it would leave them
        for path in (auth.password_file, auth.acl_file):
            os.chown(path, 0, 0)
    _hand_to_broker_user(auth, user="bw-no-such-user")
    for path in (auth.password_file, auth.acl_file):
        assert path.stat().st_mode & 0o777 == 0o600
        if os.geteuid() == 0:
            assert path.stat().st_uid == 0


def test_a_rerun_without_a_gateway_keeps_its_sensor_reads(tmp_path: Path) -> None:
    """With the sensor reads of review 21c M5 each gateway has a `user` block; an upgrade
    runs `bldgwatch install` without the earlier --gateway options: the ACL is written
    afresh and must still give every account made before its site's sensors."""
    ensure_broker_auth(tmp_path / "b", [GatewayGrant("demo", "gw-1"), GatewayGrant("n", "gw-7")])
    again = ensure_broker_auth(tmp_path / "b", [GatewayGrant("demo", "gw-2")])
    acl = again.acl_file.read_text()
    for user, family in (("demo/gw-1", "demo"), ("n/gw-7", "n"), ("demo/gw-2", "demo")):
        assert f"user {user}\ntopic read sensors/{family}/#\n" in acl, acl


@pytest.mark.parametrize("name", ["passwd", "acl", "credentials.yaml"])
def test_a_folder_where_a_broker_file_goes_is_named_with_what_to_do(
    tmp_path: Path, name: str
) -> None:
    """Review 21f L-c: a folder planted where `passwd` goes stopped install with a bare
    "[Errno 21] Is a directory: '.passwd.16e2230d6990.tmp' -> 'passwd'". Now the error names
    the path, what stands there and what to do; nothing is written through it."""
    folder = tmp_path / "b"
    ensure_broker_auth(folder, [])
    target = folder / name
    target.unlink()
    (target / "sub").mkdir(parents=True)
    with pytest.raises(BrokerFolderError) as caught:
        ensure_broker_auth(folder, [])
    said = str(caught.value)
    assert f"{target} is a folder, not a file" in said and "remove it" in said, said
    assert ".tmp" not in said and "Errno" not in said, said
    assert list((target / "sub").iterdir()) == []
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_fifo_where_credentials_go_is_not_called_a_link(tmp_path: Path) -> None:
    """Review 21f L-c: a FIFO planted as credentials.yaml was "replaced … with a link"."""
    folder = tmp_path / "b"
    ensure_broker_auth(folder, [])
    store = folder / "credentials.yaml"
    store.unlink()
    os.mkfifo(store)
    with pytest.raises(BrokerFolderError) as caught:
        ensure_broker_auth(folder, [])
    said = str(caught.value)
    assert f"{store} is a FIFO (named pipe), not a file" in said, said
    assert "with something that is not a file" in said and "with a link" not in said, said
