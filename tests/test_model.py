"""The browser model, rule by rule (Fetch standard), without any server."""

from __future__ import annotations

import pytest

from aiohttp_cors.model import Answer, PageRequest, decide

from . import fetch_standard as fetch

PAGE = "https://app.example"


def allow(**extra: str) -> list[tuple[str, str]]:
    return [("Access-Control-Allow-Origin", PAGE), *extra.items()]


@pytest.mark.parametrize(
    ("method", "headers", "preflight"),
    [
        ("GET", (), False),
        ("get", (), False),
        ("HEAD", (), False),
        ("POST", (("Content-Type", "text/plain;charset=utf-8"),), False),
        ("POST", (("Content-Type", "multipart/form-data; boundary=x"),), False),
        ("POST", (("Content-Type", "application/json"),), True),
        ("POST", (("Content-Type", "text/plain(x)"),), True),  # unsafe byte
        ("GET", (("Accept", "text/html"),), False),
        ("GET", (("Accept", "a" * 129),), True),  # longer than 128 bytes
        ("GET", (("Accept-Language", "en-GB;q=0.8"),), False),
        ("GET", (("Accept-Language", "en/GB"),), True),
        ("GET", (("Range", "bytes=0-99"),), False),
        ("GET", (("Range", "bytes=-99"),), True),
        ("GET", (("Range", "bytes=9-1"),), True),
        ("GET", (("X-Token", "1"),), True),
        ("GET", (("Cookie", "a=1"), ("Sec-Fetch-Mode", "x")), False),  # forbidden: dropped
        ("PUT", (), True),
        ("put", (), True),
        ("PATCH", (), True),
        ("DELETE", (), True),
    ],
)
def test_when_a_preflight_is_needed(method, headers, preflight):
    assert PageRequest(PAGE, method, headers).needs_preflight() is preflight


def test_safelisted_values_above_1024_bytes_in_total_need_a_preflight():
    headers = (
        ("Accept", "a" * 120),
        ("Accept-Language", "b" * 120),
        *(("Content-Language", "c" * 120) for _ in range(8)),
    )
    request = PageRequest(PAGE, "GET", headers)
    assert request.unsafe_header_names() == ["accept", "accept-language", "content-language"]


def test_preflight_is_shaped_like_a_browsers():
    request = PageRequest(PAGE, "patch", (("X-B", "1"), ("x-a", "2"), ("Content-Type", "text/csv")))
    assert request.preflight_headers() == [
        ("Origin", PAGE),
        ("Access-Control-Request-Method", "patch"),
        ("Access-Control-Request-Headers", "content-type,x-a,x-b"),
    ]
    assert PageRequest(PAGE, "delete").preflight_headers()[1][1] == "DELETE"


@pytest.mark.parametrize(
    ("headers", "credentials", "code"),
    [
        ([], False, "no-allow-origin"),
        ([("Access-Control-Allow-Origin", "*")], False, ""),
        ([("Access-Control-Allow-Origin", "*")], True, "star-with-credentials"),
        ([("Access-Control-Allow-Origin", "https://APP.example")], False, "other-origin"),
        ([("Access-Control-Allow-Origin", PAGE + "/")], False, "other-origin"),
        (allow() * 2, False, "several-allow-origins"),
        ([("Access-Control-Allow-Origin", f"{PAGE}, {PAGE}")], False, "several-allow-origins"),
        (allow(), True, "no-allow-credentials"),
        (allow(**{"Access-Control-Allow-Credentials": "True"}), True, "no-allow-credentials"),
        (allow(**{"Access-Control-Allow-Credentials": "true"}), True, ""),
        (allow(), False, ""),
    ],
)
def test_cors_check(headers, credentials, code):
    request = PageRequest(PAGE, credentials=credentials)
    verdict = decide(request, None, Answer(200, headers))
    assert verdict.code == code
    assert verdict.readable is (code == "")
    assert (verdict.reason == "") is (code == "")


def test_any_status_is_readable_but_a_preflight_needs_2xx():
    assert decide(PageRequest(PAGE), None, Answer(500, allow())).readable
    put = PageRequest(PAGE, "PUT")
    answer = Answer(204, allow(**{"Access-Control-Allow-Methods": "PUT"}))
    assert decide(put, answer, Answer(200, allow())).readable
    verdict = decide(put, Answer(403, answer.headers), None)
    assert (verdict.stage, verdict.code) == ("preflight", "preflight-status")


