"""A fixed-rate HTTP load generator for zero-downtime tests and benchmarks.

``LoadGenerator(host, port, path, rate)`` sends ``GET path`` at ``rate`` requests per second
from a background thread (its own event loop), each on a new TCP connection
(``Connection: close``), so every request is balanced anew by the Service proxy as a
client without keep-alive would be. Each request is recorded with its start time, latency,
status and body; a request fails when it cannot connect, the connection breaks, it takes
longer than ``timeout`` or the status is not 2xx. Requests are started on schedule whatever the
previous ones do (an open-loop generator: a slow backend does not slow the offered load).

::

    with LoadGenerator("127.96.0.12", 80, "/healthz", rate=200) as load:
        ...  # roll out
    assert load.failed() == []
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import dataclass
from types import TracebackType

__all__ = ["LoadGenerator", "Sample", "percentile"]


@dataclass(frozen=True)
class Sample:
    started: float  # time.monotonic()
    latency: float  # seconds
    status: int  # 0 when no HTTP answer
    body: bytes
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and not self.error


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


async def _request(host: str, port: int, path: str, timeout: float) -> tuple[int, bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                     "User-Agent: shiplane-load\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionError(f"no HTTP response ({len(raw)} bytes)")
    return int(parts[1]), body


class LoadGenerator:
    def __init__(self, host: str, port: int, path: str = "/", *, rate: float = 200.0,
                 timeout: float = 5.0) -> None:
        self.host, self.port, self.path = host, port, path
        self.rate, self.timeout = rate, timeout
        self.samples: list[Sample] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    async def _one(self, started: float) -> None:
        try:
            status, body = await _request(self.host, self.port, self.path, self.timeout)
            self.samples.append(Sample(started, time.monotonic() - started, status, body))
        except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
            self.samples.append(Sample(started, time.monotonic() - started, 0, b"",
                                       f"{type(exc).__name__}: {exc}"))

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        self._started.set()
        pending: set[asyncio.Task] = set()
        begin = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            due = begin + sent / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), delay)
                    break
                except asyncio.TimeoutError:
                    pass
            task = asyncio.ensure_future(self._one(time.monotonic()))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        if pending:
            await asyncio.wait(pending, timeout=self.timeout + 1)

    def start(self) -> LoadGenerator:
        def main() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._run())
            self._loop.close()

        self._thread = threading.Thread(target=main, name="shiplane-load", daemon=True)
        self._thread.start()
        self._started.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    def failed(self) -> list[Sample]:
        return [s for s in self.samples if not s.ok]

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.started < end]

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
