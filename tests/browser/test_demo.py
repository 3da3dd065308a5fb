"""The demo in a real browser: every call is readable or blocked as configured, and
each blocked one says why, in the words of the browser model."""

from __future__ import annotations

import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from aiohttp_cors.testing import cors_verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import demo

pytestmark = pytest.mark.browser


#: The demo's blocked calls: label -> what the page sends.
BLOCKED = {
    "GET /api/private (only https://admin.example may read it)": ("/api/private", "GET", {}),
    "PUT /api/items with an unlisted header X-Secret": ("/api/items", "PUT", {"X-Secret": "1"}),
    "DELETE /api/items (method not allowed)": ("/api/items", "DELETE", {}),
}


async def test_demo_page_in_chromium(browser):
    api_port = unused_port()
    page_runner, api_runner, address = await demo.serve(unused_port(), api_port)
    try:
        page = await browser.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        await page.goto(address)
        await page.wait_for_selector("#summary[data-done]", timeout=15000)
        rows = await page.eval_on_selector_all(
            "tr[data-verdict]",
            "rows => rows.map(r =>"
            " [r.cells[0].innerText, r.cells[1].innerText, r.dataset.verdict])",
        )
        assert len(rows) == 7
        for label, expected, verdict in rows:
            assert verdict == expected, f"{label}: browser said {verdict}; console: {console}"
        assert await page.get_attribute("#summary", "data-done") == "true"
        # Each blocked row says why: the browser model's verdict on the API's answers.
        shown = await page.eval_on_selector_all(
            "tr[data-verdict=blocked]",
            "rows => rows.map(r => [r.cells[0].innerText,"
            " r.querySelector('.why .stage').textContent,"
            " r.querySelector('.why .why').textContent,"
            " r.querySelector('.why .fix').textContent])",
        )
        assert [row[0] for row in shown] == list(BLOCKED)
        api = f"http://localhost:{api_port}"
        async with aiohttp.ClientSession() as session:
            for label, stage, reason, fix in shown:
                path, method, headers = BLOCKED[label]
                verdict = await cors_verdict(
                    session,
                    api + path,
                    origin=address.rstrip("/"),
                    method=method,
                    headers=headers,
                )
                assert not verdict.readable
                assert stage == f"at the: {verdict.stage}"
                assert reason == f"why: {verdict.reason}"
                assert fix == f"fix: {verdict.suggestion}"
        # What the page shows for the header the API does not allow names it.
        assert "(X-SECRET)" in shown[1][3]
        blocked = [text for text in console if "blocked by CORS policy" in text]
        assert len(blocked) == 3, console
        # Chromium: "the server responded with a status of 404" (a port may hold "404").
        assert not [text for text in console if "status of 404" in text], console
    finally:
        await page_runner.cleanup()
        await api_runner.cleanup()
