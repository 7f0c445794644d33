"""deploy/k8s, validated (no cluster here): every manifest against Kubernetes' own JSON schemas
(kubernetes-validate, strict: unknown fields are errors), the kustomization's resources
present, and our rules: every container has resource requests and limits, runs as non-root on
a read-only root file system with every capability dropped; every long-running container has
probes; the rules shards the pods pass match the replicas; what scales has a disruption
budget; no secret value in the manifests the kustomization applies."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.config import load_config
from bldgwatch.install import SERVICES, Plan, install

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VERSION = "1.30.0"
NO_PROBES = {
    "alerts": "serves no HTTP: its config has no metrics port",
    "gateway-keys": "an init container (copies the console's keys; probes are not allowed)",
}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def applied() -> list[dict[str, Any]]:
    """What `kubectl apply -k deploy/k8s` sends (before kustomize's namespace and labels)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    return [doc for name in kustomization["resources"] for doc in documents(K8S / name)]


def manifests() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def container_problems(where: str, c: dict[str, Any], pod_sc: dict[str, Any]) -> list[str]:
    """One container: hardened, bounded."""
    found: list[str] = []
    sc = c.get("securityContext", {})
    if sc.get("readOnlyRootFilesystem") is not True:
        found.append(f"{where}: root file system writable")
    if sc.get("allowPrivilegeEscalation") is not False:
        found.append(f"{where}: privilege escalation allowed")
    if sc.get("capabilities", {}).get("drop") != ["ALL"]:
        found.append(f"{where}: capabilities not all dropped")
    if sc.get("runAsUser", pod_sc.get("runAsUser")) in (None, 0):
        found.append(f"{where}: no non-root runAsUser")
    resources = c.get("resources", {})
    for part in ("requests", "limits"):
        if not {"cpu", "memory"} <= set(resources.get(part, {})):
            found.append(f"{where}: no cpu and memory {part}")
    return found


def workload_problems(doc: dict[str, Any], budgets: list[dict[str, Any]]) -> list[str]:
    """One Deployment, StatefulSet or Job."""
    kind, name = doc["kind"], doc["metadata"]["name"]
    pod = doc["spec"]["template"]["spec"]
    pod_sc = pod.get("securityContext", {})
    found: list[str] = []
    if pod_sc.get("runAsNonRoot") is not True:
        found.append(f"{kind} {name}: runAsNonRoot is not set")
    for c in pod.get("initContainers", []) + pod["containers"]:
        found += container_problems(f"{kind} {name}/{c['name']}", c, pod_sc)
        if kind != "Job" and c["name"] not in NO_PROBES:
            found += [
                f"{kind} {name}/{c['name']}: no {probe}"
                for probe in ("livenessProbe", "readinessProbe")
                if probe not in c
            ]
    replicas = doc["spec"].get("replicas", 1)
    labels = doc["spec"]["template"]["metadata"]["labels"]
    if (
        kind != "Job"
        and replicas > 1
        and not any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets)
    ):
        found.append(f"{kind} {name}: {replicas} replicas and no PodDisruptionBudget")
    return found


def problems(docs: list[dict[str, Any]]) -> list[str]:
    """Where `docs` break our rules."""
    found: list[str] = []
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    for doc in docs:
        if doc["kind"] == "Secret":
            found.append(f"Secret {doc['metadata']['name']}: secret values belong outside git")
        if doc["kind"] in WORKLOADS:
            found += workload_problems(doc, budgets)
    return found


def container(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for doc in docs:
        if doc["kind"] in WORKLOADS and doc["metadata"]["name"] == name:
            found: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]
            return found
    raise AssertionError(f"no workload {name}")


