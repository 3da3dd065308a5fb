"""``python -m aiohttp_cors check``: ask a live server what a browser would ask, and judge.

The requests are shaped as a browser shapes them (the preflight only when one is
needed, its ``Access-Control-Request-Headers`` lower-cased and sorted, the
actual request only when the preflight passed), sent with aiohttp's client to
any server, and judged by :mod:`aiohttp_cors.model`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from typing import TextIO

import aiohttp

from . import _audit
from ._csrf import CSRF_REFUSED
from ._decision import PREFLIGHT_FAILED
from ._headers import ACAO, ACEH
from .model import STAR_COVERS_AUTHORIZATION, Answer, PageRequest, Verdict, decide

EXIT_READABLE = 0
EXIT_BLOCKED = 1
EXIT_ERROR = 2

_BODY_SHOWN = 300

_ORIGIN = re.compile(r"(null|[a-z][a-z0-9+.\-]*://[^/?#\s]+)")


async def exchange(
    session: aiohttp.ClientSession,
    url: str,
    request: PageRequest,
    star_authorization: bool = STAR_COVERS_AUTHORIZATION,
    body: bytes | None = None,
) -> tuple[Answer | None, Answer | None, Verdict]:
    """Send what a browser would send for *request* (with *body*, if given); the answers
    and the verdict."""
    preflight: Answer | None = None
    if request.needs_preflight():
        async with session.request(
            "OPTIONS", url, headers=request.preflight_headers(), allow_redirects=False
        ) as response:
            preflight = await _answer(response)
        verdict = decide(request, preflight, None, star_authorization=star_authorization)
        if verdict.stage == "preflight":
            return preflight, None, verdict
    async with session.request(
        request.sent_method,
        url,
        headers=request.actual_headers(),
        data=body,
        allow_redirects=False,
    ) as response:
        actual = await _answer(response)
    verdict = decide(request, preflight, actual, star_authorization=star_authorization)
    return preflight, actual, verdict


async def _answer(response: aiohttp.ClientResponse) -> Answer:
    body = await response.read()
    text = body[:_BODY_SHOWN].decode("utf-8", "replace")
    return Answer(response.status, list(response.headers.items()), text)


def _refusal_code(answer: Answer | None) -> str | None:
    """The model's code for this library's own 403 preflight text, if it is one."""
    if answer is None or answer.status != 403 or not answer.body.startswith(PREFLIGHT_FAILED):
        return None
    reason = answer.body[len(PREFLIGHT_FAILED) :]
    if reason.startswith("headers are not allowed"):
        return "header"
    if reason.startswith("request method"):
        return "method"
    return None


def suggestion(verdict: Verdict, request: PageRequest, answer: Answer | None) -> str:
    """A concrete change to the server's configuration that would make it readable."""
    origin = request.origin
    code = _refusal_code(answer) or verdict.code
    if code == "no-allow-origin":
        return _no_allow_origin(verdict, origin, answer)
    if code == "other-origin":
        allowed = answer.get(ACAO) if answer is not None else None
        return f"The server allows {allowed!r}; list {origin!r} exactly as the browser sends it."
    if code == "several-allow-origins":
        return (
            "Two layers set Access-Control-Allow-Origin (a handler or a proxy, and the CORS "
            "layer): let only one of them set it."
        )
    if code == "star-with-credentials":
        return (
            f"A credentialed request needs the origin itself: list {origin!r} with "
            "ResourceOptions(allow_credentials=True) instead of '*'."
        )
    if code == "no-allow-credentials":
        return (
            f"Set allow_credentials=True in the options of {origin!r}, or make the request "
            "without credentials."
        )
    if code == "preflight-status":
        return (
            "Answer preflights before other middlewares and handlers (aiohttp_cors.enable does): "
            "an authentication middleware or a missing OPTIONS route must not see them."
        )
    if code == "method":
        method = request.sent_method
        if method != method.upper():
            return (
                f"Browsers send {method!r} as written (only DELETE, GET, HEAD, OPTIONS, POST and "
                f"PUT are upper-cased), and servers compare methods case-sensitively: make the "
                f"page send {method.upper()!r}."
            )
        return (
            f"Add {request.sent_method!r} to allow_methods (compared case-sensitively), or leave "
            "allow_methods unset to allow the methods the route serves."
        )
    if code == "authorization":
        return "List 'Authorization' in allow_headers: a literal '*' never covers it."
    if code == "header":
        if answer is not None and answer.body.startswith(PREFLIGHT_FAILED):
            names = answer.body.rpartition(": ")[2].strip()  # the server's own list
        else:
            names = verdict.reason.split("'")[1] if "'" in verdict.reason else ""
        names = names or ", ".join(request.unsafe_header_names())
        return f"Allow the request headers ({names}) in allow_headers, or allow_headers='*'."
    if code == "bad-list":
        return "Send Access-Control-Allow-Methods/-Headers as comma-separated tokens."
    return "Check that the server is reachable and answers."


