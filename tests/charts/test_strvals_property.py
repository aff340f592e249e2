"""Property: replaying assignments into an empty map equals Helm parsing the whole
expression (``ParseInto`` into ``{}`` is ``Parse``), for every --set flavour."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiplane.charts import SetExpressionError, _sdk
from shiplane.charts.strvals import parse_into

segment = st.text("abcxyz", min_size=1, max_size=3)
index = st.lists(st.integers(0, 3), min_size=1, max_size=2).map(
    lambda ids: "".join(f"[{i}]" for i in ids))
key = st.lists(st.tuples(segment, st.one_of(st.just(""), index)), min_size=1, max_size=3).map(
    lambda parts: ".".join(name + idx for name, idx in parts))
scalar = st.sampled_from(["1", "0", "0123", "12345678", "true", "False", "null", "1e3",
                          "text", r"a\,b", r"dot\.ted", "", "-5"])
plain_value = st.one_of(scalar, st.lists(scalar.filter(bool), min_size=1, max_size=3).map(
    lambda items: "{" + ",".join(items) + "}"))
json_value = st.sampled_from(['1', '"s"', 'true', 'null', '[1,2]', '{"k":{"n":1}}', '"a,b"'])


def expression(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(key, values).map(lambda kv: f"{kv[0]}={kv[1]}"),
                    min_size=1, max_size=4).map(",".join)


def outcome(action):
    try:
        return ("ok", action())
    except SetExpressionError:
        return ("error", None)


def replayed(flavour: str, text: str) -> dict:
    dest: dict = {}
    parse_into(dest, text, flavour, _sdk.parse_set)
    return dest


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flavour=st.sampled_from(["set", "set-string"]), text=expression(plain_value))
def test_replay_equals_helm_parse(flavour, text):
    assert outcome(lambda: replayed(flavour, text)) == outcome(
        lambda: _sdk.parse_set(flavour, text))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=expression(json_value))
def test_replay_equals_helm_parse_json(text):
    assert outcome(lambda: replayed("set-json", text)) == outcome(
        lambda: _sdk.parse_set("set-json", text))
