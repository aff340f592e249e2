"""Kubernetes protobuf request bodies, decoded to JSON objects (decode only).

client-go's typed clientsets send ``application/vnd.kubernetes.protobuf`` bodies — Helm's
release storage creates, updates and deletes its Secrets that way — so the embedded API
server must read them. The wire format (k8s.io/apimachinery ``runtime/serializer/protobuf``):
the 4-byte magic ``k8s\\x00`` then a ``runtime.Unknown`` message (typeMeta, raw,
contentEncoding, contentType) whose ``raw`` is the object's own message, as generated from
k8s.io/api ``generated.proto``. Only the kinds typed clients actually write to shiplane are
known here: Secret, ConfigMap, DeleteOptions, SelfSubjectAccessReview and SubjectAccessReview
(``kubectl auth can-i``), with ObjectMeta, OwnerReference and Time inside.
"""

from shiplane.cluster.protobuf.decode import MAGIC, UnsupportedProtobuf, decode_object

__all__ = ["MAGIC", "UnsupportedProtobuf", "decode_object"]