def _no_allow_origin(verdict: Verdict, origin: str, answer: Answer | None) -> str:
    """What to change when the answer has no ``Access-Control-Allow-Origin``: what
    answered (this library, something before it, nothing at that URL) says where."""
    status = answer.status if answer is not None else 0
    body = answer.body if answer is not None else ""
    stage = verdict.stage
    if body.startswith(CSRF_REFUSED):
        return (
            f"The write guard refused it: allow {origin!r} in the route's policy (with the "
            "method in allow_methods, or allow_methods unset), or exempt the route "
            "(cors.csrf_exempt(route))."
        )
    allow = (
        f"Allow the origin: {{{origin!r}: ResourceOptions(...)}} in the configuration"
        " (exactly as the browser sends it: scheme, host, port)."
    )
    # This library's answers: its preflight refusal, or Vary: Origin on what it covers.
    vary = (answer.get("Vary") or "") if answer is not None else ""
    ours = body.startswith(PREFLIGHT_FAILED) or "origin" in vary.lower()
    if status == 404:
        return (
            f"The {stage} got 404: check the URL (the path, and the API's host and port). "
            f"Once it reaches the route: {allow}"
        )
    if status in (401, 403) and not ours:
        return (
            f"The {stage} got {status} from something that answered before CORS: an "
            "authentication middleware, or the handler. In route mode preflights go "
            "through your middlewares: let OPTIONS requests that carry "
            "Access-Control-Request-Method through, or use aiohttp_cors.enable(), which "
            f"answers preflights before any middleware. Then: {allow}"
        )
    if status >= 400 and not ours:
        return (
            f"{allow} The {stage} got {status}, and nothing of CORS answered: is CORS "
            "enabled for this route at all (aiohttp_cors.enable(app, ...), or "
            "cors.add(route) in route mode)?"
        )
    return allow


def _unread(name: str, answer: Answer, request: PageRequest) -> str:
    """Why a page cannot read the response header *name*, and what to do."""
    if name.lower() in ("set-cookie", "set-cookie2"):
        return "never readable by a page (browsers hide it): the browser stores the cookie"
    if name.lower() not in answer.names():
        return "not in the response: the handler does not send it (exposing it cannot help)"
    listed = [value.strip() for value in (answer.get(ACEH) or "").split(",")]
    star = " ('*' does not count with credentials)" if request.credentials and "*" in listed else ""
    return (
        f"in the response but not exposed{star}: the page reads null. "
        f"Add {name!r} to expose_headers."
    )


def _header(text: str) -> tuple[str, str]:
    name, _, value = text.partition(":")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME or NAME:VALUE")
    return name.strip(), value.strip() or "1"


