"""The supervisor acts on the severity of real faults: a divergent batch on L1 is a reset (re-sync),
one still divergent after it is critical (the syncer stops, the node reports it), an unreachable L1
is temporary (retried with backoff, the component stays healthy), a proof ready before its batches
are on L1 is temporary too (the window waits), a proving job given up is rejected (the job fails,
the proving component reports it, nothing else stops)."""

from __future__ import annotations

import functools
import sqlite3
import time
from pathlib import Path

import pytest

from tests.node.conftest import batch_data, make_l1_setup, proving_node_config
from tests.node.helpers import fund
from tests.sequencer.helpers import FEE_PK
from zkpipe.client import ZkClient
from zkpipe.errors import L1Behind, Severity
from zkpipe.kpi import NodeMetrics
from zkpipe.l1 import EmbeddedChain, RollupContract
from zkpipe.l1.anvil import Anvil, dev_key
from zkpipe.l1.jsonrpc import JsonRpcChain
from zkpipe.l1.syncer import L1Syncer
from zkpipe.node.config import ProvingConfig
from zkpipe.node.proving import ProvingPipeline
from zkpipe.node.run import BackgroundNode
from zkpipe.node.store import Store
from zkpipe.node.supervisor import BACKOFF_FIRST_S, Supervisor
from zkpipe.proving.backends.local import LocalBackend
from zkpipe.proving.statement import Statement
from zkpipe.spec import ACCOUNT_TREE_DEPTH


def test_divergent_batch_is_reset_then_critical(l1_setup) -> None:  # type: ignore[no-untyped-def]
    chain, rollup, store, sender, syncer = l1_setup
    assert isinstance(chain, EmbeddedChain) and isinstance(rollup, RollupContract)
    # The node's record of batch 1 no longer matches what L1 computes from the posted data (a store
    # written by another run, or damaged): L1's accumulated input hash differs from the stored one.
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE batches SET l1_acc_input_hash = ? WHERE number = 1", (bytes(32),))
    rollup.sequence_batches([batch_data(store, 1)], sender=sender.sequencer_address)
    chain.mine()
    supervisor = Supervisor()
    supervisor.add(syncer, interval_s=0.05)
    supervisor.step_once("syncer")
    health = supervisor.health()["syncer"]
    assert health.resets == 1 and health.running and health.last_error is not None
    assert "L1_DIVERGED" in health.last_error
    row = store.batch_by_number(1)
    assert row is not None and row.status == "closed"  # not marked virtual
    # The re-sync reads the same blocks again: still divergent, so the syncer stops.
    supervisor.step_once("syncer")
    assert not health.running and health.failure is not None and "STORAGE_ERROR" in health.failure
    assert supervisor.failures() == {"syncer": health.failure}
    row = store.batch_by_number(1)
    assert row is not None and row.status == "closed"


def test_unreachable_l1_is_retried_with_backoff_and_the_syncer_carries_on(l1_setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, rollup, store, _, _ = l1_setup
    assert isinstance(store, Store)
    anvil = Anvil(tmp_path / "anvil", block_time=0.2).start()
    try:
        chain = JsonRpcChain(anvil.url, [dev_key(0)], retry_for_s=0.2, request_timeout_s=0.5, confirmations=0)
        syncer = L1Syncer(chain, RollupContract(chain, rollup.address), store, NodeMetrics())
        supervisor = Supervisor()
        supervisor.add(syncer, interval_s=0.05)
        anvil.stop()  # the L1 goes away (its state kept)
        supervisor.step_once("syncer")
        supervisor.step_once("syncer")
        health = supervisor.health()["syncer"]
        assert health.running and health.failure is None and health.retries == 2
        assert health.last_error is not None and health.last_error.startswith("L1_UNAVAILABLE")
        assert supervisor._loops["syncer"].backoff_s == 2 * BACKOFF_FIRST_S
        anvil.start()  # back on the same port: the next step succeeds and the retries are over
        supervisor.step_once("syncer")
        assert health.running and health.retries == 0 and syncer.cursor >= 0
    finally:
        anvil.stop()


def test_a_proof_of_batches_not_yet_on_l1_is_temporary_and_passes_once_they_are(
    tmp_path: Path, private_compile_cache: None
) -> None:
    setup = make_l1_setup(tmp_path, ACCOUNT_TREE_DEPTH)  # the depth the segment witnesses need
    chain, rollup, store, sender, _ = next(setup)
    config = ProvingConfig(enabled=True, prove_from="trusted", aggregation_n=2)
    backend = LocalBackend(1, preload=())
    pipeline = ProvingPipeline(
        config, store, chain, rollup, aggregator=chain.accounts[2], fee_public_key=FEE_PK,
        data_dir=tmp_path, backend=backend,
    )  # fmt: skip
    try:
        pipeline._take_new_batches()  # prove_from = "trusted": both closed batches, before L1 has them
        batches = [pipeline.record.batches[n] for n in (1, 2)]
        # The statement the window's aggregate proves: its segments' statements joined.
        statement = functools.reduce(Statement.joined, (job.expected for b in batches for job in b.jobs))
        for posted in ([], [1]):
            if posted:
                rollup.sequence_batches(
                    [batch_data(store, n) for n in posted], sender=sender.sequencer_address
                )
                chain.mine()
            with pytest.raises(L1Behind) as behind:
                pipeline.check_against_l1(batches, statement)
            assert behind.value.severity is Severity.TEMPORARY  # the supervisor retries, proving goes on
        rollup.sequence_batches([batch_data(store, 2)], sender=sender.sequencer_address)
        chain.mine()
        pipeline.check_against_l1(batches, statement)  # on L1 now: the same proof passes every check
    finally:
        pipeline.close()
        next(setup, None)  # the setup's teardown


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_rejected_proving_job_fails_and_nothing_else_stops(tmp_path: Path) -> None:
    # The fault: provers far slower than the job timeout, so every attempt is cancelled and the
    # window's aggregate is given up (ProvingFailed, severity rejected).
    config = proving_node_config(tmp_path / "node", **{"proving.job_timeout_s": 0.05})
    background = BackgroundNode(config).start()
    client = ZkClient(background.url)
    try:
        funded = fund(background, client, 2)
        deadline = time.monotonic() + 240
        while (proving := client.chain_info().health.components["proving"]).running:
            assert time.monotonic() < deadline, "the proving job was never given up"
            time.sleep(0.5)
        assert proving.rejected == 1 and proving.failure is not None
        assert proving.failure.startswith("PROVING_FAILED")
        # Nothing else stops: transactions still go trusted, then virtual.
        sent = client.send_transaction(funded.transfer(1, 2))
        client.wait_for_status(sent.hash, "virtual", timeout=30)
        health = client.chain_info().health
        assert not health.ok and set(health.failures) == {"proving"}
        assert all(c.running for name, c in health.components.items() if name != "proving")
    finally:
        client.close()
        background.stop()
