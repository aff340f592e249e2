"""The CI tag set (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shiplane.build.errors import TagError
from shiplane.build.tags import TagInputs, compute_tags, parse_semver

NOW = datetime(2026, 11, 25, 9, 8, 7, tzinfo=timezone.utc)
SHA = "5d7ea34aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"


def test_full_tag_set_in_order() -> None:
    tags = compute_tags(TagInputs(version="v1.5.0", git_sha=SHA, build_number=42, time=NOW,
                                  extra=("latest",)))
    assert tags == ["1.5.0", "sha-5d7ea34", "build-42", "20261125090807", "latest"]


def test_dirty_tree_and_timezones() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=5)))
    tags = compute_tags(TagInputs(git_sha=SHA, dirty=True, time=local))
    assert tags == ["sha-5d7ea34-dirty", "20261125090807"]


@pytest.mark.parametrize("env", ["staging", "prod", "PROD", "production"])
def test_latest_refused_for_protected_environments(env: str) -> None:
    with pytest.raises(TagError, match="'latest' is refused"):
        compute_tags(TagInputs(version="1.0.0", environment=env, extra=("latest",)))


def test_latest_allowed_for_dev() -> None:
    assert compute_tags(TagInputs(environment="dev", extra=("latest",))) == ["latest"]


@pytest.mark.parametrize("text,expected", [("1.2.3", "1.2.3"), ("v0.1.0-rc.1", "0.1.0-rc.1"),
                                           ("1.0.0+build.5", "1.0.0_build.5")])
def test_semver(text: str, expected: str) -> None:
    assert parse_semver(text) == expected


@pytest.mark.parametrize("bad", ["1.2", "01.2.3", "1.2.3-", "latest", ""])
def test_bad_semver(bad: str) -> None:
    with pytest.raises(TagError):
        parse_semver(bad)


@pytest.mark.parametrize("inputs", [
    TagInputs(git_sha="not-a-sha"),
    TagInputs(extra=("-bad",)),
    TagInputs(extra=("x" * 129,)),
    TagInputs(build_number=-1),
    TagInputs(time=datetime(2026, 1, 1)),
])
def test_invalid_inputs(inputs: TagInputs) -> None:
    with pytest.raises(TagError):
        compute_tags(inputs)


def test_duplicates_removed() -> None:
    assert compute_tags(TagInputs(version="1.0.0", extra=("1.0.0", "edge"))) == ["1.0.0", "edge"]