@pytest.mark.parametrize(
    ("request_", "methods", "names", "code"),
    [
        (PageRequest(PAGE, "PUT"), "PUT", None, ""),
        (PageRequest(PAGE, "PUT"), "GET, POST", None, "method"),
        (PageRequest(PAGE, "PUT"), None, None, "method"),
        (PageRequest(PAGE, "PUT"), "*", None, ""),
        (PageRequest(PAGE, "PUT", credentials=True), "*", None, "method"),
        (PageRequest(PAGE, "patch"), "PATCH", None, "method"),  # case-sensitive
        (PageRequest(PAGE, "put"), "PUT", None, ""),  # normalised by the browser
        (PageRequest(PAGE, "POST", (("X-A", "1"),)), None, "x-a", ""),  # POST is safelisted
        (PageRequest(PAGE, "GET", (("X-A", "1"),)), None, "X-A", ""),
        (PageRequest(PAGE, "GET", (("X-A", "1"), ("X-B", "1"))), None, "x-a", "header"),
        (PageRequest(PAGE, "GET", (("X-A", "1"),)), None, "*", ""),
        (PageRequest(PAGE, "GET", (("X-A", "1"),), credentials=True), None, "*", "header"),
        (PageRequest(PAGE, "GET", (("Authorization", "x"),)), None, "*", ""),  # Chromium
        (PageRequest(PAGE, "GET", (("Authorization", "x"),), True), None, "*", "authorization"),
        (PageRequest(PAGE, "GET", (("Authorization", "x"),)), None, "authorization", ""),
        (PageRequest(PAGE, "PUT"), "PUT, (bad)", None, "bad-list"),
        (PageRequest(PAGE, "PUT"), "PUT,, ,", None, ""),  # empty elements are allowed
    ],
)
def test_preflight_rules(request_, methods, names, code):
    headers = allow(**{"Access-Control-Allow-Credentials": "true"})
    if methods is not None:
        headers.append(("Access-Control-Allow-Methods", methods))
    if names is not None:
        headers.append(("Access-Control-Allow-Headers", names))
    verdict = decide(request_, Answer(200, headers), Answer(200, headers))
    assert verdict.code == code, verdict


@pytest.mark.parametrize("credentials", [False, True])
def test_authorization_under_star_by_the_standard(credentials):
    request = PageRequest(PAGE, "GET", (("Authorization", "x"),), credentials)
    headers = allow(**{"Access-Control-Allow-Credentials": "true"})
    headers.append(("Access-Control-Allow-Headers", "*"))
    verdict = decide(request, Answer(200, headers), Answer(200, headers), star_authorization=False)
    assert verdict.code == "authorization"
    assert "'*' never covers it in the standard" in verdict.reason
    listed = [*headers[:-1], ("Access-Control-Allow-Headers", "*, Authorization")]
    verdict = decide(request, Answer(200, listed), Answer(200, listed), star_authorization=False)
    assert verdict.readable


def test_a_needed_preflight_without_answer_blocks():
    verdict = decide(PageRequest(PAGE, "PUT"), None, None)
    assert (verdict.readable, verdict.stage, verdict.code) == (False, "preflight", "no-answer")


@pytest.mark.parametrize(
    ("expose", "credentials", "readable"),
    [
        (None, False, {"content-type"}),
        ("X-A", False, {"content-type", "x-a"}),
        ("*", False, {"content-type", "x-a", "x-b", "access-control-allow-origin"}),
        ("*", True, {"content-type"}),
        ("x-a, set-cookie", True, {"content-type", "x-a"}),
    ],
)
def test_exposed_headers(expose, credentials, readable):
    headers = allow(**{"Access-Control-Allow-Credentials": "true"})
    headers += [("Content-Type", "text/plain"), ("X-A", "1"), ("X-B", "2"), ("Set-Cookie", "a=1")]
    if expose is not None:
        headers.append(("Access-Control-Expose-Headers", expose))
    verdict = decide(PageRequest(PAGE, credentials=credentials), None, Answer(200, headers))
    expected = set(readable)
    if expose == "*" and not credentials:
        expected |= {"access-control-allow-credentials", "access-control-expose-headers"}
    assert verdict.exposed == expected


# --- the model against the standard's tables (tests/fetch_standard.py) -----------------


FORBIDDEN_NAMES = [
    *sorted(fetch.FORBIDDEN_REQUEST_HEADERS),
    *(prefix + "anything" for prefix in fetch.FORBIDDEN_REQUEST_HEADER_PREFIXES),
]


@pytest.mark.parametrize("name", FORBIDDEN_NAMES)
def test_forbidden_request_headers_are_dropped(name):
    for spelt in (name, name.title(), name.upper()):
        request = PageRequest(PAGE, "GET", ((spelt, "x"),))
        assert not request.needs_preflight(), spelt
        assert request.actual_headers() == [("Origin", PAGE)]


@pytest.mark.parametrize("name", ["x-" + name for name in FORBIDDEN_NAMES] + ["proxy", "sec"])
def test_names_near_forbidden_ones_are_sent(name):
    request = PageRequest(PAGE, "GET", ((name, "x"),))
    assert request.unsafe_header_names() == [name]
    assert request.preflight_headers()[2] == ("Access-Control-Request-Headers", name)


