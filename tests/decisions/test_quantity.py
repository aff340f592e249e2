"""resource.Quantity parsing (k8s apimachinery quantity_test.go cases) and IntOrString scaling
(intstr_test.go TestGetScaledValueFromIntOrPercent)."""

from fractions import Fraction

import pytest

from shiplane.cluster.decisions.errors import InvalidIntOrPercent, InvalidQuantity
from shiplane.cluster.decisions.int_or_percent import scaled_value
from shiplane.cluster.decisions.quantity import milli_value, parse_quantity, value


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0", 0),
        ("1", 1),
        ("100m", Fraction(1, 10)),
        ("1.5", Fraction(3, 2)),
        ("250m", Fraction(1, 4)),
        ("1Ki", 1024),
        ("1Mi", 1024**2),
        ("1.5Gi", 3 * 2**29),
        ("2Ti", 2 * 2**40),
        ("1Pi", 2**50),
        ("1Ei", 2**60),
        ("1k", 1000),
        ("1M", 10**6),
        ("2G", 2 * 10**9),
        ("1T", 10**12),
        ("1P", 10**15),
        ("1E", 10**18),
        ("1n", Fraction(1, 10**9)),
        ("1u", Fraction(1, 10**6)),
        ("1e3", 1000),
        ("1E3", 1000),
        ("5e-3", Fraction(5, 1000)),
        ("+1", 1),
        ("-1", -1),
        (".5", Fraction(1, 2)),
        ("5.", 5),
        (3, 3),
        (0.5, Fraction(1, 2)),
    ],
)
def test_parse_quantity(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["", "Gi", "1Qi", "1.2.3", "1 Gi", "abc", "1e", "--1", True, None])
def test_parse_quantity_rejects(bad):
    with pytest.raises(InvalidQuantity):
        parse_quantity(bad)


def test_milli_and_value_round_up_like_upstream():
    assert milli_value("100m") == 100
    assert milli_value("0.5") == 500
    assert milli_value("1n") == 1  # MilliValue rounds up
    assert value("1.5") == 2
    assert value("128Mi") == 134217728


@pytest.mark.parametrize(
    "raw,total,up,expected",
    [
        (3, 10, True, 3),
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("39%", 10, True, 4),
        ("39%", 10, False, 3),
        ("0%", 0, True, 0),
        ("100%", 7, False, 7),
        ("50%", 3, True, 2),
        ("50%", 3, False, 1),
        (None, 4, True, 0),
    ],
)
def test_scaled_value(raw, total, up, expected):
    assert scaled_value(raw, total, round_up=up) == expected


@pytest.mark.parametrize("bad", ["5", "oops", "x%", True, 1.5])
def test_scaled_value_rejects(bad):
    with pytest.raises(InvalidIntOrPercent):
        scaled_value(bad, 10, round_up=True)
