"""Policies as data: which rule applies in which environment, with what severity.

A platform repo keeps its policy in ``policies.yaml`` (``POLICY_FILE``)::

    kind: PlatformPolicy
    rules:                        # every environment
      resources-set: error        # error | warning | off | {severity, ...options}
      allowed-registries: {severity: error, registries: [registry.example.com]}
    environments:
      prod:
        immutable-tags: error     # overrides and additions per environment
    promotion:
      allowedKeys: [image.tag, image.digest]   # what `shiplane promote` may copy

``evaluate`` runs the rules that are on for an environment and returns every
violation; only ``error`` ones block (CI check, GitOps sync, promotion gate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shiplane.policy.errors import PolicyFileInvalid
from shiplane.policy.rules import RULES, Violation

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_FILE",
    "Policy",
    "RuleSetting",
    "blocking",
    "evaluate",
    "load_policy",
    "parse_policy",
]

POLICY_FILE = "policies.yaml"
SEVERITIES = ("error", "warning", "off")

DEFAULT_POLICY = """\
# Governance rules: `shiplane policy check` in CI, and before every GitOps sync.
# Rule names: `shiplane policy rules`. Severity: error (blocks) | warning | off.
kind: PlatformPolicy
rules:
  resources-set: error
  probes-set: error
  run-as-non-root: error
  no-privileged: error
  network-policy: warning
  pdb-when-replicated: warning
environments:
  staging:
    immutable-tags: error
    prefer-digests: warning
    network-policy: error
    pdb-when-replicated: error
  prod:
    immutable-tags: error
    prefer-digests: warning
    network-policy: error
    pdb-when-replicated: error
promotion:
  allowedKeys: [image.tag, image.digest]
"""


@dataclass(frozen=True)
class RuleSetting:
    severity: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    rules: Mapping[str, RuleSetting] = field(default_factory=dict)
    environments: Mapping[str, Mapping[str, RuleSetting]] = field(default_factory=dict)
    promotion_keys: tuple[str, ...] = ("image.tag",)

    def settings_for(self, environment: str) -> dict[str, RuleSetting]:
        merged = dict(self.rules)
        merged.update(self.environments.get(environment, {}))
        return {name: s for name, s in merged.items() if s.severity != "off"}


def _setting(value: Any, where: str) -> RuleSetting:
    if isinstance(value, str):
        value = {"severity": value}
    if not isinstance(value, Mapping):
        raise PolicyFileInvalid(f"{where}: expected a severity or a map, got {value!r}")
    options = dict(value)
    severity = str(options.pop("severity", "error"))
    if severity not in SEVERITIES:
        raise PolicyFileInvalid(f"{where}: severity {severity!r} is not one of "
                                f"{', '.join(SEVERITIES)}")
    return RuleSetting(severity, options)


def _rules(doc: Any, where: str) -> dict[str, RuleSetting]:
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise PolicyFileInvalid(f"{where} must be a map of rule name to severity")
    out = {}
    for name, value in doc.items():
        if name not in RULES:
            raise PolicyFileInvalid(f"{where}: unknown rule {name!r}",
                                    hint=f"known rules: {', '.join(RULES)}")
        out[str(name)] = _setting(value, f"{where}.{name}")
    return out


def parse_policy(doc: Any, *, where: str = POLICY_FILE) -> Policy:
    if not isinstance(doc, Mapping) or doc.get("kind") != "PlatformPolicy":
        raise PolicyFileInvalid(f"{where}: expected a document with kind: PlatformPolicy")
    envs = doc.get("environments") or {}
    if not isinstance(envs, Mapping):
        raise PolicyFileInvalid(f"{where}: environments must be a map")
    keys = ((doc.get("promotion") or {}).get("allowedKeys")) or ["image.tag"]
    return Policy(
        rules=_rules(doc.get("rules"), f"{where}: rules"),
        environments={str(e): _rules(r, f"{where}: environments.{e}") for e, r in envs.items()},
        promotion_keys=tuple(str(k) for k in keys),
    )


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path``; without a file, ``DEFAULT_POLICY``."""
    if path is None or not Path(path).is_file():
        return parse_policy(yaml.safe_load(DEFAULT_POLICY), where="default policy")
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PolicyFileInvalid(f"{path}: cannot read YAML: {error}") from error
    return parse_policy(doc, where=str(path))


def evaluate(manifests: Sequence[Mapping[str, Any]], policy: Policy,
             environment: str) -> list[Violation]:
    """Every violation of the rules on in ``environment``, in rule order."""
    out: list[Violation] = []
    for name, setting in policy.settings_for(environment).items():
        for resource, field_path, message in RULES[name].check(manifests, setting.options):
            out.append(Violation(name, resource, field_path, message, setting.severity))
    return out


def blocking(violations: Sequence[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "error"]
