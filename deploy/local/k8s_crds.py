"""The CustomResourceDefinitions that deploy/k8s uses, and where each comes from (issue 8).

This is the one list of CRD sources: ``install.py k8s`` fetches them, the control-plane test
(tests/infra/test_k8s_control_plane.py) installs them before it applies an overlay, and the
validation test (tests/infra/test_k8s_validation.py) gives kubeconform their JSON schemas.

- :data:`SOURCES`: CRD YAMLs carried by Go modules, fetched with ``go mod download`` (the
  default GOPROXY, nothing else) and copied into ``<cache>/<name>-<version>/crds/``.
- :data:`STRIMZI_CRDS`: Strimzi's Kafka, KafkaNodePool and KafkaTopic. Strimzi publishes its
  CRDs in no registry this project can reach (its Maven artifacts carry only the Java API
  classes), so deploy/k8s/crds/strimzi.yaml holds minimal schemas written from Strimzi's
  documentation: only the fields Parley's manifests use and their neighbours, unknown fields
  refused (see that file's header).

JSON schemas for kubeconform are made by kubeconform's own ``scripts/openapi2jsonschema.py``
(copied from its module by ``install.py k8s``), file names ``{kind}-{group}-{version}.json``
(kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}.json``), with additional properties
refused at every level, the root included. :func:`schema_dir` converts a source once and
caches the result beside its YAMLs; :func:`convert` serves files of the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from layout import REPO, cache_dir, openapi2jsonschema_script

#: kubeconform's schema location template matching :data:`SCHEMA_FILENAME_FORMAT`
SCHEMA_LOCATION = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
#: openapi2jsonschema.py's FILENAME_FORMAT for the same names (``group`` is the group's first label)
SCHEMA_FILENAME_FORMAT = "{kind}-{group}-{version}"


@dataclass(frozen=True)
class CrdSource:
    """CRD YAMLs at ``files`` (paths inside Go module ``module`` at ``version``, no ``v``)."""

    name: str
    module: str
    version: str
    files: tuple[str, ...]

    @property
    def dir(self) -> Path:
        return cache_dir() / f"{self.name}-{self.version}"

    @property
    def crd_files(self) -> list[Path]:
        """The cached copies, in the order of ``files`` (present after ``install.py k8s``)."""
        return [self.dir / "crds" / Path(f).name for f in self.files]


SOURCES: tuple[CrdSource, ...] = (
    # ServiceMonitor and PrometheusRule (deploy/k8s/monitoring/, kube-prometheus-stack)
    CrdSource("prometheus-operator-crds", "github.com/prometheus-operator/prometheus-operator",
              "0.85.0", tuple(f"example/prometheus-operator-crd/monitoring.coreos.com_{p}.yaml"
                              for p in ("servicemonitors", "prometheusrules", "podmonitors"))),
    # IngressRoute, Middleware, TraefikService, … (one file holds every Traefik CRD)
    CrdSource("traefik-crds", "github.com/traefik/traefik/v3", "3.7.13",
              ("docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml",)),
    # Certificate and the issuers it names. The module's deploy/crds/ is the source from which
    # cert-manager's Helm chart is built ("reference, development and testing" per its
    # README): the same schemas, without the chart's templating.
    CrdSource("cert-manager-crds", "github.com/cert-manager/cert-manager", "1.21.2",
              tuple(f"deploy/crds/cert-manager.io_{p}.yaml"
                    for p in ("certificates", "issuers", "clusterissuers"))),
    # MongoDBCommunity (the MongoDB Community operator). v0.9.0 is the only version of this
    # module the Go proxy serves (later tags are not valid module versions); the resource's
    # API, mongodbcommunity.mongodb.com/v1, is the one the operator still serves.
    CrdSource("mongodb-community-crds", "github.com/mongodb/mongodb-kubernetes-operator",
              "0.9.0", ("config/crd/bases/mongodbcommunity.mongodb.com_mongodbcommunity.yaml",)),
)

#: written from Strimzi's documentation (no registry carries Strimzi's CRDs)
STRIMZI_CRDS = REPO / "deploy" / "k8s" / "crds" / "strimzi.yaml"


def crd_files() -> list[Path]:
    """Every CRD YAML, fetched ones first, then Strimzi's."""
    return [f for source in SOURCES for f in source.crd_files] + [STRIMZI_CRDS]


def _say(msg: str) -> None:
    print(f"install: {msg}", flush=True)


def _module_dir(module: str, version: str, cwd: Path) -> Path:
    """``go mod download -json module@vversion`` -> the module's directory in GOMODCACHE."""
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@v{version}"], cwd=cwd,
                         env=env, capture_output=True, text=True)
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise SystemExit(f"install: go mod download {module}@v{version} failed: "
                         f"{info.get('Error') or out.stderr.strip()}")
    return Path(info["Dir"])


def fetch(source: CrdSource) -> None:
    """Copy ``source``'s CRD files from its Go module into ``<dir>/crds/`` (skipped when there).

    Raises SystemExit when the module cannot be downloaded or lacks a file."""
    marker = source.dir / "crds" / ".complete"
    if marker.exists():
        _say(f"{source.name} {source.version} present ({source.dir})")
        return
    if not shutil.which("go"):
        raise SystemExit("install: `go` not found (CRDs come from the Go module proxy)")
    with tempfile.TemporaryDirectory(prefix="parley-crds-") as work:
        module = _module_dir(source.module, source.version, Path(work))
    partial = source.dir / "crds.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for path in source.files:
        src = module / path
        if not src.is_file():
            raise SystemExit(f"install: {source.module}@v{source.version} has no {path}")
        shutil.copyfile(src, partial / src.name)
    (partial / ".complete").write_text(f"{source.module}@v{source.version}\n")
    shutil.rmtree(source.dir / "crds", ignore_errors=True)
    partial.rename(source.dir / "crds")
    _say(f"{source.name} {source.version}: {', '.join(Path(f).name for f in source.files)}")


def fetch_all() -> None:
    for source in SOURCES:
        fetch(source)


def convert(crds: list[Path], out: Path, python: str = sys.executable) -> Path:
    """Write the JSON schema of every version of every CRD in ``crds`` into ``out`` with
    kubeconform's openapi2jsonschema.py (run by ``python``, which needs PyYAML); returns ``out``.

    Raises subprocess.CalledProcessError when the script fails."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FILENAME_FORMAT": SCHEMA_FILENAME_FORMAT,
           "DENY_ROOT_ADDITIONAL_PROPERTIES": "1"}
    subprocess.run([python, str(openapi2jsonschema_script()), *map(str, crds)], cwd=out,
                   env=env, check=True, capture_output=True, text=True)
    return out


def schema_dir(source: CrdSource) -> Path:
    """``<dir>/schemas/``: the JSON schemas of ``source``'s CRDs, converted on first use."""
    final = source.dir / "schemas"
    if (final / ".complete").exists():
        return final
    partial = source.dir / f"schemas.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    convert(source.crd_files, partial)
    (partial / ".complete").write_text(source.version + "\n")
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return final


def schema_locations(strimzi_schemas: Path) -> list[str]:
    """kubeconform ``-schema-location`` values: every fetched source's schemas, then
    ``strimzi_schemas`` (a directory :func:`convert` filled from :data:`STRIMZI_CRDS`)."""
    dirs = [schema_dir(source) for source in SOURCES] + [strimzi_schemas]
    return [f"{d}/{SCHEMA_LOCATION}" for d in dirs]
