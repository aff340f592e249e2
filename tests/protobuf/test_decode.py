"""Kubernetes protobuf request bodies. The Secret fixture is the exact body Helm 4's SDK
(helm_python) sent to create its release Secret; the other cases are encoded here with
the wire rules of k8s generated.proto."""

import base64
import gzip
import json
from pathlib import Path

import pytest

from shiplane.cluster.protobuf import UnsupportedProtobuf, decode_object

HERE = Path(__file__).parent


def test_helm_release_secret_from_the_real_sdk():
    obj = decode_object((HERE / "helm-release-secret.pb").read_bytes())
    assert obj["apiVersion"] == "v1" and obj["kind"] == "Secret"
    assert obj["type"] == "helm.sh/release.v1"
    assert obj["metadata"]["name"] == "sh.helm.release.v1.demo.v1"
    assert obj["metadata"]["labels"]["owner"] == "helm"
    assert obj["metadata"]["labels"]["status"] == "pending-install"
    assert set(obj["metadata"]) == {"name", "labels"}  # empty strings omitted like omitempty
    release = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(obj["data"]["release"]))))
    assert (release["name"], release["version"]) == ("demo", 1)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, value):
    if isinstance(value, bool):
        return varint(number << 3) + varint(int(value))
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint((number << 3) | 2) + varint(len(data)) + data


def entry(number, key, value):
    return field(number, field(1, key) + field(2, value))


def envelope(kind, raw, api_version="v1"):
    return b"k8s\x00" + field(1, field(1, api_version) + field(2, kind)) + field(2, raw) + field(3, "") + field(4, "")


def test_config_map_with_meta():
    meta = (field(1, "cfg") + field(3, "payments") + field(5, "") + field(7, 3)
            + field(8, field(1, 1767225600)) + entry(12, "a", "b") + field(14, "x/y")
            + field(13, field(1, "Deployment") + field(3, "web") + field(4, "u1") + field(5, "apps/v1") + field(6, True)))
    body = envelope("ConfigMap", field(1, meta) + entry(2, "LOG", "info") + entry(3, "bin", b"\x00\x01") + field(4, False))
    assert decode_object(body) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "payments", "generation": 3,
                     "creationTimestamp": "2026-01-01T00:00:00Z", "annotations": {"a": "b"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": "u1", "controller": True}],
                     "finalizers": ["x/y"]},
        "data": {"LOG": "info"}, "binaryData": {"bin": "AAE="}, "immutable": False,
    }


def test_delete_options():
    body = envelope("DeleteOptions", field(1, 0) + field(2, field(1, "uid-1")) + field(4, "Background") + field(5, "All"))
    assert decode_object(body) == {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                                   "preconditions": {"uid": "uid-1"}, "propagationPolicy": "Background",
                                   "dryRun": ["All"]}


@pytest.mark.parametrize("body, problem", [
    (b'{"kind":"Secret"}', "no k8s"),
    (envelope("Frobnicator", b""), r"kind Frobnicator \(v1\) are not supported"),
    (b"k8s\x00\x0a\x05", "truncated"),
    (b"k8s\x00" + field(1, field(2, "Secret")) + field(3, "gzip"), "content encoding"),
])
def test_refusals(body, problem):
    with pytest.raises(UnsupportedProtobuf, match=problem):
        decode_object(body)


def test_kubectl_auth_can_i_review_from_the_real_client():
    # kubectl auth can-i create deployments -n dev (kubectl v1.37) sends this body
    obj = decode_object((HERE / "kubectl-selfsubjectaccessreview.pb").read_bytes())
    assert obj["apiVersion"] == "authorization.k8s.io/v1" and obj["kind"] == "SelfSubjectAccessReview"
    assert obj["spec"] == {"resourceAttributes": {"namespace": "dev", "verb": "create", "group": "apps",
                                                  "resource": "deployments"}}


def test_subject_access_review():
    spec = (field(1, field(2, "get") + field(5, "pods")) + field(3, "alice") + field(4, "devs")
            + field(4, "system:authenticated") + field(6, "u-1"))
    body = envelope("SubjectAccessReview", field(2, spec), api_version="authorization.k8s.io/v1")
    assert decode_object(body)["spec"] == {"resourceAttributes": {"verb": "get", "resource": "pods"},
                                           "user": "alice", "groups": ["devs", "system:authenticated"],
                                           "uid": "u-1"}


def test_kubectl_create_deployment_from_the_real_client():
    # kubectl create deployment web --image=nginx:1.25 --replicas=0 --port=8080 -n dev
    obj = decode_object((HERE / "kubectl-create-deployment.pb").read_bytes())
    assert obj["apiVersion"] == "apps/v1" and obj["kind"] == "Deployment"
    assert obj["metadata"] == {"name": "web", "namespace": "dev", "labels": {"app": "web"}}
    spec = obj["spec"]
    assert spec["replicas"] == 0  # a pointer: zero is kept
    assert "minReadySeconds" not in spec  # a plain int: zero is omitempty
    assert spec["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 8080}]}]


def test_kubectl_create_rolebinding_from_the_real_client():
    obj = decode_object((HERE / "kubectl-create-rolebinding.pb").read_bytes())
    assert obj["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}
    assert obj["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "developers"}]


def test_special_types_decode_like_go_json():
    from shiplane.cluster.protobuf import decode_message

    port = field(1, "http") + field(2, "TCP") + field(3, 80) + field(4, field(1, 1) + field(3, "web"))
    assert decode_message("k8s.io.api.core.v1.ServicePort", port) == {
        "name": "http", "protocol": "TCP", "port": 80, "targetPort": "web"}
    numeric = field(3, 80) + field(4, field(1, 0) + field(2, 8080))
    assert decode_message("k8s.io.api.core.v1.ServicePort", numeric)["targetPort"] == 8080
    limits = entry(1, "cpu", field(1, "500m"))
    assert decode_message("k8s.io.api.core.v1.ResourceRequirements", limits) == {"limits": {"cpu": "500m"}}
    negative = field(8, (1 << 64) - 5)  # int32 -5 on the wire (sign-extended varint)
    assert decode_message("k8s.io.api.core.v1.ContainerPort", field(3, 8080) + negative)["containerPort"] == 8080
    raw = field(1, b'{"a":1}')
    assert decode_message("k8s.io.apimachinery.pkg.runtime.RawExtension", raw) == {"a": 1}
    security = field(4, 0) + field(6, False)  # runAsUser: 0, readOnlyRootFilesystem: false are real values
    assert decode_message("k8s.io.api.core.v1.SecurityContext", security) == {
        "runAsUser": 0, "readOnlyRootFilesystem": False}
