"""End-to-end builds with the embedded builder: real bubblewrap, real layers."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from shiplane.build import (
    ArchiveLimits,
    ArchiveRejected,
    BaseImageError,
    BuildOptions,
    Builder,
    ContextError,
    DockerfileError,
    RunFailed,
    start_image,
    unpack_rootfs,
)
from shiplane.build.images import ImageStore
from shiplane.build.oci import read_layout
from shiplane.build.store import DiskBlobStore, DiskRecordStore, MemoryBlobStore, MemoryRecordStore

pytestmark = pytest.mark.slow


def layer_members(builder: Builder, image, index: int = -1) -> dict[str, tarfile.TarInfo]:
    with builder.blobs.open(image.layers[index]["digest"]) as handle:
        with tarfile.open(fileobj=handle, mode="r|gz") as tar:
            return {m.name: m for m in tar}


def test_multi_stage_build_and_run_the_entrypoint(builder, base_images, make_context, tmp_path):
    ctx = make_context({"msg.txt": "hello from the build context\n", "Dockerfile": f"""
FROM {base_images.busybox} AS build
WORKDIR /work
COPY msg.txt .
RUN mkdir /out && cat msg.txt > /out/msg && echo "built as $(id -u) in $(pwd)" >> /out/msg

FROM scratch
COPY --from=build /bin/busybox /bin/busybox
COPY --from=build /out/ /out/
ENTRYPOINT ["/bin/busybox", "cat"]
CMD ["/out/msg"]
"""})
    result = builder.build(BuildOptions(ctx, layout=tmp_path / "layout", tags=["demo:1"]))
    assert result.cache_misses == 4 and len(result.image.layers) == 2
    assert result.image.config["config"]["Entrypoint"] == ["/bin/busybox", "cat"]
    assert read_layout(tmp_path / "layout", MemoryBlobStore(), "1").digest == result.digest
    root = unpack_rootfs(builder.blobs, result.image, tmp_path / "rootfs")
    process = start_image(root, result.image, stdout=subprocess.PIPE, network_host=False).process
    out, _ = process.communicate(timeout=30)
    assert out.decode() == "hello from the build context\nbuilt as 0 in /work\n"
    assert os.listdir(tmp_path / "work") == []  # the build's temp dir is gone


def test_rm_in_run_becomes_whiteouts(builder, base_images, make_context, tmp_path):
    ctx = make_context({"Dockerfile": f"FROM {base_images.busybox}\n"
                                      "RUN rm /etc/group && rm -r /home && mkdir /tmp/new\n"})
    result = builder.build(BuildOptions(ctx))
    members = layer_members(builder, result.image)
    assert {"etc/.wh.group", ".wh.home", "tmp/new"} <= set(members)
    assert "etc/passwd" not in members  # unchanged files are not in the layer
    root = unpack_rootfs(builder.blobs, result.image, tmp_path / "rootfs")
    assert not (root / "etc" / "group").exists() and not (root / "home").exists()
    assert (root / "etc" / "passwd").exists() and (root / "tmp" / "new").is_dir()


def test_run_honours_env_workdir_user_and_args(builder, base_images, make_context):
    ctx = make_context({"Dockerfile": f"""
FROM {base_images.busybox}
ARG GREETING=hi
ENV TARGET=world
WORKDIR /srv/app
RUN chown 10001:10001 /srv/app
USER 10001
RUN echo "$GREETING $TARGET $(pwd) $(id -u):$(id -g)" > out.txt
"""})
    result = builder.build(BuildOptions(ctx, build_args={"GREETING": "hello"}))
    members = layer_members(builder, result.image)
    info = members["srv/app/out.txt"]
    assert (info.uid, info.gid) == (10001, 10001)  # files a non-root USER writes are theirs
    with builder.blobs.open(result.image.layers[-1]["digest"]) as handle:
        with tarfile.open(fileobj=handle, mode="r|gz") as tar:
            for member in tar:
                if member.name == "srv/app/out.txt":
                    text = tar.extractfile(member).read().decode()
    assert text == "hello world /srv/app 10001:10001\n"
    env = result.image.config["config"]["Env"]
    assert "TARGET=world" in env and not any(e.startswith("GREETING=") for e in env)


def test_run_has_no_network_unless_host(builder, base_images, make_context):
    url = f"http://{base_images.registry}/v2/"
    ctx = make_context({"Dockerfile": f"FROM {base_images.busybox}\n"
                                      f"RUN wget -q -O /tmp/v2 {url}\n"})
    with pytest.raises(RunFailed) as info:
        builder.build(BuildOptions(ctx))
    assert info.value.exit_code != 0
    result = builder.build(BuildOptions(ctx, network="host"))
    assert "tmp/v2" in layer_members(builder, result.image)


def test_cache_hits_misses_and_no_cache(builder, base_images, make_context):
    ctx = make_context({"requirements.txt": "", "src/main.py": "print(1)\n", "Dockerfile": f"""
