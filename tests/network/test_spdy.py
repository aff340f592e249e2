"""SPDY/3.1 framing and the port-forward session, without a WebSocket: the test plays kubectl's
part with the same frame builders (the real kubectl is in test_port_forward.py)."""

from __future__ import annotations

import asyncio
import struct
import zlib

import pytest

from shiplane.cluster.network.errors import SpdyProtocolError
from shiplane.cluster.network.port_forward import PortForwardSession, pod_target
from shiplane.cluster.network.spdy import (
    PING,
    SYN_REPLY,
    ControlFrame,
    DataFrame,
    FrameReader,
    HeaderCodec,
    data_frame,
    parse_syn_stream,
    ping_frame,
    rst_stream_frame,
    syn_stream_frame,
)
from shiplane.cluster.network.spdy_dictionary import HEADER_DICTIONARY


def test_dictionary_is_the_specified_one():
    assert len(HEADER_DICTIONARY) == 1423
    assert zlib.adler32(HEADER_DICTIONARY) == 3821447106


def test_header_blocks_round_trip_over_one_compression_context():
    client, server = HeaderCodec(), HeaderCodec()
    reader = FrameReader()
    wire = b"".join(syn_stream_frame(client, sid, {"streamType": kind, "port": "8080",
                                                   "requestID": "0"})
                    for sid, kind in ((1, "error"), (3, "data")))
    frames = []
    for i in range(0, len(wire), 7):  # arrives in small pieces
        frames += reader.feed(wire[i:i + 7])
    assert [f.stream_id for f in frames] == [1, 3]
    assert parse_syn_stream(server, frames[0]) == (
        1, {"streamtype": ["error"], "port": ["8080"], "requestid": ["0"]})
    assert parse_syn_stream(server, frames[1])[1]["streamtype"] == ["data"]


def test_data_frames_and_fin():
    frames = FrameReader().feed(data_frame(5, b"abc") + data_frame(5, b"", fin=True))
    assert frames == [DataFrame(5, 0, b"abc"), DataFrame(5, 1, b"")]
    assert frames[1].fin and not frames[0].fin


def test_bad_frames_are_rejected():
    spdy2 = struct.pack(">HHI", 0x8002, PING, 4) + b"\0\0\0\1"
    with pytest.raises(SpdyProtocolError, match="version 2"):
        FrameReader().feed(spdy2)
    with pytest.raises(SpdyProtocolError, match="header block"):
        HeaderCodec().decode(b"not zlib at all")


def test_pod_target_needs_a_running_pod_with_an_ip():
    assert pod_target({"status": {"phase": "Running", "podIP": "127.0.9.9"}}) == ("127.0.9.9", None)
    assert pod_target({"status": {"phase": "Pending"}})[1].endswith("Current status=Pending")
    assert "no IP" in pod_target({"status": {"phase": "Running"}})[1]


class _Kubectl:
    """The client half: sends frames into a session and collects what comes back."""

    def __init__(self, port: int) -> None:
        self.codec, self.server_codec = HeaderCodec(), HeaderCodec()
        self.reader = FrameReader()
        self.frames: list = []
        self.arrived = asyncio.Event()

        async def connect(p: int):
            assert p == port
            return await asyncio.open_connection("127.0.0.1", p)

        async def send(data: bytes) -> None:
            self.frames += self.reader.feed(data)
            self.arrived.set()

        self.session = PortForwardSession(send, connect, "web-1", "uid-1")

    async def open(self, request_id: str, port: str) -> None:
        for sid, kind in ((int(request_id) * 4 + 1, "error"), (int(request_id) * 4 + 3, "data")):
            await self.session.feed(syn_stream_frame(
                self.codec, sid, {"streamType": kind, "port": port, "requestID": request_id}))

    async def wait_for(self, predicate, timeout=5.0):
        async def loop():
            while not predicate():
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(loop(), timeout)

    def data_on(self, sid: int) -> tuple[bytes, bool]:
        chunks = [f for f in self.frames if isinstance(f, DataFrame) and f.stream_id == sid]
        return b"".join(f.data for f in chunks), any(f.fin for f in chunks)


def test_session_relays_a_connection_and_reports_a_refused_port():
    async def scenario():
        async def echo(reader, writer):
            data = await reader.read()  # until the client's FIN
            writer.write(b"echo:" + data)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        kubectl = _Kubectl(port)
        await kubectl.open("0", str(port))
        replies = [f for f in kubectl.frames if isinstance(f, ControlFrame)]
        assert [f.type for f in replies] == [SYN_REPLY, SYN_REPLY]
        await kubectl.session.feed(data_frame(3, b"hello"))
        await kubectl.session.feed(data_frame(1, b"", fin=True))  # kubectl closes its error side
        await kubectl.session.feed(data_frame(3, b"", fin=True))
        await kubectl.wait_for(lambda: kubectl.data_on(3)[1] and kubectl.data_on(1)[1])
        assert kubectl.data_on(3) == (b"echo:hello", True)
        assert kubectl.data_on(1) == (b"", True)  # no error

        await kubectl.session.feed(ping_frame(7))
        await kubectl.wait_for(lambda: any(isinstance(f, ControlFrame) and f.type == PING
                                           for f in kubectl.frames))

        server.close()
        await server.wait_closed()
        refused = _Kubectl(port)
        await refused.open("1", str(port))
        await refused.wait_for(lambda: refused.data_on(5)[1])
        message = refused.data_on(5)[0].decode()
        assert message.startswith(f"error forwarding port {port} to pod web-1, uid uid-1: ")
        assert refused.data_on(7) == (b"", True)

        bad = _Kubectl(1)
        await bad.open("2", "http")
        await bad.wait_for(lambda: bad.data_on(9)[1])
        assert 'invalid port "http"' in bad.data_on(9)[0].decode()

    asyncio.run(scenario())


def test_reset_stream_ends_the_forward():
    async def scenario():
        held = asyncio.Event()

        async def hold(reader, writer):
            held.set()
            await reader.read()
            writer.close()

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        kubectl = _Kubectl(port)
        await kubectl.open("0", str(port))
        await asyncio.wait_for(held.wait(), 5)
        await kubectl.session.feed(rst_stream_frame(3))
        for _ in range(100):
            if not kubectl.session._requests:
                break
            await asyncio.sleep(0.02)
        assert not kubectl.session._requests
        server.close()

    asyncio.run(scenario())


def test_channel_protocol_ports_query():
    from shiplane.cluster.network.errors import PortForwardError
    from shiplane.cluster.network.port_forward_channels import parse_port_query

    assert parse_port_query(["8080,9090", "7000"]) == [8080, 9090, 7000]
    for bad in (["http"], ["0"], ["70000"], ["80,"], []):
        with pytest.raises(PortForwardError):
            parse_port_query(bad)
