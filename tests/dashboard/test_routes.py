"""The dashboard on a sequencer-only node: its routes, the page when the node stops, and
`rpc.dashboard = false` turning it off."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from tests.node.conftest import node_config
from tests.node.helpers import fund
from zkpipe.client import ZkClient
from zkpipe.node.run import BackgroundNode


def get(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type(), err.read()


def test_a_sequencer_only_node_serves_the_page_and_a_status_without_provers(
    tmp_path: Path, private_compile_cache: None
) -> None:
    with BackgroundNode(node_config(tmp_path)) as background:
        url = background.url
        status, kind, body = get(url + "/")
        assert (status, kind) == (200, "text/html") and b"dashboard.js" in body
        assert get(url + "/dashboard/static/dashboard.js")[:2] == (200, "text/javascript")
        assert get(url + "/dashboard/static/nothing.js")[0] == 404
        status, kind, body = get(url + "/dashboard/api/status")
        document = json.loads(body)
        assert (status, kind) == (200, "application/json")
        assert document["node"]["state"] == "running" and document["node"]["proving"] is False
        assert document["pool"] is None and document["bottleneck"] is None
        assert document["chain"]["rollup_address"].startswith("0x")
        assert get(url + "/dashboard/api/aggregate.proof")[0] == 404
        assert get(url + "/dashboard/api/l1/tx/0x12")[0] == 400
        assert get(url + "/dashboard/api/l1/tx/0x" + "00" * 32)[0] == 404


def test_no_dashboard_leaves_only_the_rpc(tmp_path: Path, private_compile_cache: None) -> None:
    with BackgroundNode(node_config(tmp_path, **{"rpc.dashboard": False})) as background:
        assert get(background.url + "/")[0] == 405  # POST / is the JSON-RPC endpoint
        assert get(background.url + "/dashboard/api/status")[0] == 404
        assert get(background.url + "/health")[0] == 200


def test_the_page_says_when_the_node_stops_and_keeps_the_last_state(
    tmp_path: Path, private_compile_cache: None, browser: BrowserContext
) -> None:
    background = BackgroundNode(node_config(tmp_path)).start()
    try:
        with ZkClient(background.url) as client:
            fund(background, client, 1)
        page = browser.new_page()
        page.goto(background.url + "/")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=30_000)
        expect(page.locator("#count-trusted")).to_have_text("1")
        expect(page.locator("#pool-summary")).to_contain_text("does not prove")
    finally:
        background.stop()
    expect(page.locator("#conn")).to_have_attribute("data-state", "unreachable", timeout=30_000)
    expect(page.locator("#banner")).to_contain_text("not answering")
    # The last state stays readable (greyed), not a blank page.
    expect(page.locator("#count-trusted")).to_have_text("1")
    page.close()
