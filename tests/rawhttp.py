"""A small HTTP/1.1 client on a raw socket, for requests no client library would send.

It writes the bytes it is given and reads responses exactly as framed on the wire
(``Content-Length`` or chunked), so that a dropped connection or a half-written
response shows as such.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        """Every value of header *name*, line by line."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def closes(self) -> bool:
        return any(value.lower() == "close" for value in self.all("Connection"))

    def tokens(self, name: str) -> set[str]:
        """The comma-separated elements of every line of *name*, lower-cased."""
        return {t.strip().lower() for value in self.all(name) for t in value.split(",")}


class Dropped(Exception):
    """The server closed the connection without a complete response."""


async def read_response(reader: asyncio.StreamReader, head_only: bool = False) -> Response:
    """Read one response; *head_only* for the answer to a HEAD request."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise Dropped(f"connection closed after {error.partial[:200]!r}") from None
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name, value.strip(" \t")))
    response = Response(status, headers, b"")
    if head_only or status in (101, 204, 304):
        return response
    try:
        if "chunked" in response.tokens("Transfer-Encoding"):
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                chunks.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            response.body = b"".join(chunk[:-2] for chunk in chunks)
        else:
            length = response.one("Content-Length")
            response.body = await reader.readexactly(int(length)) if length else b""
    except asyncio.IncompleteReadError:
        raise Dropped(f"connection closed in the middle of the body of {status_line}") from None
    return response


def request_bytes(method: str, path: str, headers: list[tuple[str, bytes]]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    lines += [name.encode() + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


class Connection:
    """One keep-alive connection to a local server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(
        self, method: str, path: str, headers: list[tuple[str, bytes]] = (), timeout: float = 10
    ) -> Response:
        self.writer.write(request_bytes(method, path, list(headers)))
        return await asyncio.wait_for(read_response(self.reader, method == "HEAD"), timeout)

    async def still_serves(self, path: str = "/ping") -> None:
        """The connection answers a plain GET after what came before."""
        follow_up = await self.send("GET", path)
        assert follow_up.status == 200, f"the next request on the connection got {follow_up}"

    def close(self) -> None:
        self.writer.close()
