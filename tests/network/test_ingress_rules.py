"""The Ingress rule matcher against the documented upstream semantics."""

from __future__ import annotations

import pytest

from shiplane.cluster.network.ingress_rules import (
    Route,
    host_matches,
    is_ours,
    path_matches,
    route,
)


def ingress(name, rules=None, default=None, created="2026-01-01T00:00:00Z", ns="default",
            cls=None):
    spec = {}
    if rules is not None:
        spec["rules"] = rules
    if default is not None:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    if cls is not None:
        spec["ingressClassName"] = cls
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": spec}


def rule(paths, host=None):
    out = {"http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": svc, "port": {"number": 80}}}}
        for p, t, svc in paths]}}
    if host is not None:
        out["host"] = host
    return out


# Prefix cases from the Kubernetes docs' "Examples" table (concepts/services-networking/ingress)
@pytest.mark.parametrize("path_type, rule_path, request_path, expected", [
    ("Prefix", "/", "/", True),
    ("Prefix", "/", "/anything/at/all", True),
    ("Exact", "/foo", "/foo", True),
    ("Exact", "/foo", "/bar", False),
    ("Exact", "/foo", "/foo/", False),
    ("Exact", "/foo/", "/foo", False),
    ("Prefix", "/foo", "/foo", True),
    ("Prefix", "/foo", "/foo/", True),
    ("Prefix", "/foo/", "/foo", True),
    ("Prefix", "/foo/", "/foo/", True),
    ("Prefix", "/aaa/bb", "/aaa/bbb", False),
    ("Prefix", "/aaa/bbb", "/aaa/bbb", True),
    ("Prefix", "/aaa/bbb/", "/aaa/bbb", True),
    ("Prefix", "/aaa/bbb", "/aaa/bbb/", True),
    ("Prefix", "/aaa/bbb", "/aaa/bbb/ccc", True),
    ("Prefix", "/aaa/bbb", "/aaa/bbbxyz", False),
    ("Prefix", "/foo", "/FOO", False),  # case sensitive
    ("ImplementationSpecific", "/api", "/api/v1", True),
    ("ImplementationSpecific", "/api", "/apis", False),
])
def test_path_matching(path_type, rule_path, request_path, expected):
    assert path_matches(path_type, rule_path, request_path) is expected


@pytest.mark.parametrize("rule_host, request_host, expected", [
    (None, "anything.example", "any"),
    ("", "x", "any"),
    ("foo.bar.com", "foo.bar.com", "exact"),
    ("foo.bar.com", "FOO.bar.com:8080", "exact"),
    ("foo.bar.com", "bar.com", None),
    ("*.foo.com", "bar.foo.com", "wildcard"),
    ("*.foo.com", "baz.bar.foo.com", None),
    ("*.foo.com", "foo.com", None),
    ("*.foo.com", ".foo.com", None),
    ("*.foo.com", "bar.foo.com:80", "wildcard"),
])
def test_host_matching(rule_host, request_host, expected):
    assert host_matches(rule_host, request_host) == expected


def test_longest_path_wins_then_exact_over_prefix():
    ing = ingress("a", [rule([("/", "Prefix", "root"), ("/api", "Prefix", "api"),
                              ("/api/v1", "Prefix", "v1"), ("/api/v1", "Exact", "v1-exact")])])
    assert route([ing], "h", "/other").service == "default/root"
    assert route([ing], "h", "/api/x").service == "default/api"
    assert route([ing], "h", "/api/v1/pay").service == "default/v1"
    assert route([ing], "h", "/api/v1").service == "default/v1-exact"


def test_exact_host_beats_wildcard_beats_hostless():
    ings = [ingress("a", [rule([("/", "Prefix", "any")]),
                          rule([("/", "Prefix", "wild")], host="*.shop.test"),
                          rule([("/", "Prefix", "exact")], host="pay.shop.test")])]
    assert route(ings, "pay.shop.test", "/x").service == "default/exact"
    assert route(ings, "cart.shop.test", "/x").service == "default/wild"
    assert route(ings, "other.test", "/x").service == "default/any"


def test_matching_host_without_matching_path_uses_default_backend_not_hostless_rules():
    ings = [ingress("a", [rule([("/", "Prefix", "any")]),
                          rule([("/pay", "Exact", "pay")], host="pay.test")], default="fallback")]
    assert route(ings, "pay.test", "/pay").service == "default/pay"
    found = route(ings, "pay.test", "/other")
    assert found == Route("default/fallback", 80, "default/a", None)


def test_no_match_and_no_default_is_none():
    ings = [ingress("a", [rule([("/pay", "Prefix", "pay")], host="pay.test")])]
    assert route(ings, "pay.test", "/nope") is None
    assert route(ings, "other.test", "/pay") is None
    assert route([], "x", "/") is None


def test_oldest_ingress_wins_a_tie_and_gives_the_default_backend():
    old = ingress("old", [rule([("/", "Prefix", "old")])], default="old-default",
                  created="2026-01-01T00:00:00Z")
    new = ingress("new", [rule([("/", "Prefix", "new")])], default="new-default",
                  created="2026-02-01T00:00:00Z")
    assert route([new, old], "h", "/x").service == "default/old"
    assert route([new, old], "h", "/x").ingress == "default/old"
    only_default = [ingress("z", default="zz", created="2026-03-01T00:00:00Z"),
                    ingress("y", default="yy", created="2026-02-01T00:00:00Z")]
    assert route(only_default, "h", "/x").service == "default/yy"


def test_backends_are_in_the_ingress_namespace_and_keep_named_ports():
    ing = ingress("a", ns="shop", rules=[{"http": {"paths": [
        {"path": "/", "pathType": "Prefix",
         "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}])
    assert route([ing], "h", "/") == Route("shop/web", "http", "shop/a", "/")


def test_resource_backends_and_unknown_path_types_are_skipped():
    ing = ingress("a", rules=[{"http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"resource": {"kind": "Bucket",
                                                                     "name": "b"}}},
        {"path": "/", "pathType": "Regex", "backend": {"service": {"name": "x",
                                                                   "port": {"number": 1}}}},
    ]}}])
    assert route([ing], "h", "/") is None


def test_missing_path_type_is_implementation_specific_prefix():
    ing = ingress("a", rules=[{"http": {"paths": [
        {"path": "/shop", "backend": {"service": {"name": "x", "port": {"number": 1}}}}]}}])
    assert route([ing], "h", "/shop/cart").service == "default/x"


def test_ingress_class_selection():
    assert is_ours(ingress("a"))
    assert not is_ours(ingress("a"), default_class=False)
    assert is_ours(ingress("a", cls="shiplane"))
    assert not is_ours(ingress("a", cls="nginx"))
    legacy = ingress("a")
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    assert not is_ours(legacy)
