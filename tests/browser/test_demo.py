"""The demo in a real browser: every call is readable or blocked as configured."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import unused_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import demo

pytestmark = pytest.mark.browser


async def test_demo_page_in_chromium(browser):
    page_runner, api_runner, address = await demo.serve(unused_port(), unused_port())
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
        blocked = [text for text in console if "blocked by CORS policy" in text]
        assert len(blocked) == 3, console
        assert not [text for text in console if "404" in text], console
    finally:
        await page_runner.cleanup()
        await api_runner.cleanup()
