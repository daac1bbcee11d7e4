"""ServiceMonitor, PodMonitor and PrometheusRule against the prometheus-operator's CRD schemas.

kubernetes-validate only warns about custom resources, so tools/node/validate-crds.mjs checks
them with the schemas packaged in @kubernetes-models/prometheus-operator (ajv).
"""

from __future__ import annotations

from tests.deploy.manifests import ROOT, kustomize, run
from tests.support.tools import node_modules, system_tool

VALIDATOR = ROOT / "tools" / "node" / "validate-crds.mjs"

BROKEN_SERVICEMONITOR = """\
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: broken
spec:
  endpoints:
    - port: 9877
      interval: often
"""


def _validate(text: str) -> tuple[int, str]:
    node_modules()
    result = run([system_tool("node", "nodejs"), str(VALIDATOR), "-"], stdin=text)
    return result.returncode, result.stdout + result.stderr


def test_base_and_sidecar_custom_resources_match_the_operator_schemas() -> None:
    """Every custom resource of both overlays validates; each expected kind was checked."""
    code, output = _validate(kustomize("base") + "---\n" + kustomize("sidecar"))
    assert code == 0, output
    for resource in (
        "ServiceMonitor/livesession-exporter",
        "PrometheusRule/livesession-exporter",
        "PodMonitor/my-app-livesession-exporter",
    ):
        assert f"ok {resource}\n" in output, output
    assert "invalid" not in output


def test_validator_rejects_a_broken_servicemonitor() -> None:
    """A ServiceMonitor without a selector, with a bad interval and a numeric port fails,
    each problem named, so the check above cannot pass by validating nothing."""
    code, output = _validate(BROKEN_SERVICEMONITOR)
    assert code == 1, output
    assert "invalid ServiceMonitor/broken" in output
    assert "must have required property selector" in output
    assert "interval must match pattern" in output
    assert "port must be string" in output


def test_validator_refuses_an_operator_kind_it_cannot_check() -> None:
    """A monitoring.coreos.com kind without a schema is an error, not a silent pass."""
    code, output = _validate("apiVersion: monitoring.coreos.com/v1\nkind: Nope\nmetadata: {}\n")
    assert code == 2
    assert "no schema" in output