def _origin(text: str) -> str:
    if not _ORIGIN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an origin: give scheme://host[:port] (no path) or null"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiohttp_cors",
        description="Ask a server what a browser would ask, and say whether a page can read it.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="judge one cross-origin request",
        description=(
            "Send the preflight (when a browser would) and the request, as a browser shapes "
            "them, and print the browser's verdict, the reason and a fix. "
            "Exit status: 0 readable, 1 blocked, 2 usage or network error."
        ),
    )
    check.add_argument("url", help="the URL the page fetches")
    check.add_argument("--origin", required=True, type=_origin, help="the page's origin")
    check.add_argument("--method", default="GET", help="the request method (default GET)")
    check.add_argument(
        "--header",
        action="append",
        default=[],
        type=_header,
        metavar="NAME[:VALUE]",
        help="a header the page sets (repeatable)",
    )
    check.add_argument(
        "--credentials", action="store_true", help="credentials: 'include' (cookies, auth)"
    )
    check.add_argument("--body", help="a body the request carries (text)")
    check.add_argument(
        "--read-header",
        action="append",
        default=[],
        metavar="NAME",
        help="a response header the page reads: is it exposed? (repeatable)",
    )
    check.add_argument(
        "--spec",
        action="store_true",
        help="judge by the Fetch standard where Chromium departs from it "
        "(Access-Control-Allow-Headers: * never covers Authorization)",
    )
    check.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    audit = commands.add_parser(
        "audit",
        help="list which origins may read each route",
        description=(
            "Load the application MODULE:ATTR names (an Application, or a function returning "
            "one, sync or async) without serving it, and print one row per route and method: "
            "the CORS mode, the origins that may read it and their options, the write guard, "
            "and warnings. Exit status: 0, 1 with --fail-on warning when there are warnings, "
            "2 when the application cannot be loaded."
        ),
    )
    audit.add_argument("target", metavar="MODULE:ATTR", help="where the application is")
    audit.add_argument("--json", action="store_true", help="print JSON (docs/audit.md)")
    audit.add_argument("--fail-on", choices=["warning"], help="exit 1 when there is any warning")
    return parser


def _describe(answer: Answer | None, label: str) -> str:
    if answer is None:
        return f"{label}: not sent"
    cors = [f"{n}: {v}" for n, v in answer.headers if n.lower().startswith("access-control-")]
    vary = answer.get("Vary")
    if vary:
        cors.append(f"Vary: {vary}")
    shown = "".join(f"\n    {line}" for line in cors) or "\n    (no CORS headers)"
    said = ""
    if not 200 <= answer.status <= 299 and answer.body.strip():
        said = f"\n    body: {' '.join(answer.body.split())[:200]!a}"
    return f"{label}: {answer.status}{shown}{said}"


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    request = PageRequest(
        origin=args.origin,
        method=args.method,
        headers=tuple(args.header),
        credentials=args.credentials,
    )
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    body = None if args.body is None else args.body.encode()
    async with aiohttp.ClientSession(
        timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        preflight, actual, verdict = await exchange(session, args.url, request, not args.spec, body)
    mode = "with credentials" if request.credentials else "without credentials"
    print(f"{request.sent_method} {args.url} from {request.origin}, {mode}", file=out)
    if request.needs_preflight():
        print(_describe(preflight, "preflight"), file=out)
    else:
        print("preflight: not needed (a simple request)", file=out)
    print(_describe(actual, "request"), file=out)
    if verdict.readable:
        names = ", ".join(sorted(verdict.exposed)) or "none"
        print(f"verdict: READABLE (response headers the page can read: {names})", file=out)
        assert actual is not None
        unread = [name for name in args.read_header if name.lower() not in verdict.exposed]
        for name in unread:
            print(f"header {name}: {_unread(name, actual, request)}", file=out)
        return EXIT_BLOCKED if unread else EXIT_READABLE
    answer = preflight if verdict.stage == "preflight" else actual
    print(f"verdict: BLOCKED at the {verdict.stage}: {verdict.reason}", file=out)
    print(f"suggestion: {suggestion(verdict, request, answer)}", file=out)
    return EXIT_BLOCKED


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """The command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_ERROR if exit_.code else EXIT_READABLE
    stream = out or sys.stdout
    if args.command == "audit":
        try:
            return _audit.run(args.target, args.json, args.fail_on, stream)
        except (ImportError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_ERROR
        except Exception as error:  # the application's own code failed to build it
            print(
                f"error: loading {args.target} raised {type(error).__name__}: {error}",
                file=sys.stderr,
            )
            return EXIT_ERROR
    try:
        return asyncio.run(_run(args, stream))
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as error:
        reason = str(error) or type(error).__name__
        print(f"error: {args.url}: {reason}", file=sys.stderr)
        return EXIT_ERROR
