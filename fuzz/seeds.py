"""Write the seed inputs of the fuzz corpus (``python fuzz/seeds.py``).

Each seed is one NUL-separated record, as ``target.split`` reads it: policy
index, Origin, requested method, request-header lines, response header names.
"""

from __future__ import annotations

import hashlib

from target import CORPUS

ORIGINS = [
    "https://app.example",
    "HTTPS://APP.EXAMPLE",
    "https://app.example/",
    "https://app.example:443",
    "https://user@app.example",
    "null",
    "",
    "*",
    "https://a.example.com",
    "https://.example.com",
    "https://a..example.com",
    "https://example.com.evil.net",
    "http://localhost:3000",
    "http://localhost:03000",
    "http://[::1]:80",
    "https://b\u00fccher.example.com",
    "https://abc.example.org",
    "https://abcdefghij.example.org",
    "https://a.example.com\t",
]
METHODS = ["GET", "PUT", "put", "DELETE", "CONNECT", "", "G T", "P\u00dcT", "*"]
REQUESTED = [
    "",
    "X-Token",
    "x-token, content-type",
    "a,,b",
    ",,,,,,,,,,,,,,,,,,",
    "X Token",
    "x-token\nX-Other",
    "\u00fc",
    "a" * 5000,
    ",".join(["x"] * 2000),
]
RESPONSE = ["", "X-Id", "X-Id\nSet-Cookie\nContent-Type", "Vary", "Access-Control-Allow-Origin"]


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    records = []
    for n, origin in enumerate(ORIGINS):
        method = METHODS[n % len(METHODS)]
        requested = REQUESTED[n % len(REQUESTED)]
        response = RESPONSE[n % len(RESPONSE)]
        for policy in range(4):
            fields = [
                bytes([policy]),
                *(v.encode("utf-8") for v in (origin, method, requested, response)),
            ]
            records.append(b"\x00".join(fields))
    records.append(b"\x02\x00https://a.example.com\x00PUT\x00\xff\xfe\x00X-Id")
    for record in records:
        (CORPUS / ("seed-" + hashlib.sha1(record).hexdigest()[:16])).write_bytes(record)
    print(f"{len(records)} seeds in {CORPUS}")


if __name__ == "__main__":
    main()