@pytest.mark.parametrize(
    ("name", "value", "safelisted"),
    [
        (name, value, safelisted)
        for name, cases in fetch.SAFELISTED_VALUES.items()
        for value, safelisted in cases
    ],
)
def test_safelisted_request_header_values(name, value, safelisted):
    assert name in fetch.SAFELISTED_REQUEST_HEADERS
    for spelt in (name, name.title()):
        request = PageRequest(PAGE, "GET", ((spelt, value),))
        assert request.needs_preflight() is not safelisted, (spelt, value)


@pytest.mark.parametrize("name", ["x-accept", "accept-charset-x", "content-types", "ranges"])
def test_other_request_headers_are_never_safelisted(name):
    assert name not in fetch.SAFELISTED_REQUEST_HEADERS
    assert PageRequest(PAGE, "GET", ((name, "text/plain"),)).needs_preflight()


@pytest.mark.parametrize("byte", range(0x80))
def test_unsafe_bytes_of_accept_and_content_type(byte):
    safe = byte not in fetch.UNSAFE_BYTES
    accept = PageRequest(PAGE, "GET", (("Accept", f"text/html;x=a{chr(byte)}"),))
    assert accept.needs_preflight() is not safe
    content_type = PageRequest(PAGE, "POST", (("Content-Type", f"text/plain;x=a{chr(byte)}"),))
    assert content_type.needs_preflight() is not safe


@pytest.mark.parametrize("byte", range(0x80))
def test_the_bytes_of_a_safelisted_language(byte):
    safe = byte in fetch.LANGUAGE_BYTES
    for name in ("Accept-Language", "Content-Language"):
        request = PageRequest(PAGE, "GET", ((name, f"en{chr(byte)}"),))
        assert request.needs_preflight() is not safe, name


@pytest.mark.parametrize("name", sorted(fetch.SAFELISTED_REQUEST_HEADERS - {"range"}))
def test_a_safelisted_value_is_at_most_128_bytes(name):
    fitting = {"accept": "a", "accept-language": "a", "content-language": "a"}
    start = "text/plain;x=" if name == "content-type" else ""
    longest = start + fitting.get(name, "a") * (fetch.MAX_SAFELISTED_VALUE - len(start))
    assert not PageRequest(PAGE, "POST", ((name, longest),)).needs_preflight()
    assert PageRequest(PAGE, "POST", ((name, longest + "a"),)).needs_preflight()
    # in bytes, not characters
    assert PageRequest(PAGE, "POST", (("accept", "é" * 64),)).needs_preflight() is False
    assert PageRequest(PAGE, "POST", (("accept", "é" * 65),)).needs_preflight()


def test_safelisted_values_count_together_up_to_1024_bytes():
    value = "a" * fetch.MAX_SAFELISTED_VALUE
    count = fetch.MAX_SAFELISTED_TOTAL // fetch.MAX_SAFELISTED_VALUE
    at_most = (("Accept-Language", value),) * count
    assert not PageRequest(PAGE, "GET", at_most).needs_preflight()
    beyond = (*at_most, ("Accept", "a"))
    request = PageRequest(PAGE, "GET", beyond)
    assert request.unsafe_header_names() == ["accept", "accept-language"]


@pytest.mark.parametrize("method", sorted(fetch.NORMALIZED_METHODS | {"PATCH", "Foo", "TRACK"}))
def test_which_methods_a_browser_upper_cases(method):
    for written in (method, method.lower(), method.title()):
        request = PageRequest(PAGE, written)
        normalized = method in fetch.NORMALIZED_METHODS
        sent = written.upper() if normalized else written
        assert request.sent_method == sent
        assert request.needs_preflight() is (sent not in fetch.SAFELISTED_METHODS)


@pytest.mark.parametrize("name", sorted(fetch.SAFELISTED_RESPONSE_HEADERS))
def test_safelisted_response_headers_are_readable_without_exposing(name):
    headers = [*allow(), (name, "1"), ("X-Other", "1")]
    verdict = decide(PageRequest(PAGE), None, Answer(200, headers))
    assert verdict.exposed == {name}


@pytest.mark.parametrize("name", sorted(fetch.FORBIDDEN_RESPONSE_HEADERS))
@pytest.mark.parametrize("expose", ["*", "set-cookie, set-cookie2"])
def test_forbidden_response_headers_are_never_readable(name, expose):
    headers = [*allow(), (name, "1"), ("Access-Control-Expose-Headers", expose)]
    verdict = decide(PageRequest(PAGE), None, Answer(200, headers))
    assert name not in verdict.exposed
    assert verdict.readable
