"""Names, tags, digests and image references (pure parsing) — examples and fuzzing."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiplane.registry import ImageReference, ReferenceInvalid, parse_digest
from shiplane.registry.reference import NAME_RE, TAG_RE, is_valid_name, validate_name, validate_tag

HEX = "a" * 64


@pytest.mark.parametrize("text, expected", [
    ("ubuntu", ("docker.io", "library/ubuntu", "latest", None)),
    ("docker.io/ubuntu:22.04", ("docker.io", "library/ubuntu", "22.04", None)),
    ("index.docker.io/library/nginx", ("docker.io", "library/nginx", "latest", None)),
    ("bitnami/redis:7", ("docker.io", "bitnami/redis", "7", None)),
    ("localhost/app", ("localhost", "app", "latest", None)),
    ("127.0.0.1:5000/team/api:1.0", ("127.0.0.1:5000", "team/api", "1.0", None)),
    (f"ghcr.io/o/r@sha256:{HEX}", ("ghcr.io", "o/r", None, f"sha256:{HEX}")),
    (f"r.example:443/o/r:t@sha256:{HEX}", ("r.example:443", "o/r", "t", f"sha256:{HEX}")),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/svc:sha-abc1234",
     ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "svc", "sha-abc1234", None)),
])
def test_parse_reference(text, expected):
    ref = ImageReference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


def test_reference_round_trip_and_api_host():
    ref = ImageReference.parse("nginx:1.25")
    assert str(ref) == "docker.io/library/nginx:1.25"
    assert ref.api_host == "registry-1.docker.io"
    assert ImageReference.parse(str(ref)) == ref
    pinned = ref.with_digest(f"sha256:{HEX}")
    assert pinned.reference == f"sha256:{HEX}"


@pytest.mark.parametrize("text", [
    "", " x", "UPPER/case", "a/../b", "../etc/passwd", "a//b", "a/b:", "a/b:-bad",
    "a/b@sha256:short", "a/b@md5:" + "a" * 32, "host:99999999999x/a", "a/" + "b" * 300,
    "a/b:" + "t" * 129, "a_/b",
])
def test_invalid_references_are_refused(text):
    with pytest.raises(ReferenceInvalid):
        ImageReference.parse(text)


@pytest.mark.parametrize("name", ["a", "a/b", "a-b/c_d", "a__b", "a.b/c--d", "0/1"])
def test_valid_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a/", "/a", "a/../b", "..", "a/./b", "a___b", "a..b"])
def test_invalid_names(name):
    with pytest.raises(ReferenceInvalid):
        validate_name(name)


@pytest.mark.parametrize("tag, ok", [("v1", True), ("_x", True), ("1.0-rc.1", True),
                                     (".hidden", False), ("-x", False), ("a" * 128, True),
                                     ("a" * 129, False), ("a/b", False), ("", False)])
def test_tags(tag, ok):
    if ok:
        assert validate_tag(tag) == tag
    else:
        with pytest.raises(ReferenceInvalid):
            validate_tag(tag)


def test_digests():
    assert str(parse_digest(f"sha256:{HEX}")) == f"sha256:{HEX}"
    assert parse_digest("sha512:" + "b" * 128).algorithm == "sha512"
    for bad in [f"sha256:{HEX.upper()}", "sha256:" + "a" * 63, "sha1:" + "a" * 40, HEX, "sha256:"]:
        with pytest.raises(ReferenceInvalid):
            parse_digest(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_reference_parser_only_raises_our_error(text):
    try:
        ref = ImageReference.parse(text)
    except ReferenceInvalid:
        return
    # Whatever parses is made of valid parts and re-parses to itself.
    assert is_valid_name(ref.repository)
    assert ".." not in ref.repository.split("/")
    assert ImageReference.parse(str(ref)) == ref


_alnum = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
_component = st.builds(lambda parts, seps: "".join(p + s for p, s in zip(parts, seps)) + parts[-1],
                       st.lists(_alnum, min_size=1, max_size=3),
                       st.lists(st.sampled_from([".", "_", "__", "-", "--"]), min_size=3, max_size=3))
_names = st.lists(_component, min_size=1, max_size=4).map("/".join)
_tags = st.builds(lambda first, rest: first + rest,
                  st.sampled_from("aZ9_"), st.text("abcXYZ019._-", max_size=20))


@settings(max_examples=200, deadline=None)
@given(_names, _tags)
def test_fuzz_valid_name_and_tag_parse(name, tag):
    assert NAME_RE.fullmatch(name) and TAG_RE.fullmatch(tag)
    ref = ImageReference.parse(f"registry.example:5000/{name}:{tag}")
    assert (ref.repository, ref.tag) == (name, tag)
