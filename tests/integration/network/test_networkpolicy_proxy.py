"""The shipped NetworkPolicy's commented proxy rule works once uncommented, as it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.processes import ROOT

POLICY = ROOT / "deploy" / "kubernetes" / "base" / "networkpolicy.yaml"


def _uncommented(path: Path) -> str:
    """The policy with its commented example rule (the ``# - to:`` block) uncommented."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(n for n, line in enumerate(lines) if line.strip() == "# - to:")
    block = [re.sub(r"^(\s*)# ", r"\1", line) for line in lines[start:]]
    return "\n".join([*lines[:start], *block]) + "\n"


def test_the_example_proxy_rule_adds_one_egress_rule_to_the_proxy_port() -> None:
    """Uncommented, the example is one more egress rule: TCP 3128 to the proxy's address,
    the other rules untouched."""
    shipped: dict[str, Any] = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    edited: dict[str, Any] = yaml.safe_load(_uncommented(POLICY))
    before, after = shipped["spec"]["egress"], edited["spec"]["egress"]
    assert after[: len(before)] == before
    assert after[len(before) :] == [
        {
            "to": [{"ipBlock": {"cidr": "10.0.0.10/32"}}],
            "ports": [{"protocol": "TCP", "port": 3128}],
        }
    ]
