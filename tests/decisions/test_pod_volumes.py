"""Pod volumes: projected files of configMap/secret volumes and containers' mounts."""

import pytest

from shiplane.cluster.decisions.pod_volumes import (
    Mount,
    ProjectedFile,
    VolumeSetupError,
    container_mounts,
    projected_files,
    volume_sources,
)

CM = {"metadata": {"name": "cfg"}, "data": {"app.conf": "a=1", "b": "2"},
      "binaryData": {"bin": "AAE="}}
SECRET = {"metadata": {"name": "creds"}, "data": {"token": "czNjcjN0"}}
SOURCES = {("ConfigMap", "cfg"): CM, ("Secret", "creds"): SECRET}


def test_config_map_volume_projects_every_key_with_the_default_mode():
    files = projected_files({"name": "c", "configMap": {"name": "cfg", "defaultMode": 0o640}},
                            SOURCES)
    assert files == [ProjectedFile("app.conf", b"a=1", 0o640), ProjectedFile("b", b"2", 0o640),
                     ProjectedFile("bin", b"\x00\x01", 0o640)]


def test_items_select_keys_with_their_own_paths_and_modes():
    files = projected_files({"name": "s", "secret": {"secretName": "creds", "items": [
        {"key": "token", "path": "auth/token", "mode": 0o400}]}}, SOURCES)
    assert files == [ProjectedFile("auth/token", b"s3cr3t", 0o400)]
    with pytest.raises(VolumeSetupError,
                       match="configmap references non-existent config key: nope"):
        projected_files({"name": "c", "configMap": {"name": "cfg", "items": [{"key": "nope",
                                                                            "path": "x"}]}},
                        SOURCES)
    with pytest.raises(VolumeSetupError, match="inside the volume"):
        projected_files({"name": "c", "configMap": {"name": "cfg", "items": [{"key": "b",
                                                                            "path": "../x"}]}},
                        SOURCES)


def test_missing_sources_fail_the_mount_unless_optional():
    with pytest.raises(VolumeSetupError, match='^MountVolume.SetUp failed for volume "c" : '
                                               'configmap "gone" not found$'):
        projected_files({"name": "c", "configMap": {"name": "gone"}}, SOURCES)
    assert projected_files({"name": "c", "secret": {"secretName": "gone", "optional": True}},
                           SOURCES) == []
    assert projected_files({"name": "t", "emptyDir": {}}, SOURCES) == []


def test_unsupported_volume_types_are_named():
    with pytest.raises(VolumeSetupError, match="hostPath volumes are not supported"):
        projected_files({"name": "h", "hostPath": {"path": "/etc"}}, SOURCES)


def test_mounts_of_a_container():
    pod = {"spec": {"volumes": [{"name": "tmp", "emptyDir": {}},
                                {"name": "cfg", "configMap": {"name": "cfg"}},
                                {"name": "s", "secret": {"secretName": "creds"}}]}}
    container = {"volumeMounts": [{"name": "tmp", "mountPath": "/tmp/"},
                                  {"name": "cfg", "mountPath": "/etc/app.conf",
                                   "subPath": "app.conf"},
                                  {"name": "tmp", "mountPath": "/cache", "readOnly": True}]}
    assert container_mounts(pod, container) == [
        Mount("tmp", "/tmp", False), Mount("cfg", "/etc/app.conf", True, "app.conf"),
        Mount("tmp", "/cache", True)]
    assert volume_sources(pod) == {("ConfigMap", "cfg"), ("Secret", "creds")}
    with pytest.raises(VolumeSetupError, match='volumeMount "x": no volume'):
        container_mounts(pod, {"volumeMounts": [{"name": "x", "mountPath": "/x"}]})
    with pytest.raises(VolumeSetupError, match="subPath"):
        container_mounts(pod, {"volumeMounts": [{"name": "tmp", "mountPath": "/x",
                                                 "subPath": "../../etc"}]})
