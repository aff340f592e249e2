"""Kubernetes protobuf request bodies, decoded to JSON objects (decode only).

client-go's typed clientsets send ``application/vnd.kubernetes.protobuf`` bodies — Helm's
release storage creates, updates and deletes its Secrets that way — so the embedded API
server must read them. The wire format (k8s.io/apimachinery ``runtime/serializer/protobuf``):
the 4-byte magic ``k8s\\x00`` then a ``runtime.Unknown`` message (typeMeta, raw,
contentEncoding, contentType) whose ``raw`` is the object's own message, as defined in
k8s.io/api ``generated.proto``. Every kind of the stable built-in groups decodes (kubectl's
``create namespace|deployment|secret|rolebinding...`` and ``auth can-i`` send protobuf too),
driven by the field table in ``data/fields.json``.
"""

from shiplane.cluster.protobuf.decode import (
    MAGIC,
    ZERO_MEANINGFUL,
    UnsupportedProtobuf,
    decode_message,
    decode_object,
)

__all__ = ["MAGIC", "ZERO_MEANINGFUL", "UnsupportedProtobuf", "decode_message", "decode_object"]
