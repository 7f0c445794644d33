"""Channel secrets: the key (environment or a 0600 file), sealing, references, and the log
filter that keeps secrets out of every log line."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bldgwatch.alerts.channels import SendContext
from bldgwatch.alerts.channels.robots import DingTalkRobot, DingTalkSettings
from bldgwatch.alerts.config import KEY_ENV
from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.errors import DeliveryError, KeyMissingError, SecretError
from bldgwatch.alerts.render import Notice
from bldgwatch.alerts.secrets import (
    REDACTOR,
    SecretBox,
    check_reference,
    install_redactor,
    load_key,
    resolve,
    write_key_file,
)
from bldgwatch.core.clock import ManualClock


def test_the_key_comes_from_the_environment_first(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    assert load_key(None, {KEY_ENV: key.decode()}) == key
    assert load_key(None, {}) is None
    with pytest.raises(KeyMissingError, match="not a Fernet key"):
        load_key(None, {KEY_ENV: "short"})


def test_a_key_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "alerts.key"
    write_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Fernet(load_key(path, {}) or b"")
    path.chmod(0o644)
    with pytest.raises(KeyMissingError, match="readable by others"):
        load_key(path, {})
    with pytest.raises(FileExistsError):
        write_key_file(path)
    with pytest.raises(KeyMissingError, match="cannot read"):
        load_key(tmp_path / "missing.key", {})


def test_sealed_secrets_open_only_with_their_key() -> None:
    box = SecretBox(Fernet.generate_key())
    sealed = box.seal({"access_token": "tok-123456"})
    assert "tok-123456" not in sealed
    assert box.open(sealed) == {"access_token": "tok-123456"}
    with pytest.raises(SecretError, match="do not open"):
        SecretBox(Fernet.generate_key()).open(sealed)


@pytest.mark.parametrize(
    "ref", ["env:HOME", "env:BLDGWATCH_SECRET", "file:../etc/passwd", "file:/etc/shadow"]
)
def test_references_outside_the_allowed_places_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="reference"):
        check_reference(ref)
    with pytest.raises(SecretError):
        resolve(ref, environ={"HOME": "/root", "BLDGWATCH_SECRET": "x"}, secrets_dir=Path("/"))


def test_references_resolve(tmp_path: Path) -> None:
    (tmp_path / "wecom.key").write_text("k-from-file\n")
    env = {"BLDGWATCH_ALERTS_DING": "k-from-env"}
    assert resolve("env:BLDGWATCH_ALERTS_DING", environ=env, secrets_dir=None) == "k-from-env"
    assert resolve("file:wecom.key", environ={}, secrets_dir=tmp_path) == "k-from-file"
    assert resolve("plain", environ={}, secrets_dir=None) == "plain"
    with pytest.raises(SecretError, match="not set"):
        resolve("env:BLDGWATCH_ALERTS_NONE", environ={}, secrets_dir=None)


def test_no_secret_reaches_the_log(tmp_path: Path) -> None:
    """A channel that fails logs what went wrong; its token and signing secret never appear."""
    log_file = tmp_path / "service.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    install_redactor(root)
    try:
        token, signing = "AT-9f8e7d6c5b4a", "SEC0123456789abcdef"
        ctx = SendContext(httpx.Client(), timeout_s=0.5, clock=ManualClock())
        robot = DingTalkRobot(
            "ding",
            DingTalkSettings(url="http://127.0.0.1:9/robot/send"),  # nothing listens: an error
            {"access_token": token, "sign_secret": signing},
            ctx,
        )
        notice = Notice("en", "s", "t", {}, ("a1",))
        with pytest.raises(DeliveryError) as caught:
            robot.send(notice, Contact(id="c", name="C"))
        logger = logging.getLogger("bldgwatch.alerts.test")
        logger.error("robot failed: %s for %s", caught.value, f"http://x/send?access_token={token}")
        logger.warning("raw secret %s", signing)
        try:
            raise RuntimeError(f"boom with {token}")
        except RuntimeError:
            logger.exception("with a traceback")
        handler.flush()
        text = log_file.read_text()
        assert "robot failed" in text and "access_token=***" in text
        assert "raw secret ***" in text and "boom with ***" in text
        assert token not in text and signing not in text
    finally:
        root.removeHandler(handler)
        handler.close()
        handler.removeFilter(REDACTOR)
