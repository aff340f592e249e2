"""Platform governance: rules as data, evaluated in CI and before every sync.

``rules`` holds the documented rules (pure functions over manifests), ``policy``
the per-environment policy file and ``evaluate``. Errors: ``PolicyError`` subtree.
"""

from shiplane.policy.errors import PolicyError, PolicyFileInvalid, PolicyViolated
from shiplane.policy.policy import (
    DEFAULT_POLICY,
    POLICY_FILE,
    Policy,
    RuleSetting,
    blocking,
    evaluate,
    load_policy,
    parse_policy,
)
from shiplane.policy.rules import RULES, Rule, Violation, selector_matches, split_image

__all__ = [
    "DEFAULT_POLICY",
    "POLICY_FILE",
    "RULES",
    "Policy",
    "PolicyError",
    "PolicyFileInvalid",
    "PolicyViolated",
    "Rule",
    "RuleSetting",
    "Violation",
    "blocking",
    "evaluate",
    "load_policy",
    "parse_policy",
    "selector_matches",
    "split_image",
]