FROM {base_images.busybox}
COPY requirements.txt /app/
RUN cp /app/requirements.txt /app/installed
COPY src/ /app/src/
RUN ls /app/src > /app/listing
"""})
    first = builder.build(BuildOptions(ctx))
    assert (first.cache_hits, first.cache_misses) == (0, 4)
    again = builder.build(BuildOptions(ctx))
    assert (again.cache_hits, again.cache_misses) == (4, 0)
    assert again.digest == first.digest
    (ctx / "src" / "main.py").write_text("print(2)\n")
    changed = builder.build(BuildOptions(ctx))
    assert (changed.cache_hits, changed.cache_misses) == (2, 2)  # from the COPY of src/ on
    assert changed.image.layers[:2] == first.image.layers[:2]
    fresh = builder.build(BuildOptions(ctx, no_cache=True))
    assert (fresh.cache_hits, fresh.cache_misses) == (0, 4)
    assert fresh.digest == changed.digest  # same inputs, same bytes


def test_two_clean_builds_give_the_same_digest(base_images, make_context, tmp_path):
    files = {"app.py": "print('x')\n", "data/conf.json": "{}",
             "Dockerfile": f"FROM {base_images.busybox}\nCOPY . /app/\n"
                           "RUN echo $RANDOM > /dev/null && mkdir -p /var/log/app\n"
                           'LABEL team=payments\nCMD ["sh"]\n'}
    digests = []
    for attempt in range(2):
        ctx = make_context(files)
        os.utime(ctx / "app.py", (1_800_000_000 + attempt, 1_800_000_000 + attempt))
        blobs = DiskBlobStore(tmp_path / f"blobs{attempt}")
        source = ImageStore(DiskBlobStore(base_images.state / "build" / "blobs"),
                            DiskRecordStore(
                                base_images.state / "build" / "refs"))
        image = source.lookup(base_images.busybox)
        for digest in [image.digest, image.manifest["config"]["digest"],
                       *(layer["digest"] for layer in image.layers)]:
            blobs.put(source.blobs.get(digest))
        refs = MemoryRecordStore()
        images = ImageStore(blobs, refs)
        images.tag(base_images.busybox, image)
        builder = Builder(blobs, MemoryRecordStore(), images, tmp_path)
        result = builder.build(BuildOptions(ctx, source_date_epoch=1_700_000_000,
                                            layout=tmp_path / f"layout{attempt}"))
        digests.append(result.digest)
    assert digests[0] == digests[1]
    index = (tmp_path / "layout0" / "index.json").read_text()
    assert digests[0] in index


def test_add_local_tar_is_extracted(builder, base_images, make_context):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, text in (("pkg/a.txt", b"A"), ("pkg/b.txt", b"B")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    ctx = make_context({"vendor.tar.gz": raw.getvalue(), "plain.txt": "p",
                        "Dockerfile": f"FROM {base_images.busybox}\n"
                                      "ADD vendor.tar.gz /opt/\nADD --chmod=0600 plain.txt /opt/\n"
                                      "COPY --chown=10001 vendor.tar.gz /copied/\n"})
    result = builder.build(BuildOptions(ctx))
    assert {"opt/pkg/a.txt", "opt/pkg/b.txt"} <= set(layer_members(builder, result.image, -3))
    assert layer_members(builder, result.image, -2)["opt/plain.txt"].mode == 0o600
    copied = layer_members(builder, result.image, -1)["copied/vendor.tar.gz"]  # COPY: no extract
    assert (copied.uid, copied.gid) == (10001, 10001)


# -- bad input: a clear error, nothing tagged or written, no temp files ------------------


def _assert_nothing_left(builder: Builder, tmp_path: Path) -> None:
    assert os.listdir(tmp_path / "work") == []
    assert builder.images.lookup("bad:1") is None
    assert not (tmp_path / "out").exists()


def test_failing_run_shows_line_exit_code_and_output_tail(builder, base_images, make_context,
                                                          tmp_path):
    ctx = make_context({"Dockerfile": f"FROM {base_images.busybox}\nRUN echo fine\n"
                                      "RUN for i in 1 2 3 4 5; do echo line$i; done; exit 3\n"})
    with pytest.raises(RunFailed) as info:
        builder.build(BuildOptions(ctx, tags=["bad:1"], layout=tmp_path / "out"))
    message = str(info.value)
    assert message.startswith("Dockerfile:3: RUN for i in")
    assert "exited with code 3" in message and "line5" in message
    assert info.value.exit_code == 3
    _assert_nothing_left(builder, tmp_path)


def test_missing_base_image(builder, base_images, make_context, tmp_path):
    ctx = make_context({"Dockerfile": f"FROM {base_images.registry}/nope:1\n"})
    with pytest.raises(BaseImageError, match="nope:1' cannot be pulled"):
        builder.build(BuildOptions(ctx, tags=["bad:1"], layout=tmp_path / "out"))
    _assert_nothing_left(builder, tmp_path)


@pytest.mark.parametrize("dockerfile,error,message", [
    ("FROM scratch\nCOPY ../x /x\n", ContextError, "outside the build context"),
    ("FROM scratch\nCOPY /etc/passwd /x\n", ContextError, "absolute path"),
    ("FROM scratch\nCOPY link /x\n", ContextError, "outside the build context"),
    ("FROM scratch\nFETCH x\n", DockerfileError, "Dockerfile:2: unknown instruction: FETCH"),
    ("FROM scratch\nRUN true\n", RunFailed, "RUN needs /bin/sh"),
])
def test_bad_input(builder, make_context, tmp_path, dockerfile, error, message):
    ctx = make_context({"Dockerfile": dockerfile})
    os.symlink("/etc/passwd", ctx / "link")
    with pytest.raises(error, match=message):
        builder.build(BuildOptions(ctx, tags=["bad:1"], layout=tmp_path / "out"))
    _assert_nothing_left(builder, tmp_path)


def test_tar_bomb_in_add_is_refused(builder, base_images, make_context, tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("zeros")
        info.size = 32 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    ctx = make_context({"bomb.tar.gz": gzip.compress(raw.getvalue()),
                        "Dockerfile": f"FROM {base_images.busybox}\nADD bomb.tar.gz /x/\n"})
    with pytest.raises(ArchiveRejected, match="Dockerfile:2: ADD bomb.tar.gz: unpacks to more"):
        builder.build(BuildOptions(ctx, tags=["bad:1"], layout=tmp_path / "out",
                                   archive_limits=ArchiveLimits(max_bytes=1 << 20)))
    _assert_nothing_left(builder, tmp_path)


def test_copy_from_image_and_exec_form_run(builder, base_images, make_context):
    ctx = make_context({"Dockerfile": f"""
