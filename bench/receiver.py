"""Webhook receivers for the benchmark, in their own process.

- the live receiver answers every request `200` at once (HTTP/1.1 keep-alive, a minimal parser on
  an asyncio Protocol: the receiver must never be the bottleneck) and counts what it got;
  `GET /__count` answers the count as JSON;
- the dead receiver accepts connections, reads whatever comes and never answers.

`python -m bench.receiver` prints `{"live": PORT, "dead": PORT}` on one line when both listen,
then serves until its standard input closes or it is terminated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

COUNTS = {"requests": 0, "bytes": 0}


class LiveProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:  # uvloop's is no asyncio.Transport
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            total = end + 4 + length
            if len(self.buf) < total:
                return
            del self.buf[:total]
            self.respond(head.split(" ", 2))

    def respond(self, request_line: list[str]) -> None:
        assert self.transport is not None
        if len(request_line) >= 2 and request_line[0] == "GET" and request_line[1] == "/__count":
            body = json.dumps(COUNTS).encode()
        else:
            COUNTS["requests"] += 1
            body = b""
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )


class DeadProtocol(asyncio.Protocol):
    """Accepts, reads, never answers: the endpoint that hangs until the sender's timeout."""

    def data_received(self, data: bytes) -> None:
        COUNTS["bytes"] += len(data)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    live = await loop.create_server(LiveProtocol, "127.0.0.1", 0, backlog=1024)
    dead = await loop.create_server(DeadProtocol, "127.0.0.1", 0, backlog=1024)
    ports = {
        "live": live.sockets[0].getsockname()[1],
        "dead": dead.sockets[0].getsockname()[1],
    }
    print(json.dumps(ports), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Also stop when the parent goes away (its end of our stdin closes).
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    eof = asyncio.ensure_future(reader.read())
    await asyncio.wait([eof, asyncio.ensure_future(stop.wait())], return_when="FIRST_COMPLETED")
    live.close()
    dead.close()


def main() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        asyncio.run(serve())
    else:
        uvloop.run(serve())


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
