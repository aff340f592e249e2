"""Values precedence exactly as Helm: values.yaml < -f (left to right) < --set-json <
--set < --set-string < --set-file < --set-literal (helm pkg/cli/values/options.go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shiplane.charts import (
    SetExpressionError,
    ValueOverrides,
    ValuesFileError,
    merge_values,
    render_chart,
)


def rendered_values(chart: Path, overrides: ValueOverrides) -> dict:
    """What the templates actually saw (the chart's ConfigMap dumps .Values)."""
    rendered = render_chart(chart, overrides, release_name="r")
    data = rendered.find("ConfigMap")["data"]
    return {"values": json.loads(data["values.json"]), "image": data["image"],
            "tagKind": data["tagKind"]}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_chart_defaults_apply_without_overrides(probe_chart):
    seen = rendered_values(probe_chart, ValueOverrides())
    assert seen["image"] == "example/probe:latest"
    assert seen["values"]["hosts"] == ["a.example", "b.example"]


def test_values_files_merge_left_to_right_maps_deep_lists_replace(probe_chart, tmp_path):
    first = write(tmp_path, "a.yaml", "image: {tag: one}\nreplicaCount: 2\nhosts: [x.example]\n")
    second = write(tmp_path, "b.yaml", "image: {tag: two}\nresources: {requests: {memory: 1Gi}}\n")
    seen = rendered_values(probe_chart, ValueOverrides(values_files=(first, second)))["values"]
    assert seen["image"] == {"repository": "example/probe", "tag": "two"}
    assert seen["replicaCount"] == 2
    assert seen["hosts"] == ["x.example"]  # lists replace, never merge
    assert seen["resources"] == {"requests": {"cpu": "100m", "memory": "1Gi"},
                                 "limits": {"cpu": "1"}}
    reversed_ = rendered_values(probe_chart, ValueOverrides(values_files=(second, first)))
    assert reversed_["values"]["image"]["tag"] == "one"


def test_set_family_applies_by_flag_type_not_position(probe_chart, tmp_path):
    file_value = write(tmp_path, "tag.txt", "from-file")
    base = write(tmp_path, "f.yaml", "image: {tag: from-values-file}\n")
    steps = [
        (ValueOverrides(values_files=(base,)), "from-values-file"),
        (ValueOverrides(values_files=(base,), set_json=('image.tag="json"',)), "json"),
        (ValueOverrides(values_files=(base,), set_json=('image.tag="json"',),
                        set=("image.tag=plain",)), "plain"),
        (ValueOverrides(values_files=(base,), set=("image.tag=plain",),
                        set_string=("image.tag=string",)), "string"),
        (ValueOverrides(set_string=("image.tag=string",),
                        set_file=(f"image.tag={file_value}",)), "from-file"),
        (ValueOverrides(set_file=(f"image.tag={file_value}",),
                        set_literal=("image.tag=lit,eral",)), "lit,eral"),
    ]
    for overrides, expected in steps:
        assert merge_values(overrides)["image"]["tag"] == expected, overrides


def test_later_expressions_of_one_flag_win(probe_chart):
    seen = merge_values(ValueOverrides(set=("replicaCount=2", "replicaCount=3")))
    assert seen["replicaCount"] == 3


def test_all_digit_sha_is_an_int_with_set_and_a_string_with_set_string(probe_chart):
    as_set = rendered_values(probe_chart, ValueOverrides(set=("image.tag=1234567",)))
    assert as_set["values"]["image"]["tag"] == 1234567
    assert as_set["tagKind"] in ("int64", "float64")  # a number, not a string
    as_string = rendered_values(probe_chart, ValueOverrides(
        set=("image.tag=1234567",), set_string=("image.tag=1234567",)))
    assert as_string["values"]["image"]["tag"] == "1234567"
    assert as_string["tagKind"] == "string"
    assert as_string["image"] == "example/probe:1234567"


def test_helm_typing_rules_for_set():
    values = merge_values(ValueOverrides(
        set=("a=true,b=FALSE,c=0,d=0123,e=1e3,f=null,g=12",)))
    assert values == {"a": True, "b": False, "c": 0, "d": "0123", "e": "1e3", "f": None, "g": 12}


def test_set_indexes_into_an_existing_list_keeping_other_elements(probe_chart, tmp_path):
    base = write(tmp_path, "f.yaml", "hosts: [one, two, three]\nitems: [{name: a, port: 1}]\n")
    values = merge_values(ValueOverrides(
        values_files=(base,), set=("hosts[1]=TWO", "items[0].port=8080")))
    assert values["hosts"] == ["one", "TWO", "three"]
    assert values["items"] == [{"name": "a", "port": 8080}]


def test_list_literal_replaces_the_list():
    values = merge_values(ValueOverrides(base={"hosts": ["a", "b", "c"]},
                                         set=("hosts={x,y}",)))
    assert values["hosts"] == ["x", "y"]


def test_set_json_object_replaces_like_helm(tmp_path):
    base = write(tmp_path, "f.yaml", "resources: {limits: {cpu: 1}, requests: {cpu: 2}}\n")
    values = merge_values(ValueOverrides(
        values_files=(base,), set_json=('resources={"limits":{"memory":"1Gi"}},x.y=[1,2]',)))
    assert values["resources"] == {"limits": {"memory": "1Gi"}}
    assert values["x"] == {"y": [1, 2]}


def test_dotted_set_merges_into_an_existing_map(tmp_path):
    base = write(tmp_path, "f.yaml", "resources: {limits: {cpu: 1}, requests: {cpu: 2}}\n")
    values = merge_values(ValueOverrides(values_files=(base,),
                                         set=("resources.limits.memory=1Gi",)))
    assert values["resources"] == {"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": 2}}


def test_escaped_dots_and_commas(probe_chart):
    values = merge_values(ValueOverrides(
        set=(r"labels.kubernetes\.io/role=web,note=a\,b",)))
    assert values == {"labels": {"kubernetes.io/role": "web"}, "note": "a,b"}


def test_null_deletes_a_chart_default(probe_chart):
    seen = rendered_values(probe_chart, ValueOverrides(set=("resources.limits=null",)))
    assert seen["values"]["resources"] == {"requests": {"cpu": "100m"}}


def test_malformed_set_expression_names_it():
    with pytest.raises(SetExpressionError, match=r"--set 'image\.tag'.*has no value"):
        merge_values(ValueOverrides(set=("image.tag",)))


def test_setting_inside_a_scalar_is_refused_like_helm():
    with pytest.raises(SetExpressionError, match="image"):
        merge_values(ValueOverrides(base={"image": "nginx"}, set=("image.tag=1",)))


def test_missing_values_file_is_named(tmp_path):
    missing = tmp_path / "values-nope.yaml"
    with pytest.raises(ValuesFileError, match="values-nope.yaml: no such file"):
        merge_values(ValueOverrides(values_files=(missing,)))


def test_invalid_yaml_values_file_is_named(tmp_path):
    broken = write(tmp_path, "broken.yaml", "image: [unclosed\n")
    with pytest.raises(ValuesFileError, match="broken.yaml"):
        merge_values(ValueOverrides(values_files=(broken,)))
