"""Range, Content-Range and pagination parsing (pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiplane.registry.ranges import paginate, parse_byte_range, parse_content_range


@pytest.mark.parametrize("header, size, expected", [
    ("bytes=0-9", 100, (0, 9)), ("bytes=90-", 100, (90, 99)), ("bytes=-10", 100, (90, 99)),
    ("bytes=50-500", 100, (50, 99)), ("bytes=-500", 100, (0, 99)), (" bytes=1-1 ", 100, (1, 1)),
    ("bytes=100-", 100, None), ("bytes=9-3", 100, None), ("bytes=-", 100, None), ("items=0-1", 100, None),
    ("bytes=0-1,5-6", 100, None), ("bytes=0-0", 0, None),
])
def test_byte_range(header, size, expected):
    assert parse_byte_range(header, size) == expected


@pytest.mark.parametrize("header, expected", [
    ("0-99", (0, 99)), ("bytes 5-9", (5, 9)), ("bytes=5-9", (5, 9)), ("9-5", None), ("5", None),
    ("-5", None), ("a-b", None), ("0-1/10", None), ("", None),
])
def test_content_range(header, expected):
    assert parse_content_range(header) == expected


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 10_000))
def test_byte_range_always_within_the_blob(a, b, size):
    for header in (f"bytes={a}-{b}", f"bytes={a}-", f"bytes=-{b}"):
        result = parse_byte_range(header, size)
        if result is not None:
            assert 0 <= result[0] <= result[1] < size


def test_paginate():
    tags = ["a", "b", "c", "d"]
    assert paginate(tags, n=None, last=None) == (tags, None)
    assert paginate(tags, n=2, last=None) == (["a", "b"], "b")
    assert paginate(tags, n=2, last="b") == (["c", "d"], None)
    assert paginate(tags, n=0, last=None) == ([], None)
    assert paginate(tags, n=10, last="a") == (["b", "c", "d"], None)
