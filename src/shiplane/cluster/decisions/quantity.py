"""Kubernetes ``resource.Quantity`` parsing (k8s apimachinery/pkg/api/resource/quantity.go).

A quantity is ``<signed number><suffix>`` where the suffix is binary SI (Ki Mi Gi Ti Pi Ei),
decimal SI (n u m "" k M G T P E) or a decimal exponent (``e3``, ``E-2``). Values are kept
exact as :class:`fractions.Fraction`; ``milli_value`` and ``value`` round up like
``Quantity.MilliValue()`` / ``Quantity.Value()`` (ceil), which is what the scheduler uses for
CPU millicores and memory bytes.
"""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

from shiplane.cluster.decisions.errors import InvalidQuantity

__all__ = ["milli_value", "parse_quantity", "value"]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
# number: optional sign, digits with an optional fraction (".5" and "5." are accepted upstream)
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))([a-zA-Z]*|[eE][+-]?\d+)$")


def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity such as ``"100m"``, ``"1.5Gi"``, ``"2e3"`` or ``4``."""
    if isinstance(text, bool):
        raise InvalidQuantity(f"quantity {text!r} is not a number")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        return Fraction(str(text))
    if not isinstance(text, str):
        raise InvalidQuantity(f"quantity {text!r} is not valid")
    return _parse_text(text)


@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> Fraction:
    # clusters repeat the same few quantities ("100m", "128Mi") millions of times
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise InvalidQuantity(
            f"quantity {text!r} is not valid",
            hint="use a number with an optional suffix: m, k, M, G, Ki, Mi, Gi, or an exponent e3",
        )
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return number * Fraction(10) ** int(suffix[1:])
    raise InvalidQuantity(f"quantity {text!r} has an unknown suffix {suffix!r}")


def milli_value(text: str | int | float) -> int:
    """Thousandths rounded up: ``Quantity.MilliValue`` (CPU millicores)."""
    if isinstance(text, str):
        return _milli_of_text(text)
    return math.ceil(parse_quantity(text) * 1000)


@functools.lru_cache(maxsize=4096)  # the scheduler asks for the same few requests per pod
def _milli_of_text(text: str) -> int:
    return math.ceil(_parse_text(text) * 1000)


def value(text: str | int | float) -> int:
    """The integer value rounded up: ``Quantity.Value`` (bytes, pod counts)."""
    if isinstance(text, str):
        return _value_of_text(text)
    return math.ceil(parse_quantity(text))


@functools.lru_cache(maxsize=4096)
def _value_of_text(text: str) -> int:
    return math.ceil(_parse_text(text))
