"""The deployment files are well-formed: Kubernetes manifests against the API schemas, offline.

Pure file checks (no database, no broker). Kubernetes manifests are validated with
`kubernetes-validate` (JSON schemas bundled in the package, strict: unknown fields are errors)
against `K8S_VERSION`; the kustomization and docker-compose.yml have no bundled schema, so their
structure and cross-references are checked here.
"""

from __future__ import annotations

import copy
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import ValidationError, all_versions

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE_FILE = ROOT / "docker-compose.yml"
# The newest Kubernetes release whose schemas kubernetes-validate 1.37 ships.
K8S_VERSION = "1.37"
# Files under deploy/k8s that are deliberately not in the kustomization (and why).
NOT_IN_KUSTOMIZATION = {
    "kustomization.yaml": "the kustomization itself",
    "base/secrets.example.yaml": "example Secrets, created out of band (deploy/README.md)",
}
DATABASE_SERVICES = ["customer-svc", "valuation-svc", "complaint-svc", "survey-svc"]
ALL_SERVICES = [*DATABASE_SERVICES, "gateway"]


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def _kustomization() -> dict[str, Any]:
    (document,) = _documents(K8S / "kustomization.yaml")
    return document


def _resources() -> list[dict[str, Any]]:
    """Every object the kustomization renders (without the Secrets it expects to exist)."""
    return [doc for rel in _kustomization()["resources"] for doc in _documents(K8S / rel)]


