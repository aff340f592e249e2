"""Regenerate ``src/shiplane/cluster/protobuf/data/fields.json`` from upstream .proto files.

The table holds, per protobuf message of the stable built-in API groups, its fields as
``[number, name, label, type]`` (label ``o`` optional, ``r`` repeated, ``m`` map; map types
are ``key:value``). It is read from the ``generated.proto`` files of k8s.io/api and
k8s.io/apimachinery — the wire format's own definition — so the decoder needs no generated
code:

    python scripts/gen_protobuf_fields.py <k8s.io/api checkout> <k8s.io/apimachinery checkout>
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/shiplane/cluster/protobuf/data/fields.json"
STABLE = re.compile(r"/v[12]/generated\.proto$")
APIMACHINERY = ("pkg/apis/meta/v1/generated.proto", "pkg/runtime/generated.proto",
                "pkg/util/intstr/generated.proto", "pkg/api/resource/generated.proto")
FIELD = re.compile(r"^\s*(optional|repeated)\s+([.\w]+)\s+(\w+)\s*=\s*(\d+)\s*;")
MAP = re.compile(r"^\s*map<\s*([.\w]+)\s*,\s*([.\w]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")
SCALARS = {"string", "bytes", "int32", "int64", "uint32", "uint64", "bool", "double", "float",
           "sint32", "sint64", "fixed32", "fixed64"}


def qualify(type_name: str, package: str) -> str:
    if type_name in SCALARS:
        return type_name
    return type_name.lstrip(".") if type_name.startswith(".") else f"{package}.{type_name}"


def parse(text: str, messages: dict[str, list[list[object]]]) -> None:
    package = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
    current: str | None = None
    for line in text.splitlines():
        line = line.split("//", 1)[0]
        start = re.match(r"^message\s+(\w+)\s*\{", line)
        if start:
            current = f"{package}.{start.group(1)}"
            messages[current] = []
            continue
        if line.startswith("}"):
            current = None
            continue
        if current is None:
            continue
        field = FIELD.match(line)
        if field:
            label, type_name, name, number = field.groups()
            messages[current].append([int(number), name, label[0], qualify(type_name, package)])
            continue
        mapped = MAP.match(line)
        if mapped:
            key, value, name, number = mapped.groups()
            messages[current].append([int(number), name, "m", f"{key}:{qualify(value, package)}"])


def main(api_root: str, apimachinery_root: str) -> None:
    messages: dict[str, list[list[object]]] = {}
    for path in sorted(Path(api_root).rglob("generated.proto")):
        if STABLE.search(path.as_posix()):
            parse(path.read_text(), messages)
    for rel in APIMACHINERY:
        parse((Path(apimachinery_root) / rel).read_text(), messages)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"messages": messages}, separators=(",", ":"), sort_keys=True))
    print(f"{len(messages)} messages -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
