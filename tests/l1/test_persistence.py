"""Persistence of the embedded chain: reopen from the data dir with the same state, torn tails, corruption."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest

from tests.l1.conftest import ROLLUP_CHAIN_ID, Devnet, FakeClock, deploy, make_batches
from zkpipe.errors import StorageError
from zkpipe.l1.chain import TxHash, wait_for_receipt
from zkpipe.l1.compiler import CompiledContract
from zkpipe.l1.embedded import BLOCK_LOG_NAME, EmbeddedChain
from zkpipe.l1.hashes import ZERO_HASH
from zkpipe.l1.rollup import RollupContract
from zkpipe.spec import compute_batch_input_hash


def snapshot(chain: EmbeddedChain, rollup: RollupContract) -> dict[str, object]:
    """Everything a restart must keep."""
    latest = chain.latest_block()
    return {
        "block": latest,
        "sequenced": rollup.last_batch_sequenced(),
        "acc": [rollup.acc_input_hash(n) for n in range(rollup.last_batch_sequenced() + 1)],
        "verified": rollup.last_verified_batch(),
        "root": rollup.consolidated_state_root(),
        "deposits": rollup.deposit_count(),
        "queue": rollup.deposit_queue_hash(),
        "balances": [chain.balance_by_address(a) for a in (*chain.accounts, rollup.address)],
        "logs": chain.logs_by_range(0, latest.number),
        "blocks": [chain.block_by_number(n) for n in range(latest.number + 1)],
        "receipts": [chain.receipt_by_hash(h) for n in range(latest.number + 1) for h in block_txs(chain, n)],
    }


def block_txs(chain: EmbeddedChain, number: int) -> tuple[TxHash, ...]:
    block = chain.block_by_number(number)
    assert block is not None
    return block.tx_hashes


def build_history(devnet: Devnet) -> None:
    """Deposits, two sequencing calls and a verification."""
    rollup = devnet.rollup
    devnet.mine_receipt(rollup.deposit(3, b"\x03" * 40, 77, sender=devnet.user))
    ts = devnet.chain.latest_block().timestamp
    devnet.mine_receipt(rollup.sequence_batches(make_batches(devnet, (ts, 1)), sender=devnet.sequencer))
    devnet.mine_receipt(rollup.sequence_batches(make_batches(devnet, (ts + 1, 1)), sender=devnet.sequencer))
    devnet.mine_receipt(devnet.verify(2, b"\x09" * 32, ZERO_HASH))
    devnet.chain.mine()  # an empty block too


def open_chain(data_dir: Path, clock: FakeClock) -> EmbeddedChain:
    return EmbeddedChain(data_dir, clock=clock)


def test_restart_keeps_l1_state_and_continues(
    tmp_path: Path, clock: FakeClock, compiled: CompiledContract
) -> None:
    chain = open_chain(tmp_path, clock)
    devnet = deploy(chain, compiled)
    build_history(devnet)
    before = snapshot(chain, devnet.rollup)
    address = devnet.rollup.address
    chain.close()

    clock.now += 3600  # the node was down for an hour
    reopened = open_chain(tmp_path, clock)
    rollup = RollupContract(reopened, address, compiled)
    assert snapshot(reopened, rollup) == before

    # Continue: sequencing extends the same acc-input-hash chain, new tx hashes are fresh.
    ts = reopened.latest_block().timestamp
    again = dataclasses.replace(devnet, chain=reopened, rollup=rollup)
    (three,) = make_batches(again, (ts, 1))
    tx = rollup.sequence_batches([three], sender=devnet.sequencer)
    assert reopened.receipt_by_hash(tx) is None
    block = reopened.mine()
    assert block.number == before["block"].number + 1  # type: ignore[attr-defined]
    assert block.timestamp == int(clock.now)
    assert rollup.wait(tx, timeout=0).success
    assert rollup.acc_input_hash(3) == compute_batch_input_hash(
        rollup.acc_input_hash(2), three.data, ROLLUP_CHAIN_ID
    )
    after = snapshot(reopened, rollup)
    reopened.close()

    with open_chain(tmp_path, clock) as third:
        assert snapshot(third, RollupContract(third, address, compiled)) == after


def test_torn_last_record_is_ignored(tmp_path: Path, clock: FakeClock, compiled: CompiledContract) -> None:
    chain = open_chain(tmp_path, clock)
    devnet = deploy(chain, compiled)
    build_history(devnet)
    before = snapshot(chain, devnet.rollup)
    chain.close()
    log = tmp_path / BLOCK_LOG_NAME
    # A crash mid-append: the header promises 1000 bytes, only 10 made it to disk.
    with log.open("ab") as f:
        f.write(struct.pack(">II", 1000, 0) + b"\x00" * 10)

    with open_chain(tmp_path, clock) as reopened:
        assert snapshot(reopened, RollupContract(reopened, devnet.rollup.address, compiled)) == before
        reopened.mine()  # appends after the intact prefix, not after the torn bytes
    with open_chain(tmp_path, clock) as again:
        assert again.latest_block().number == before["block"].number + 1  # type: ignore[attr-defined]


def test_torn_header_and_torn_payload_drop_only_the_last_block(tmp_path: Path, clock: FakeClock) -> None:
    with open_chain(tmp_path, clock) as chain:
        for _ in range(3):
            chain.mine()
        third = chain.latest_block()
    log = tmp_path / BLOCK_LOG_NAME
    size = log.stat().st_size
    with log.open("ab") as f:
        f.write(b"\x00\x00\x00")  # three bytes of a header
    with open_chain(tmp_path, clock) as reopened:
        assert reopened.latest_block() == third
    with log.open("r+b") as f:
        f.truncate(size - 5)  # the last block's payload cut short
    with open_chain(tmp_path, clock) as reopened:
        assert reopened.latest_block().number == third.number - 1


def test_invalid_corrupt_record_before_the_tail(tmp_path: Path, clock: FakeClock) -> None:
    with open_chain(tmp_path, clock) as chain:
        for _ in range(3):
            chain.mine()
    log = tmp_path / BLOCK_LOG_NAME
    data = bytearray(log.read_bytes())
    data[20] ^= 0xFF  # inside the genesis record, with intact records after it
    log.write_bytes(bytes(data))
    with pytest.raises(StorageError):
        open_chain(tmp_path, clock)


def test_invalid_reopen_with_another_chain_id(tmp_path: Path, clock: FakeClock) -> None:
    EmbeddedChain(tmp_path, clock=clock, chain_id=1).close()
    with pytest.raises(StorageError):
        EmbeddedChain(tmp_path, clock=clock, chain_id=2)


def test_restart_after_timed_block_production(tmp_path: Path) -> None:
    with EmbeddedChain(tmp_path, block_time=0.02) as chain:
        chain.start()
        tx = chain.send_transaction(
            sender=chain.accounts[0], to=chain.accounts[1], data=b"", value=9, gas=21_000
        )
        wait_for_receipt(chain, tx, timeout=5.0, poll_interval=0.01)
        chain.stop()
        latest = chain.latest_block()
        balance = chain.balance_by_address(chain.accounts[1])
    with EmbeddedChain(tmp_path) as reopened:
        assert reopened.latest_block() == latest
        assert reopened.balance_by_address(reopened.accounts[1]) == balance
