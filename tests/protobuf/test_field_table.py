"""The field-table generator reads .proto syntax as upstream writes it, and the shipped
table covers what clients send."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROTO = '''
syntax = "proto2";
package k8s.io.api.demo.v1;
import "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";
// Widget is a demo.
message Widget {
  // +optional
  optional .k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional WidgetSpec spec = 2;
  map<string, string> labels = 3;
  repeated string tags = 4; // trailing comment
}
message WidgetSpec {
  optional int32 replicas = 1;
}
'''


def test_generator_parses_messages_fields_and_maps():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_protobuf_fields.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    messages = {}
    gen.parse(PROTO, messages)
    assert messages["k8s.io.api.demo.v1.Widget"] == [
        [1, "metadata", "o", "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"],
        [2, "spec", "o", "k8s.io.api.demo.v1.WidgetSpec"],
        [3, "labels", "m", "string:string"],
        [4, "tags", "r", "string"],
    ]
    assert messages["k8s.io.api.demo.v1.WidgetSpec"] == [[1, "replicas", "o", "int32"]]


def test_shipped_table_covers_the_kinds_clients_write():
    table = json.loads((ROOT / "src/shiplane/cluster/protobuf/data/fields.json").read_text())["messages"]
    for name in ("k8s.io.api.core.v1.Secret", "k8s.io.api.apps.v1.Deployment", "k8s.io.api.rbac.v1.RoleBinding",
                 "k8s.io.api.authorization.v1.SelfSubjectAccessReview", "k8s.io.api.batch.v1.Job",
                 "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"):
        assert name in table