@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_kubernetes_schemas_accept_it(path: Path) -> None:
    for doc in documents(path):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_kubernetes_schemas_refuse_a_broken_manifest() -> None:
    doc = copy.deepcopy(documents(K8S / "console.yaml")[1])
    doc["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(doc, VERSION, strict=True)
    doc = copy.deepcopy(documents(K8S / "console.yaml")[1])
    doc["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_kustomization_names_every_manifest_but_the_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in manifests() if p.name != "secrets.example.yaml"
    )


def test_our_rules_hold() -> None:
    assert problems(applied()) == []


def test_every_service_has_a_workload_on_the_image() -> None:
    docs = applied()
    for service in SERVICES:
        c = container(docs, service)
        assert c["image"] == "bldgwatch"
        assert service in " ".join(c.get("command", []) + c.get("args", []))
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["BLDGWATCH_CONFIG"] == f"/srv/bldgwatch/config/{service}.yaml"


def test_rules_shards_match_replicas() -> None:
    docs = applied()
    rules = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "rules")
    env = {e["name"]: e.get("value") for e in container(docs, "rules")["env"]}
    assert int(env["RULES_SHARDS"]) == rules["spec"]["replicas"]
    assert '--shard "${HOSTNAME##*-}/${RULES_SHARDS}"' in container(docs, "rules")["args"][0]


def test_ingest_replicas_split_one_shared_subscription() -> None:
    command = container(applied(), "ingest")["command"]
    assert "shared_subscription=true" in command
    assert "instance={pod}" in command


def test_the_example_secrets_hold_placeholders_only() -> None:
    for doc in documents(K8S / "secrets.example.yaml"):
        values = doc.get("stringData") or doc.get("data") or {}
        assert values and all(str(v).startswith("REPLACE_WITH_") for v in values.values())


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda c, p: c["securityContext"].pop("readOnlyRootFilesystem"), "writable"),
        (lambda c, p: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]), "dropped"),
        (lambda c, p: c["securityContext"].update(allowPrivilegeEscalation=True), "escalation"),
        (lambda c, p: p["securityContext"].pop("runAsNonRoot"), "runAsNonRoot"),
        (lambda c, p: c["resources"].pop("limits"), "limits"),
        (lambda c, p: c["resources"]["requests"].pop("memory"), "requests"),
        (lambda c, p: c.pop("readinessProbe"), "no readinessProbe"),
    ],
)
def test_each_rule_catches_what_breaks_it(change: Any, complaint: str) -> None:
    docs = copy.deepcopy(applied())
    console = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "console"
    )
    pod = console["spec"]["template"]["spec"]
    change(pod["containers"][0], pod)
    assert any(complaint in line for line in problems(docs)), problems(docs)


def test_a_scaled_workload_without_a_budget_is_caught() -> None:
    docs = [
        d
        for d in applied()
        if not (d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"] == "ingest")
    ]
    assert any("ingest: 2 replicas and no PodDisruptionBudget" in p for p in problems(docs))


def test_a_secret_in_the_applied_manifests_is_caught() -> None:
    docs = [*applied(), *documents(K8S / "secrets.example.yaml")]
    assert any("Secret bldgwatch-env" in p for p in problems(docs))


def test_every_path_the_consoles_config_names_is_mounted(tmp_path: Path) -> None:
    """The console's config as README step 1 makes it (`install --root /srv/bldgwatch`)
    names the site files, the attachments and the gateways' keys folder: each is in a volume
    of the console's pod (the keys were not: every push answered 503)."""
    site = tmp_path / "my-site.yaml"
    site.write_text((ROOT / "deploy" / "site" / "sample-site.yaml").read_text(encoding="utf-8"))
    root = tmp_path / "srv"
    install(Plan(site_files=[site], root=root, users=False, gateways=["my-site/gw-1"]))
    cfg = load_config(root / "etc" / "bldgwatch" / "console.yaml", ConsoleConfig)
    pod = Path("/srv/bldgwatch")
    console = container(applied(), "console")
    mounts = [Path(m["mountPath"]) for m in console["volumeMounts"]]
    assert cfg.gateway_keys_dir is not None
    named = [cfg.gateway_keys_dir, cfg.attachments.folder, *cfg.site_files]
    for path in named:
        in_pod = pod / path.relative_to(root)
        assert any(in_pod.is_relative_to(m) for m in mounts), f"{in_pod} is in no volume"
    deployment = next(d for d in applied() if d["metadata"]["name"] == "console")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    items = volumes["gateway-keys-in"]["secret"]["items"]
    key = cfg.gateway_keys_dir / "my-site" / "gw-1.key"
    assert key.exists() and {"key": "my-site.gw-1.key", "path": "my-site/gw-1.key"} in items
