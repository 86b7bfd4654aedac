"""Fixtures: a three-host Ray cluster in network namespaces, and a driver on its head host."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.harness import NetnsCluster, is_available
from tests.scheduler.helpers import K
from zkpipe import native
from zkpipe.proving.prover import default_circuit_cache

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetnsCluster]:
    """A head and two worker hosts (one prover slot each), torn down even when a test fails.

    Each host's circuit cache is warmed by copying this build's k=8 circuits from the shared
    cache (compiling them on every host would cost minutes of CI time for nothing new).
    """
    reason = is_available()
    if reason is not None:
        pytest.skip(reason)
    shared = default_circuit_cache()
    native.proving_setup(K, cache_dir=shared)  # compiled once here if the shared cache lacks them
    # A short root: Ray's Unix socket paths must stay under 108 bytes.
    root = Path(tmp_path_factory.mktemp("c", numbered=True))
    cluster = NetnsCluster(root)
    try:
        cluster.create_network()
        cluster.warm_caches(native.circuit_cache_folder(K, shared))
        cluster.start_node("head")
        cluster.start_node("w1", "w2")
        yield cluster
    finally:
        cluster.close()


Handler = Callable[[str, str], None]


def act(cluster: NetnsCluster, verb: str, host: str) -> None:
    """Carries out a driver's request on a host."""
    if verb == "kill":
        cluster.kill_host(host)
    elif verb == "restart":
        cluster.start_node(host)
    elif verb == "partition":
        cluster.partition(host)
    elif verb == "heal":
        cluster.heal(host)
        # The head declared the host dead while it was cut off; its raylet learns so and exits
        # (Ray does not let a node marked dead back in): an operator restarts it, as here.
        process = cluster.hosts[host].process
        deadline = time.monotonic() + 30
        while process is not None and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        cluster.kill_host(host)
        cluster.start_node(host)
    else:
        raise ValueError(f"unknown request {verb!r}")


def run_driver(cluster: NetnsCluster, scenario: str, timeout_s: float) -> dict[str, Any]:
    """Runs `tests.cluster.drive SCENARIO` on the head host; its result (faults done on request)."""
    workdir = cluster.head.workdir / scenario
    workdir.mkdir()
    log = (cluster.head.workdir / f"{scenario}.log").open("wb")
    driver = cluster.spawn(
        "head",
        [sys.executable, "-m", "tests.cluster.drive", scenario, cluster.ray_address, str(workdir)],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        stderr=log,
    )
    assert driver.stdout is not None and driver.stdin is not None
    deadline = time.monotonic() + timeout_s
    result: dict[str, Any] | None = None
    try:
        for raw in driver.stdout:
            line = raw.decode(errors="replace").strip()
            if line.startswith("@request "):
                _, verb, host = line.split()
                act(cluster, verb, host)
                driver.stdin.write(b"ok\n")
                driver.stdin.flush()
            elif line.startswith("@result "):
                result = json.loads(line.removeprefix("@result "))
            if time.monotonic() > deadline:
                break
        driver.wait(max(1.0, deadline - time.monotonic()))
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(10)
        driver.stdin.close()
        driver.stdout.close()
        log.close()
    errors = (cluster.head.workdir / f"{scenario}.log").read_text(errors="replace")
    assert result is not None, (
        f"driver {scenario} gave no result (exit {driver.returncode}):\n{errors[-4000:]}"
    )
    return result