FROM scratch
COPY --from={base_images.busybox} /bin/busybox /bin/sh
RUN ["/bin/sh", "-c", "echo exec-form > /out"]
"""})
    result = builder.build(BuildOptions(ctx))
    assert "bin/sh" in layer_members(builder, result.image, 0)
    assert "out" in layer_members(builder, result.image, 1)


def test_chown_by_name_uses_the_stage_passwd(builder, base_images, make_context):
    ctx = make_context({"f.txt": "x", "Dockerfile": f"FROM {base_images.busybox}\n"
                                                    "COPY --chown=nobody:nobody f.txt /data/\n"})
    chowned = layer_members(builder, builder.build(BuildOptions(ctx)).image)["data/f.txt"]
    assert (chowned.uid, chowned.gid) == (65534, 65534)
    bad = make_context({"f.txt": "x", "Dockerfile": "FROM scratch\nCOPY --chown=app f.txt /\n"})
    with pytest.raises(ContextError, match="Dockerfile:2: --chown app: no user 'app'"):
        builder.build(BuildOptions(bad))


def test_run_cannot_create_device_nodes(builder, base_images, make_context):
    ctx = make_context({"Dockerfile": f"FROM {base_images.busybox}\nRUN mknod /tmp/sda b 8 0\n"})
    with pytest.raises(RunFailed, match="Operation not permitted"):
        builder.build(BuildOptions(ctx))


def test_copy_from_stage_globs_through_symlinks_inside_the_stage(builder, base_images,
                                                                 make_context):
    ctx = make_context({"Dockerfile": f"""
FROM {base_images.busybox} AS s
RUN mkdir -p /a/x && echo 1 > /a/x/f1 && echo 2 > /a/x/g && ln -s /a /lnk
FROM scratch
COPY --from=s /lnk/x/f* /out/
"""})
    result = builder.build(BuildOptions(ctx))
    assert sorted(layer_members(builder, result.image)) == ["out/f1"]


def test_dockerfile_specific_ignore_file_wins(builder, make_context):
    ctx = make_context({"a.txt": "a", "b.txt": "b", ".dockerignore": "a.txt\n",
                        "build/app.Dockerfile": "FROM scratch\nCOPY *.txt /\n",
                        "build/app.Dockerfile.dockerignore": "b.txt\n"})
    result = builder.build(BuildOptions(ctx, dockerfile=ctx / "build" / "app.Dockerfile"))
    assert sorted(layer_members(builder, result.image)) == ["a.txt"]
    plain = make_context({"a.txt": "a", "b.txt": "b", ".dockerignore": "a.txt\n",
                          "Dockerfile": "FROM scratch\nCOPY *.txt /\n"})
    assert sorted(layer_members(builder, builder.build(BuildOptions(plain)).image)) == ["b.txt"]
