"""Provers on more than one host: a real Ray cluster of three network namespaces (head, w1, w2).

The node joins it with `--backend ray --ray-address` and consolidates through actors placed on the
worker hosts; then the scheduler survives a worker host killed mid-proof (all its actors at once),
its return, and a partition of the other host and its healing, and still folds the spec's root.
"""

from __future__ import annotations

import pytest

from tests.cluster.conftest import run_driver
from tests.cluster.harness import NetnsCluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def test_node_consolidates_through_actors_on_two_worker_hosts(cluster: NetnsCluster) -> None:
    before = {name: cluster.link_bytes(name) for name in ("w1", "w2")}
    result = run_driver(cluster, "pipeline", timeout_s=300)
    moved = {name: sum(cluster.link_bytes(name)) - sum(before[name]) for name in ("w1", "w2")}
    assert result["backend"] == "RayBackend"
    assert sorted(result["hosts"].values()) == ["w1", "w2"]  # one actor per worker host, none on the head
    assert result["consolidated_root_matches"]
    per_host = {h: sum(1 for a in result["accepted"] if a["host"] == h) for h in ("w1", "w2")}
    assert all(per_host.values()), f"both worker hosts prove: {per_host}"
    segment = result["network"]["segment"]
    assert (
        segment["jobs"] >= 2 and segment["bytes_in"] > 0 and segment["bytes_out"] >= 135_552 * segment["jobs"]
    )
    # What the scheduler counts crossed the hosts' links (Ray's own traffic comes on top).
    counted = sum(u["bytes_in"] + u["bytes_out"] for u in result["network"].values())
    assert sum(moved.values()) >= counted
    assert result["kpi_network_bytes_per_tx"] and result["kpi_network_bytes_per_tx"] > 0
    print(f"cluster pipeline: jobs per host {per_host}, scheduler bytes {result['network']}, "
          f"link bytes {moved}, per consolidated tx {result['kpi_network_bytes_per_tx']:.0f}")  # fmt: skip


def test_host_loss_rejoin_partition_and_heal(cluster: NetnsCluster) -> None:
    result = run_driver(cluster, "faults", timeout_s=400)
    assert sorted(result["hosts_at_start"].values()) == ["w1", "w2"]
    loss = result["phases"]["host_loss"]
    assert loss["redone_by"] == "w2"
    assert any("WORKER_LOST" in detail for detail in loss["lost_events"])
    assert result["phases"]["rejoin"]["host"] == "w1"  # the actor came back on its host and proved
    assert result["phases"]["partition"]["redone_by"] == "w1"
    assert result["phases"]["heal"]["used_again"]  # w2 proved again after its link came back
    assert result["spec_roots_match"] and result["final_root_matches"]
    assert result["failed_jobs"] == 0 and result["segment_jobs"] == 6  # nothing lost, nothing given up
    print(f"cluster faults: {result['phases']}, accepted {result['accepted']}, network {result['network']}")
