"""The splitter that lets shiplane replay strvals.ParseInto (pure, no Helm)."""

from __future__ import annotations

import pytest

from shiplane.charts.errors import SetExpressionError
from shiplane.charts.strvals import set_path, split_assignments


@pytest.mark.parametrize(
    ("expression", "flavour", "expected"),
    [
        ("a=1", "set", [("a=1", ("a",))]),
        ("a.b=1,c=2", "set", [("a.b=1,", ("a", "b")), ("c=2", ("c",))]),
        ("a[0].b=x,a[2]=y", "set", [("a[0].b=x,", ("a", 0, "b")), ("a[2]=y", ("a", 2))]),
        ("m[0][1]=z", "set", [("m[0][1]=z", ("m", 0, 1))]),
        ("l={a,b},c=d", "set", [("l={a,b},", ("l",)), ("c=d", ("c",))]),
        (r"k\.io/r=w,n=a\,b", "set", [(r"k\.io/r=w,", ("k.io/r",)), (r"n=a\,b", ("n",))]),
        ('j={"a":1,"b":[1,2]} , k="x"', "set-json",
         [('j={"a":1,"b":[1,2]} ,', ("j",)), (' k="x"', (" k",))]),  # Helm keeps the blank
        ("e=,f=1", "set-json", [("e=,", ("e",)), ("f=1", ("f",))]),
        ("a=b,c=d", "set-literal", [("a=b,c=d", ("a",))]),
    ],
)
def test_split_assignments(expression, flavour, expected):
    got = [(a.text, a.path) for a in split_assignments(expression, flavour)]
    assert got == expected


def test_set_path_pads_lists_with_nulls_like_setindex():
    dest: dict = {}
    set_path(dest, ("a", 2), "x", "a[2]=x")
    assert dest == {"a": [None, None, "x"]}


def test_set_path_replaces_a_non_map_list_element_with_a_map():
    # parser.go listItem: "indices out of order. Initialize empty value"
    dest = {"a": ["scalar"]}
    set_path(dest, ("a", 0, "b"), 1, "a[0].b=1")
    assert dest == {"a": [{"b": 1}]}


def test_set_path_refuses_an_index_into_a_map():
    with pytest.raises(SetExpressionError, match="list index"):
        set_path({"a": {"b": 1}}, ("a", 0), 1, "a[0]=1")
