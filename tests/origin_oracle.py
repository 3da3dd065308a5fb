"""What a browser sends as ``Origin``, computed without the library: the URL
Standard's serialisation of an origin, its hosts as the ``idna`` package (IDNA 2008,
UTS #46, non-transitional) and ``ipaddress`` write them."""

from __future__ import annotations

import ipaddress
import re

import idna

DEFAULT_PORTS = {"http": "80", "https": "443"}
MAX_LENGTH = 300  # the library's documented bound


def ascii_host(host: str) -> str | None:
    """*host* (a domain) as a browser writes it in an origin, else ``None``."""
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def ipv6_serialised(text: str) -> str | None:
    """``[address]`` as browsers serialise it, else ``None``."""
    if "%" in text:
        return None
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    mapped = address.ipv4_mapped
    if mapped is not None:  # Python 3.13 writes these dotted; browsers never do
        packed = mapped.packed
        return f"[::ffff:{packed[0] << 8 | packed[1]:x}:{packed[2] << 8 | packed[3]:x}]"
    return f"[{address.compressed}]"


def serialised(origin: str) -> bool:
    """Whether *origin* is an origin as browsers serialise one."""
    if origin == "null":
        return True
    match = re.fullmatch(
        r"([a-z][a-z0-9+.\-]*)://(\[[^\]]*\]|[^:\[\]]*)(?::([^:]*))?", origin, re.DOTALL
    )
    if match is None or len(origin) > MAX_LENGTH:
        return False
    scheme, host, port = match.groups()
    if port is not None and (
        not re.fullmatch(r"[1-9][0-9]*", port)
        or int(port) > 65535
        or DEFAULT_PORTS.get(scheme) == port
    ):
        return False
    if host.startswith("["):
        return ipv6_serialised(host[1:-1]) == host
    if re.fullmatch(r"[0-9]+(\.[0-9]+){3}", host):
        try:
            return str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            return False
    if re.search(r"(^|\.)([0-9]+|0[xX][0-9a-fA-F]*)\.?$", host):
        return False  # the URL Standard reads it as an IPv4 address, written otherwise
    if not re.fullmatch(r"[a-z0-9_\-]+(\.[a-z0-9_\-]+)*\.?", host):
        return False
    return "xn--" not in host or ascii_host(host) == host
