"""Label/field selectors and the three patch types, without a server."""

from __future__ import annotations

import pytest

from shiplane.cluster.apiserver.patches import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    PatchFailed,
    apply_patch,
    json_merge_patch,
)
from shiplane.cluster.apiserver.selectors import parse_field_selector, parse_label_selector
from shiplane.cluster.resources import REGISTRY
from shiplane.cluster.store import BadRequest

LABELS = {"app": "web", "tier": "front", "n": "5"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("missing!=x", True),
        ("app in (web,api)", True),
        ("app in (api)", False),
        ("app notin (api, db)", True),
        ("missing notin (a)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app=web,tier=back", False),
        ("app in (web),!missing,tier", True),
        ("n>3", True),
        ("n<3", False),
    ],
)
def test_label_selector_operators(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is expected


@pytest.mark.parametrize("bad", ["app in web", "app=x)", "n>abc", "a b"])
def test_label_selector_syntax_errors_are_bad_requests(bad: str) -> None:
    with pytest.raises(BadRequest, match="unable to parse requirement"):
        parse_label_selector(bad)


def test_field_selectors() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1"},
        "status": {"phase": "Running"},
    }
    allowed = REGISTRY.lookup("", "v1", "pods").selectable_fields
    assert parse_field_selector("spec.nodeName=n1,status.phase!=Failed", allowed).matches(pod)
    assert not parse_field_selector("status.phase==Pending", allowed).matches(pod)
    assert parse_field_selector("metadata.name=p", ()).matches(pod)
    assert parse_field_selector("spec.nodeName=", allowed).matches({"spec": {}})
    with pytest.raises(BadRequest, match="field label not supported: spec.foo"):
        parse_field_selector("spec.foo=x", allowed)


def test_merge_patch_follows_rfc_7386() -> None:
    # RFC 7386 appendix A examples
    assert json_merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert json_merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert json_merge_patch({"a": "b"}, {"a": None}) == {}
    assert json_merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert json_merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert json_merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}


DEPLOY = REGISTRY.lookup("apps", "v1", "deployments")


def deployment() -> dict:
    return {
        "metadata": {"name": "d", "finalizers": ["a"]},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "web:1",
                            "ports": [{"containerPort": 80}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        },
                        {"name": "side", "image": "side:1"},
                    ],
                    "volumes": [{"name": "v", "emptyDir": {}}],
                    "tolerations": [{"key": "a"}],
                }
            },
        },
    }


def smp(patch: dict) -> dict:
    return apply_patch(deployment(), STRATEGIC_MERGE_PATCH, patch, DEPLOY.patch_schema)


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def test_smp_merges_containers_by_name_and_env_by_name() -> None:
    result = smp(
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "web", "image": "web:2", "env": [{"name": "B", "value": "3"}]}
                        ]
                    }
                }
            }
        }
    )
    web, side = containers(result)
    assert web["image"] == "web:2" and side["image"] == "side:1"
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert web["ports"] == [{"containerPort": 80}]


def test_smp_patch_delete_and_replace_directives() -> None:
    result = smp(
        {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}}
    )
    assert [c["name"] for c in containers(result)] == ["web"]
    result = smp(
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": "only", "image": "o:1"}, {"$patch": "replace"}]
                    }
                }
            }
        }
    )
    assert containers(result) == [{"name": "only", "image": "o:1"}]
    result = smp({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    result = smp(
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "ports": [
                                    {"containerPort": 80, "$patch": "delete"},
                                    {"containerPort": 8080},
                                ],
                            }
                        ]
                    }
                }
            }
        }
    )
    assert containers(result)[0]["ports"] == [{"containerPort": 8080}]


def test_smp_lists_without_merge_key_are_replaced_and_primitives_unioned() -> None:
    result = smp(
        {
            "metadata": {"finalizers": ["b", "a"]},
            "spec": {"template": {"spec": {"tolerations": [{"key": "b"}]}}},
        }
    )
    assert result["metadata"]["finalizers"] == ["a", "b"]
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "b"}]
    result = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert result["metadata"]["finalizers"] == []


def test_smp_set_element_order_and_retain_keys() -> None:
    result = smp(
        {
            "spec": {
                "strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None},
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                        "containers": [{"name": "web", "image": "web:3"}],
                    }
                },
            }
        }
    )
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert [c["name"] for c in containers(result)] == ["side", "web"]
    assert containers(result)[1]["image"] == "web:3"


def test_smp_null_deletes_and_missing_merge_key_is_rejected() -> None:
    assert "replicas" not in smp({"spec": {"replicas": None}})["spec"]
    with pytest.raises(BadRequest, match="does not contain declared merge key: name"):
        smp({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})


def test_json_patch_and_its_failures() -> None:
    result = apply_patch(
        deployment(),
        JSON_PATCH,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 4},
            {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}},
        ],
        DEPLOY.patch_schema,
    )
    assert result["spec"]["replicas"] == 4 and result["metadata"]["labels"] == {"a": "b"}
    with pytest.raises(PatchFailed):
        apply_patch(
            deployment(),
            JSON_PATCH,
            [{"op": "test", "path": "/spec/replicas", "value": 9}],
            DEPLOY.patch_schema,
        )
    with pytest.raises(BadRequest):
        apply_patch(deployment(), JSON_PATCH, {"op": "add"}, DEPLOY.patch_schema)
    merged = apply_patch(
        deployment(),
        MERGE_PATCH,
        {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "x"}]}}}},
        DEPLOY.patch_schema,
    )
    assert containers(merged) == [{"name": "x", "image": "x"}]
