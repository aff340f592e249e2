"""Helm's Secret storage encoding (secrets.go/util.go): decode, encode, revisions from Secrets."""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket

import pytest

from shiplane.release.errors import ReleaseStorageError
from shiplane.release.revisions import OwnerState, Revision
from shiplane.release.storage import (
    decode_release,
    encode_release,
    owner_labels,
    owner_state,
    revision_from_secret,
)

RELEASE = {
    "name": "payment-service", "namespace": "dev", "version": 3,
    "info": {"status": "pending-upgrade", "description": "Upgrade in progress",
             "last_deployed": "2026-11-25T11:59:58.123456789Z"},
    "chart": {"metadata": {"name": "payment-service", "version": "1.2.0", "appVersion": "1.2.0"}},
    "manifest": "---\nkind: Service\n",
}


def helm_secret(release: dict, labels: dict[str, str] | None = None) -> dict:
    # What Helm writes: base64(gzip(json)) as the Secret's data, which the API base64s again.
    inner = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {"metadata": {"name": f"sh.helm.release.v1.{release['name']}.v{release['version']}",
                         "labels": {"owner": "helm", "name": release["name"],
                                    "status": release["info"]["status"],
                                    "version": str(release["version"]), **(labels or {})}},
            "data": {"release": base64.b64encode(inner).decode()}}


def test_decode_reads_helms_encoding_and_encode_round_trips() -> None:
    secret = helm_secret(RELEASE)
    assert decode_release(secret["data"]["release"]) == RELEASE
    assert decode_release(encode_release(RELEASE)) == RELEASE


def test_decode_accepts_uncompressed_payloads() -> None:
    # Helm's decodeRelease only gunzips when the gzip magic is present.
    data = base64.b64encode(base64.b64encode(json.dumps(RELEASE).encode())).decode()
    assert decode_release(data)["version"] == 3


@pytest.mark.parametrize("data", ["not base64!", base64.b64encode(b"abc").decode(),
                                  base64.b64encode(base64.b64encode(b"[1]")).decode()])
def test_garbage_is_a_storage_error(data: str) -> None:
    with pytest.raises(ReleaseStorageError):
        decode_release(data)


def test_revision_from_secret() -> None:
    revision = revision_from_secret(helm_secret(RELEASE, {"shiplane-host": "ci-1",
                                                          "shiplane-pid": "77"}))
    assert revision.number == 3 and revision.status == "pending-upgrade" and revision.pending
    assert revision.chart == "payment-service-1.2.0" and revision.app_version == "1.2.0"
    assert revision.updated is not None and revision.updated.second == 58
    assert (revision.owner_host, revision.owner_pid) == ("ci-1", 77)
    unlabelled = revision_from_secret(helm_secret(RELEASE))
    assert unlabelled.owner_host is None and unlabelled.owner_pid is None


def test_owner_labels_name_this_process_and_owner_state_checks_it() -> None:
    labels = owner_labels()
    assert labels["shiplane-pid"] == str(os.getpid())
    me = Revision(1, "pending-install", owner_host=labels["shiplane-host"], owner_pid=os.getpid())
    assert owner_state(me) is OwnerState.ALIVE
    # A pid that cannot exist (above pid_max) on this host: the writer is gone.
    gone = Revision(1, "pending-install", owner_host=labels["shiplane-host"], owner_pid=2**30)
    assert owner_state(gone) is OwnerState.DEAD
    elsewhere = Revision(1, "pending-install", owner_host="other-" + socket.gethostname()[:10],
                         owner_pid=1)
    assert owner_state(elsewhere) is OwnerState.UNKNOWN
    assert owner_state(Revision(1, "pending-install")) is OwnerState.UNKNOWN
