"""Kubernetes resource quantities as exact numbers, for the diff (pure).

``1000m`` and ``1`` are the same CPU, ``1Gi`` and ``1073741824`` the same memory:
the API server canonicalises quantities (apimachinery ``resource.Quantity``), so
Argo CD compares them as quantities, not as text (gitops-engine ``pkg/diff``
normalises known types through their Go structs). Formats
(``quantity.go`` ``ParseQuantity``): a signed decimal number followed by a binary
SI suffix (``Ki Mi Gi Ti Pi Ei``), a decimal SI suffix (``n u m "" k M G T P E``)
or a decimal exponent (``e3``, ``E-2``).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

__all__ = ["QUANTITY_MAPS", "QUANTITY_FIELDS", "parse_quantity", "same_quantity"]

_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(.*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1,
            "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_EXPONENT = re.compile(r"^[eE]([+-]?\d+)$")
# maps whose values are quantities (resources.limits/requests, ResourceQuota hard/used,
# node capacity/allocatable, LimitRange entries) and single quantity fields
QUANTITY_MAPS = frozenset({"limits", "requests", "hard", "used", "capacity", "allocatable",
                           "default", "defaultRequest", "max", "min", "maxLimitRequestRatio"})
QUANTITY_FIELDS = frozenset({"storage", "sizeLimit"})


def parse_quantity(value: Any) -> Fraction | None:
    """The exact value of a quantity (``None``: not a quantity)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(str(value))
    if not isinstance(value, str):
        return None
    match = _NUMBER.match(value.strip())
    if not match:
        return None
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    exponent = _EXPONENT.match(suffix)
    if exponent:
        return number * Fraction(10) ** int(exponent.group(1))
    return None


def same_quantity(desired: Any, live: Any) -> bool:
    """Both are quantities of the same value."""
    a, b = parse_quantity(desired), parse_quantity(live)
    return a is not None and b is not None and a == b
