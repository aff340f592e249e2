"""SPDY/3.1 framing, the part Kubernetes streaming needs (pure: bytes in, frames out).

kubectl's port-forward (and exec/attach) multiplex streams with SPDY/3.1 (moby/spdystream), sent
over a plain HTTP ``Upgrade: SPDY/3.1`` or, since Kubernetes 1.30, tunnelled inside WebSocket
binary messages (client-go tools/portforward tunneling_connection.go). Frames (SPDY Protocol
Draft 3.1, section 2.2):

    control  |1| version=3 (15) | type (16) | flags (8) | length (24) | payload
    data     |0| stream-id (31)             | flags (8) | length (24) | payload

Control types used: SYN_STREAM 1 (stream id, associated id, priority, header block), SYN_REPLY
2 (stream id, header block), RST_STREAM 3, SETTINGS 4, PING 6 (echoed), GOAWAY 7, HEADERS 8,
WINDOW_UPDATE 9. FLAG_FIN (1) half-closes a stream. Header blocks are ``count, (len, name,
len, value)*`` with 32-bit big-endian lengths, compressed with one zlib stream per direction
seeded with :data:`HEADER_DICTIONARY` and sync-flushed after every block (section 2.6.10).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from shiplane.cluster.network.errors import SpdyProtocolError
from shiplane.cluster.network.spdy_dictionary import HEADER_DICTIONARY

__all__ = [
    "FLAG_FIN",
    "ControlFrame",
    "DataFrame",
    "FrameReader",
    "HeaderCodec",
    "control_frame_bytes",
    "data_frame",
    "goaway_frame",
    "parse_syn_stream",
    "ping_frame",
    "rst_stream_frame",
    "syn_reply_frame",
    "syn_stream_frame",
]

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = (
    1, 2, 3, 4, 6, 7, 8, 9)
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_REFUSED_STREAM, RST_CANCEL = 1, 2, 3, 5
MAX_FRAME = 1 << 24  # the length field's limit
MAX_HEADER_BLOCK = 1 << 20


@dataclass(frozen=True)
class ControlFrame:
    type: int
    flags: int
    payload: bytes

    @property
    def stream_id(self) -> int:
        if len(self.payload) < 4:
            return 0
        return struct.unpack_from(">I", self.payload)[0] & 0x7FFFFFFF


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    flags: int
    data: bytes

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class FrameReader:
    """Feed bytes as they arrive; get back the complete frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[ControlFrame | DataFrame]:
        self._buffer += data
        frames: list[ControlFrame | DataFrame] = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack_from(">II", self._buffer)
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            flags = flags_length >> 24
            payload = bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            if first & 0x80000000:
                version = (first >> 16) & 0x7FFF
                if version != VERSION:
                    raise SpdyProtocolError(f"SPDY version {version} is not supported (only 3)")
                frames.append(ControlFrame(first & 0xFFFF, flags, payload))
            else:
                frames.append(DataFrame(first & 0x7FFFFFFF, flags, payload))
        return frames


class HeaderCodec:
    """The two zlib contexts of one connection (one per direction)."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zdict=HEADER_DICTIONARY)
        self._deflate = zlib.compressobj(zdict=HEADER_DICTIONARY)

    def decode(self, block: bytes) -> dict[str, list[str]]:
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise SpdyProtocolError(f"bad SPDY header block: {exc}") from exc
        try:
            (count,) = struct.unpack_from(">I", raw)
            offset, headers = 4, {}
            for _ in range(count):
                (n,) = struct.unpack_from(">I", raw, offset)
                name = raw[offset + 4:offset + 4 + n].decode("latin-1")
                offset += 4 + n
                (v,) = struct.unpack_from(">I", raw, offset)
                value = raw[offset + 4:offset + 4 + v].decode("latin-1")
                offset += 4 + v
                headers.setdefault(name.lower(), []).extend(value.split("\x00"))
        except struct.error as exc:
            raise SpdyProtocolError("truncated SPDY header block") from exc
        return headers

    def encode(self, headers: dict[str, str]) -> bytes:
        raw = bytearray(struct.pack(">I", len(headers)))
        for name, value in headers.items():
            for part in (name.lower().encode("latin-1"), value.encode("latin-1")):
                raw += struct.pack(">I", len(part)) + part
        return self._deflate.compress(bytes(raw)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def control_frame_bytes(frame: ControlFrame) -> bytes:
    """A parsed control frame back on the wire (a PING reply is the PING echoed)."""
    return _control(frame.type, frame.flags, frame.payload)


def syn_stream_frame(codec: HeaderCodec, stream_id: int, headers: dict[str, str],
                     fin: bool = False) -> bytes:
    payload = struct.pack(">IIBB", stream_id, 0, 0, 0) + codec.encode(headers)
    return _control(SYN_STREAM, FLAG_FIN if fin else 0, payload)


def parse_syn_stream(codec: HeaderCodec, frame: ControlFrame) -> tuple[int, dict[str, list[str]]]:
    if len(frame.payload) < 10:
        raise SpdyProtocolError("SYN_STREAM frame too short")
    return frame.stream_id, codec.decode(frame.payload[10:])


def syn_reply_frame(codec: HeaderCodec, stream_id: int, headers: dict[str, str],
                    fin: bool = False) -> bytes:
    return _control(SYN_REPLY, FLAG_FIN if fin else 0,
                    struct.pack(">I", stream_id) + codec.encode(headers))


def data_frame(stream_id: int, data: bytes, fin: bool = False) -> bytes:
    if len(data) >= MAX_FRAME:
        raise SpdyProtocolError(f"a data frame holds less than {MAX_FRAME} bytes")
    return struct.pack(">II", stream_id & 0x7FFFFFFF,
                       ((FLAG_FIN if fin else 0) << 24) | len(data)) + data


def rst_stream_frame(stream_id: int, status: int = RST_CANCEL) -> bytes:
    return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping_frame(ping_id: int) -> bytes:
    return _control(PING, 0, struct.pack(">I", ping_id))


def goaway_frame(last_stream_id: int, status: int = 0) -> bytes:
    return _control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))