def _of_kind(kind: str, resources: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [doc for doc in (resources or _resources()) if doc["kind"] == kind]


def _pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in _resources():
        if doc["kind"] in {"Deployment", "Job"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# ---------------------------------------------------------------------------
# Kubernetes schemas
# ---------------------------------------------------------------------------


def test_the_chosen_kubernetes_version_is_the_newest_bundled() -> None:
    newest = max(all_versions(), key=lambda v: tuple(int(p) for p in v.split(".")))
    assert newest.rsplit(".", 1)[0] == K8S_VERSION


@pytest.mark.parametrize(
    "path", _manifest_files(), ids=lambda p: str(p.relative_to(K8S)).removesuffix(".yaml")
)
def test_manifest_is_valid_for_kubernetes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("schema validation tried to use the network")

    # Proves the validation is offline: any connection attempt fails the test.
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    documents = _documents(path)

    assert documents, f"{path} holds no object"
    for document in documents:
        validated = kubernetes_validate.validate(document, K8S_VERSION, strict=True)
        assert validated == K8S_VERSION  # the 1.37 schemas, not an older fallback


def test_strict_validation_rejects_unknown_fields_and_wrong_types() -> None:
    (deployment,) = _documents(K8S / "complaint-svc" / "deployment.yaml")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["replica"] = 2
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8k"

    for broken in (misspelt, wrong_type):
        with pytest.raises(ValidationError):
            kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


# ---------------------------------------------------------------------------
# Kustomization
# ---------------------------------------------------------------------------


def test_kustomization_uses_known_fields() -> None:
    kustomization = _kustomization()

    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert set(kustomization) <= {
        "apiVersion",
        "kind",
        "namespace",
        "labels",
        "resources",
        "images",
    }
    for image in kustomization["images"]:
        assert set(image) <= {"name", "newName", "newTag", "digest"}, image
    for label in kustomization["labels"]:
        assert set(label) <= {"pairs", "includeSelectors", "includeTemplates"}, label


def test_kustomization_lists_existing_files_once() -> None:
    resources = _kustomization()["resources"]

    assert len(resources) == len(set(resources))
    assert [rel for rel in resources if not (K8S / rel).is_file()] == []
    assert not set(resources) & set(NOT_IN_KUSTOMIZATION)


def test_every_manifest_file_is_in_the_kustomization() -> None:
    files = {str(p.relative_to(K8S)) for p in K8S.rglob("*.y*ml")}
    listed = set(_kustomization()["resources"])

    assert set(NOT_IN_KUSTOMIZATION) <= files  # the exceptions are not stale
    assert files - listed == set(NOT_IN_KUSTOMIZATION)


def test_kustomization_namespace_is_the_namespace_it_creates() -> None:
    kustomization = _kustomization()
    (namespace,) = _of_kind("Namespace")

    assert kustomization["namespace"] == namespace["metadata"]["name"] == "retailcare"
    for doc in [*_resources(), *_documents(K8S / "base" / "secrets.example.yaml")]:
        assert doc["metadata"].get("namespace", "retailcare") == "retailcare", doc["metadata"]


def test_kustomization_images_are_exactly_the_images_used() -> None:
    used = {
        container["image"].rsplit(":", 1)[0]
        for _, pod in _pod_specs()
        for container in pod["containers"]
    }
    pinned = [image["name"] for image in _kustomization()["images"]]

    assert sorted(pinned) == sorted(used) == sorted(f"retailcare/{s}" for s in ALL_SERVICES)


# ---------------------------------------------------------------------------
# Cross-references between the Kubernetes objects
# ---------------------------------------------------------------------------


def test_each_service_has_its_full_set_of_objects() -> None:
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in _resources()}

    for service in ALL_SERVICES:
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            assert (kind, service) in names
    for service in DATABASE_SERVICES:
        assert ("Job", f"{service}-migrate") in names
    assert ("Job", "gateway-migrate") not in names


def test_deployment_selectors_match_their_pod_templates() -> None:
    for deployment in _of_kind("Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector
        assert _matches(selector, deployment["spec"]["template"]["metadata"]["labels"])


def test_services_select_a_deployment_and_target_a_named_container_port() -> None:
    deployments = _of_kind("Deployment")
    for service in _of_kind("Service"):
        selected = [
            d
            for d in deployments
            if _matches(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert [d["metadata"]["name"] for d in selected] == [service["metadata"]["name"]]
        port_names = {
            port["name"]
            for container in selected[0]["spec"]["template"]["spec"]["containers"]
            for port in container.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names


def test_autoscalers_and_disruption_budgets_point_at_deployments() -> None:
    deployments = {d["metadata"]["name"]: d for d in _of_kind("Deployment")}
    for hpa in _of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
        assert target["name"] in deployments
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # CPU utilisation is a share of the request: without one the HPA cannot scale.
        for container in deployments[target["name"]]["spec"]["template"]["spec"]["containers"]:
            assert container["resources"]["requests"]["cpu"]
    for pdb in _of_kind("PodDisruptionBudget"):
        selected = [
            name
            for name, d in deployments.items()
            if _matches(
                pdb["spec"]["selector"]["matchLabels"], d["spec"]["template"]["metadata"]["labels"]
            )
        ]
        assert selected == [pdb["metadata"]["name"]]


def test_ingress_routes_to_an_existing_service_port() -> None:
    services = {s["metadata"]["name"]: s for s in _of_kind("Service")}
    (ingress,) = _of_kind("Ingress")
    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]

    assert [backend["name"] for backend in backends] == ["gateway"]
    for backend in backends:
        assert backend["port"]["name"] in {
            p["name"] for p in services[backend["name"]]["spec"]["ports"]
        }


def test_probes_use_the_health_endpoints_on_a_declared_port() -> None:
    for deployment in _of_kind("Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        port_names = {port["name"] for port in container["ports"]}
        probes = {
            kind: container[kind]["httpGet"]
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        }

        assert {probe["port"] for probe in probes.values()} <= port_names
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert probes["readinessProbe"]["path"] == "/readyz"


def test_config_maps_and_secrets_referenced_by_pods_exist() -> None:
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in _of_kind("ConfigMap")}
    secrets_example = _documents(K8S / "base" / "secrets.example.yaml")
    secrets = {
        s["metadata"]["name"]: {**s.get("data", {}), **s.get("stringData", {})}
        for s in secrets_example
    }
    for where, pod in _pod_specs():
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, where
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, where
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets.get(ref["name"], {}), (where, ref)


def test_each_database_service_reads_its_own_database_secret() -> None:
    for where, pod in _pod_specs():
        (container,) = pod["containers"]
        service = container["image"].removeprefix("retailcare/").rsplit(":", 1)[0]
        prefix = service.upper().replace("-", "_") + "_"
        refs = {
            v["name"]: v["valueFrom"]["secretKeyRef"]["name"]
            for v in container.get("env", [])
            if "secretKeyRef" in v.get("valueFrom", {})
        }
        expected = (
            {f"{prefix}DATABASE_URL": f"{service}-db"} if service in DATABASE_SERVICES else {}
        )
        assert refs == expected, where
        assert container["command"] == [
            "python",
            "-m",
            service.replace("-", "_"),
            "migrate" if where.startswith("Job/") else "serve",
        ]


# ---------------------------------------------------------------------------
# docker-compose.yml (no compose-spec schema is available offline: structural checks)
# ---------------------------------------------------------------------------

# Top-level and service keys of the Compose Specification that this file may use.
COMPOSE_TOP_LEVEL = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
COMPOSE_SERVICE_KEYS = {
    "build", "command", "container_name", "depends_on", "deploy", "entrypoint", "env_file",
    "environment", "expose", "extra_hosts", "healthcheck", "hostname", "image", "init",
    "labels", "logging", "networks", "platform", "ports", "profiles", "pull_policy", "restart",
    "stop_grace_period", "stop_signal", "user", "volumes", "working_dir",
}  # fmt: skip
DEPENDS_ON_CONDITIONS = {
    "service_started",
    "service_healthy",
    "service_completed_successfully",
}
PORT = re.compile(r"^(?:(?:\$\{[A-Z_]+(?::-\d+)?\}|\d+(?:-\d+)?):)?\d+(?:-\d+)?(?:/(?:tcp|udp))?$")
SCALAR = (str, int, float, bool, type(None))


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())  # resolves << merges
    return loaded


def _compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def test_compose_uses_only_known_keys() -> None:
    compose = _compose()

    assert {k for k in compose if not k.startswith("x-")} <= COMPOSE_TOP_LEVEL
    for name, service in _compose_services().items():
        assert set(service) <= COMPOSE_SERVICE_KEYS, (name, set(service) - COMPOSE_SERVICE_KEYS)


def test_compose_services_have_an_image_or_a_buildable_context() -> None:
    services = _compose_services()
    built = {s["image"] for s in services.values() if "build" in s}
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name
        if service.get("pull_policy") == "never":
            # Never pulled: some service of this file must build it.
            assert service["image"] in built, name


def test_compose_dependencies_exist_and_their_conditions_can_be_met() -> None:
    services = _compose_services()
    for name, service in services.items():
        for dependency, condition in _depends_on(service).items():
            assert dependency in services and dependency != name, (name, dependency)
            assert condition in DEPENDS_ON_CONDITIONS, (name, condition)
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            if condition == "service_completed_successfully":
                # A one-shot: it must not be restarted once it has exited.
                assert services[dependency].get("restart") == "no", (name, dependency)


def test_compose_dependencies_have_no_cycle() -> None:
    services = _compose_services()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name not in done:
            for dependency in _depends_on(services[name]):
                visit(dependency, (*path, name))
            done.add(name)

    for name in services:
        visit(name, ())
    assert done == set(services)


def test_compose_environment_is_a_mapping_of_scalars_or_a_list_of_assignments() -> None:
    for name, service in _compose_services().items():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            assert all(
                isinstance(item, str) and re.match(r"^\w+(=|$)", item) for item in environment
            )
        else:
            assert isinstance(environment, dict), name
            for key, value in environment.items():
                assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), (name, key)
                assert isinstance(value, SCALAR), (name, key, value)


def test_compose_ports_are_well_formed_and_not_published_twice() -> None:
    published: list[str] = []
    for name, service in _compose_services().items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and PORT.match(port), (name, port)
            if port.count(":") == 1:
                published.append(port.split(":")[0])
        for key in ("ports", "command", "entrypoint", "volumes"):
            assert isinstance(service.get(key, []), list), (name, key)

    assert published
    assert len(published) == len(set(published)), published


def test_compose_volumes_are_declared_or_existing_files() -> None:
    compose = _compose()
    declared = set(compose.get("volumes", {}))
    used: set[str] = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source, target, *_ = volume.split(":")
            assert target.startswith("/"), (name, volume)
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in declared, (name, source)
                used.add(source)

    assert used == declared  # no declared volume left unused


def test_compose_databases_are_created_by_the_init_script() -> None:
    init_sql = (ROOT / "deploy" / "compose" / "postgres-init.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+)", init_sql))
    urls = {
        key: value
        for service in _compose_services().values()
        for key, value in service.get("environment", {}).items()
        if key.endswith("_DATABASE_URL")
    }

    assert {key.removesuffix("_DATABASE_URL") for key in urls} == {
        s.upper().replace("-", "_") for s in DATABASE_SERVICES
    }
    assert {url.rsplit("/", 1)[1] for url in urls.values()} == created
