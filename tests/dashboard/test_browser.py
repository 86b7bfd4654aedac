"""The live dashboard in headless Chromium over a real proving node, and the Grafana dashboard's queries."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from prometheus_client.parser import text_string_to_metric_families

from tests.node.helpers import FundedNode
from tests.node.test_proving_pipeline import proving_node  # noqa: F401  (the fixture, reused)

# The pipeline tests run their proving node on both L1s; the page is checked on the embedded one.
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("proving_node", ["embedded"], indirect=True)]

GRAFANA = Path(__file__).parents[2] / "docs" / "grafana" / "zkpipe-node.json"
SHOWN = "Number(document.getElementById('count-%s').textContent.replace(/,/g, ''))"
"""The count on a state's tile, as the page shows it (a JavaScript expression)."""
ARTIFACTS = Path(os.environ.get("ZKPIPE_TEST_ARTIFACTS", "test-artifacts"))


@pytest.fixture(scope="module")
def live(proving_node: FundedNode) -> FundedNode:  # noqa: F811  (the imported fixture, requested)
    """The pipeline tests' proving node (two workers, windows of two batches) with funded accounts."""
    return proving_node


def count(page: Page, state: str) -> int:
    """The number a person reads on a state's tile (0 before the first status)."""
    text = page.locator(f"#count-{state}").inner_text().replace(",", "")
    return int(text) if text.isdigit() else 0


@pytest.mark.timeout(900)  # proving is slow on a loaded 2-core machine; the wait below ends at consolidation
def test_the_page_follows_transactions_batches_and_provers(live: FundedNode, browser: BrowserContext) -> None:
    page = browser.new_page()
    page.goto(live.background.url + "/")
    expect(page.locator("#conn")).to_have_attribute("data-state", re.compile("live|starting"), timeout=30_000)
    expect(page.locator("#count-trusted")).to_have_text(re.compile(r"\d"))
    before = count(page, "trusted")

    sent = [live.client.send_transaction(live.transfer(1 + i % 3, 4, amount=5)).hash for i in range(10)]
    # The counts rise as the node executes, sequences and consolidates.
    page.wait_for_function(f"{SHOWN % 'trusted'} >= {before + 10}")
    page.wait_for_function(f"{SHOWN % 'consolidated'} >= {before + 10}", timeout=720_000)
    # A batch reached consolidated on the timeline, and the last aggregate links to its L1 transaction.
    expect(page.locator('#timeline g[data-state="consolidated"]').first).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    tx_link = page.locator("#l1-tx-link")
    expect(tx_link).to_be_visible(timeout=10_000)
    l1_tx = page.request.get(live.background.url + str(tx_link.get_attribute("href"))).json()
    assert l1_tx["receipt"]["success"] and l1_tx["receipt"]["gas_used"] > 0
    proof = page.request.get(live.background.url + "/dashboard/api/aggregate.proof").json()
    assert proof["kind"] == "aggregate"
    # The pool shows its two workers, and the bottleneck stage is named.
    expect(page.locator("#pool-workers [data-worker]")).to_have_count(2)
    expect(page.locator('[data-pool="workers"] b')).to_have_text("2")
    expect(page.locator("#bottleneck b")).to_have_text(
        re.compile("close_a_batch_time|prove_a_batch_time|block_time|aggregation_time")
    )
    for state in ("trusted", "virtual", "consolidated"):
        expect(page.locator(f'#delays [data-delay="{state}"] td').nth(1)).to_have_text(re.compile(r"\d"))
    receipts = [live.client.get_transaction_receipt(h) for h in sent]
    assert all(r is not None and r.status == "consolidated" for r in receipts)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.close()


def test_every_grafana_query_names_a_metric_the_node_exports(live: FundedNode) -> None:
    with urllib.request.urlopen(live.background.url + "/metrics", timeout=30) as response:
        families = list(text_string_to_metric_families(response.read().decode()))
    exported = {sample.name for family in families for sample in family.samples}
    kpi_names = {s.labels["name"] for f in families for s in f.samples if s.name == "zkpipe_kpi"}
    dashboard = json.loads(GRAFANA.read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert len(queries) >= 15
    for query in queries:
        names = re.findall(r"\bzkpipe_[a-z0-9_]+", query)
        assert names, f"names no zkpipe metric: {query}"
        assert set(names) <= exported, f"{query}: not exported: {set(names) - exported}"
        for selector in re.findall(r'zkpipe_kpi\{name=~?"([^"]+)"\}', query):
            assert set(selector.split("|")) <= kpi_names, f"{query}: unknown KPI in {selector}"
