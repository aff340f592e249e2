"""Shared validation rules: names, labels, selectors, quantities, ports.

Messages are upstream's (k8s.io/apimachinery/pkg/util/validation/validation.go and
k8s.io/apimachinery/pkg/api/validation/objectmeta.go), because kubectl prints them.
"""

from __future__ import annotations

import re
from typing import Any

from shiplane.cluster.store.errors import FieldError

__all__ = [
    "DNS1035_LABEL_MESSAGE",
    "DNS1123_LABEL_MESSAGE",
    "DNS1123_SUBDOMAIN_MESSAGE",
    "Errors",
    "format_label_selector",
    "is_dns1035_label",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "selector_matches_labels",
    "validate_label_selector",
    "validate_labels",
    "validate_object_meta",
]

Errors = list[FieldError]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(f"^{_LABEL}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

DNS1123_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_LABEL_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_QUALIFIED_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def is_dns1035_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1035_LABEL.match(value))


def name_errors(value: str, field: str, rule: str = "subdomain") -> Errors:
    """Errors for a name under ``rule``: ``subdomain``, ``label``, ``dns1035`` or ``path``
    (RBAC objects: any path segment, apimachinery ``path.IsValidPathSegmentName``)."""
    errors: Errors = []
    if rule == "path":
        if value in (".", ".."):
            errors.append(FieldError("Invalid", field, value, f"may not be '{value}'"))
        for bad in ("/", "%"):
            if bad in value:
                errors.append(FieldError("Invalid", field, value, f"may not contain '{bad}'"))
    elif rule == "label":
        if len(value) > 63:
            errors.append(FieldError("Invalid", field, value, "must be no more than 63 characters"))
        if not _DNS1123_LABEL.match(value):
            errors.append(FieldError("Invalid", field, value, DNS1123_LABEL_MESSAGE))
    elif rule == "dns1035":
        if len(value) > 63:
            errors.append(FieldError("Invalid", field, value, "must be no more than 63 characters"))
        if not _DNS1035_LABEL.match(value):
            errors.append(FieldError("Invalid", field, value, DNS1035_LABEL_MESSAGE))
    else:
        if len(value) > 253:
            errors.append(
                FieldError("Invalid", field, value, "must be no more than 253 characters")
            )
        if not _DNS1123_SUBDOMAIN.match(value):
            errors.append(FieldError("Invalid", field, value, DNS1123_SUBDOMAIN_MESSAGE))
    return errors


def _qualified_name_errors(key: str, field: str) -> Errors:
    prefix, slash, name = key.rpartition("/")
    errors: Errors = []
    if slash and (not prefix or not is_dns1123_subdomain(prefix)):
        errors.append(FieldError("Invalid", field, key, "prefix part " + DNS1123_SUBDOMAIN_MESSAGE))
    if not name:
        errors.append(FieldError("Invalid", field, key, "name part must be non-empty"))
    elif len(name) > 63:
        errors.append(
            FieldError("Invalid", field, key, "name part must be no more than 63 characters")
        )
    elif not _QUALIFIED_NAME.match(name):
        errors.append(FieldError("Invalid", field, key, _QUALIFIED_NAME_MESSAGE))
    return errors


def validate_labels(labels: Any, field: str) -> Errors:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [FieldError("Invalid", field, labels, "must be a map of strings")]
    errors: Errors = []
    for key, value in labels.items():
        errors += _qualified_name_errors(key, field)
        if not isinstance(value, str):
            errors.append(FieldError("Invalid", field, value, "label values must be strings"))
        elif len(value) > 63:
            errors.append(FieldError("Invalid", field, value, "must be no more than 63 characters"))
        elif not _LABEL_VALUE.match(value):
            errors.append(FieldError("Invalid", field, value, _LABEL_VALUE_MESSAGE))
    return errors


def validate_annotations(annotations: Any, field: str) -> Errors:
    if annotations is None:
        return []
    errors: Errors = []
    total = 0
    for key, value in annotations.items():
        errors += _qualified_name_errors(key, field)
        total += len(key) + len(value if isinstance(value, str) else "")
    if total > 256 * 1024:
        errors.append(FieldError("TooLong", field, "", "must have at most 262144 bytes"))
    return errors


def validate_object_meta(obj: dict[str, Any], *, name_rule: str = "subdomain") -> Errors:
    """``ValidateObjectMeta``: a valid name (or generateName), labels and annotations."""
    meta = obj.get("metadata") or {}
    errors: Errors = []
    name = meta.get("name")
    if not name:
        if not meta.get("generateName"):
            errors.append(
                FieldError("Required", "metadata.name", detail="name or generateName is required")
            )
    elif not isinstance(name, str):
        errors.append(FieldError("Invalid", "metadata.name", name, "must be a string"))
    else:
        errors += name_errors(name, "metadata.name", name_rule)
    errors += validate_labels(meta.get("labels"), "metadata.labels")
    errors += validate_annotations(meta.get("annotations"), "metadata.annotations")
    for i, ref in enumerate(meta.get("ownerReferences") or []):
        for required in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(required):
                errors.append(
                    FieldError(
                        "Invalid",
                        f"metadata.ownerReferences[{i}].{required}",
                        ref.get(required, ""),
                        f"{required} must not be empty",
                    )
                )
    controllers = [r for r in meta.get("ownerReferences") or [] if r.get("controller")]
    if len(controllers) > 1:
        errors.append(
            FieldError(
                "Invalid",
                "metadata.ownerReferences",
                meta["ownerReferences"],
                "Only one reference can have Controller set to true",
            )
        )
    return errors


def format_label_selector(selector: dict[str, Any] | None) -> str:
    """Go's ``%#v`` of a *v1.LabelSelector, as immutability errors print it."""
    if selector is None:
        return "(*v1.LabelSelector)(nil)"
    labels = selector.get("matchLabels")
    if labels:
        inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
        match_labels = "map[string]string{" + inner + "}"
    else:
        match_labels = "map[string]string(nil)"
    exprs = selector.get("matchExpressions")
    if exprs:
        parts = []
        for e in exprs:
            values = ", ".join(f'"{v}"' for v in e.get("values") or [])
            parts.append(
                f'v1.LabelSelectorRequirement{{Key:"{e.get("key", "")}", '
                f'Operator:"{e.get("operator", "")}", Values:[]string{{{values}}}}}'
            )
        match_exprs = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        match_exprs = "[]v1.LabelSelectorRequirement(nil)"
    return f"v1.LabelSelector{{MatchLabels:{match_labels}, MatchExpressions:{match_exprs}}}"


def validate_label_selector(selector: Any, field: str) -> Errors:
    if selector is None:
        return []
    errors: Errors = []
    errors += validate_labels(selector.get("matchLabels"), f"{field}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        path = f"{field}.matchExpressions[{i}]"
        op = expr.get("operator")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errors.append(
                    FieldError(
                        "Required",
                        f"{path}.values",
                        detail="must be specified when `operator` is 'In' or 'NotIn'",
                    )
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errors.append(
                    FieldError(
                        "Forbidden",
                        f"{path}.values",
                        detail="may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errors.append(
                FieldError("Invalid", f"{path}.operator", op, "not a valid selector operator")
            )
        errors += _qualified_name_errors(expr.get("key", ""), f"{path}.key")
    return errors


def selector_matches_labels(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """``metav1.LabelSelectorAsSelector(selector).Matches(labels)``; nil matches nothing."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True
