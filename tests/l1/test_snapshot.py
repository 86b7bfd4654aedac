"""Start-up from a state snapshot: exact (warm slots, originals, gas), crash-safe, and ignored when bad."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.l1.conftest import Devnet, FakeClock, deploy, make_batches
from tests.l1.test_persistence import build_history, snapshot
from zkpipe.errors import SnapshotInvalid
from zkpipe.l1.compiler import CompiledContract
from zkpipe.l1.embedded import BLOCK_LOG_NAME, SNAPSHOT_NAME, EmbeddedChain
from zkpipe.l1.evmstate import SNAPSHOT_VERSION, read_snapshot
from zkpipe.l1.rollup import RollupContract


def _history(tmp_path: Path, clock: FakeClock, compiled: CompiledContract) -> Devnet:
    """A live chain in `tmp_path/live` snapshotting every 3 blocks, with rollup history past one."""
    chain = EmbeddedChain(tmp_path / "live", clock=clock, snapshot_every=3)
    devnet = deploy(chain, compiled)
    build_history(devnet)
    devnet.mine_receipt(devnet.rollup.deposit(4, b"\x04" * 40, 5, sender=devnet.user))
    return devnet


def _crash_copy(tmp_path: Path, name: str) -> Path:
    """The live chain's files as a kill -9 would leave them (every write so far is fsynced)."""
    return Path(shutil.copytree(tmp_path / "live", tmp_path / name))


def _same_next_block(a: Devnet, b: EmbeddedChain, rollup: RollupContract) -> None:
    """The same deposit and sequencing on both chains costs the same gas and yields the same state."""
    for net in (a, dataclasses.replace(a, chain=b, rollup=rollup)):
        ts = net.chain.latest_block().timestamp
        net.rollup.deposit(9, b"\x09" * 40, 11, sender=a.user)
        net.rollup.sequence_batches(make_batches(net, (ts, 1)), sender=a.sequencer)
        net.chain.mine()
    gas = [
        [a.chain.receipt_by_hash(h).gas_used for h in a.chain.latest_block().tx_hashes],  # type: ignore[union-attr]
        [b.receipt_by_hash(h).gas_used for h in b.latest_block().tx_hashes],  # type: ignore[union-attr]
    ]
    assert gas[0] == gas[1]
    assert b.evm_state() == a.chain.evm_state()


def test_restart_loads_the_snapshot_and_replays_only_the_blocks_after_it(
    tmp_path: Path, clock: FakeClock, compiled: CompiledContract
) -> None:
    devnet = _history(tmp_path, clock, compiled)
    live = devnet.chain
    latest = live.latest_block().number
    taken = read_snapshot(tmp_path / "live" / SNAPSHOT_NAME, live.chain_id).block
    assert 0 < taken < latest  # a crash between two snapshots

    reopened = EmbeddedChain(_crash_copy(tmp_path, "crashed"), clock=clock)
    rollup = RollupContract(reopened, devnet.rollup.address, compiled)
    assert reopened.replayed_blocks == latest - taken
    assert reopened.evm_state() == live.evm_state()  # balances, nonces, code, slots (original and present)
    assert snapshot(reopened, rollup) == snapshot(live, devnet.rollup)
    _same_next_block(devnet, reopened, rollup)
    reopened.close()
    live.close()


def test_clean_close_snapshots_so_nothing_is_replayed(
    tmp_path: Path, clock: FakeClock, compiled: CompiledContract
) -> None:
    devnet = _history(tmp_path, clock, compiled)
    state = devnet.chain.evm_state()
    devnet.chain.close()
    with EmbeddedChain(tmp_path / "live", clock=clock) as reopened:
        assert reopened.replayed_blocks == 0
        assert reopened.evm_state() == state


@pytest.mark.parametrize("damage", ["corrupt", "old_version", "ahead_of_log", "other_block"])
def test_invalid_snapshot_is_detected_and_ignored_for_a_full_replay(
    tmp_path: Path, clock: FakeClock, compiled: CompiledContract, damage: str
) -> None:
    devnet = _history(tmp_path, clock, compiled)
    live = devnet.chain
    data_dir = _crash_copy(tmp_path, "damaged")
    path = data_dir / SNAPSHOT_NAME
    digest, _, payload = path.read_bytes().partition(b"\n")
    if damage == "corrupt":
        path.write_bytes(digest + b"\n" + payload.replace(b'"block":', b'"block": ', 1))
    else:
        body = json.loads(payload)
        if damage == "old_version":
            body["version"] = SNAPSHOT_VERSION - 1
        elif damage == "ahead_of_log":
            body["block"] = live.latest_block().number + 5
        else:  # the state of another block at this height
            body["block_hash"] = "00" * 32
        new = json.dumps(body).encode()
        path.write_bytes(hashlib.sha256(new).hexdigest().encode() + b"\n" + new)
    if damage in ("corrupt", "old_version"):
        with pytest.raises(SnapshotInvalid):
            read_snapshot(path, live.chain_id)

    with EmbeddedChain(data_dir, clock=clock) as reopened:
        assert reopened.replayed_blocks == live.latest_block().number  # every block, from genesis
        assert reopened.evm_state() == live.evm_state()
    live.close()


def test_torn_log_tail_after_the_snapshot_falls_back_to_replay(
    tmp_path: Path, clock: FakeClock, compiled: CompiledContract
) -> None:
    with EmbeddedChain(tmp_path, clock=clock, snapshot_every=1) as chain:
        deploy(chain, compiled)
        chain.mine()
        before = chain.latest_block()
    log = tmp_path / BLOCK_LOG_NAME
    log.write_bytes(log.read_bytes()[:-3])  # the last block torn: the snapshot is now ahead of the log
    with EmbeddedChain(tmp_path, clock=clock) as reopened:
        assert reopened.latest_block().number == before.number - 1
        assert reopened.replayed_blocks == before.number - 1
