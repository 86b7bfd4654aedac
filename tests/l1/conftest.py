"""Fixtures for the L1 tests: a compiled contract, an in-memory devnet and a deployed rollup."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from zkpipe.errors import L1Reverted
from zkpipe.l1.chain import Address, TxHash, TxReceipt
from zkpipe.l1.compiler import CompiledContract, compile_contract
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.rollup import BatchData, DepositEvent, RollupContract
from zkpipe.l1.verifier import DEV_PROOF, deploy_dev_verifier
from zkpipe.native import ZERO_DIGEST
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Batch,
    BatchHeader,
    BatchNumber,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Signature,
    Timestamp,
    Transaction,
    Transfer,
    encode_batch,
)

GENESIS_ROOT = bytes.fromhex("11" * 32)
ROLLUP_CHAIN_ID = 0x7A6B70
START_TIME = 1_700_000_000
UNPOSTED = BatchData(bytes(68), 0, 0)
"""What `Devnet.verify` names as the final batch when no batch of that number was made."""


class FakeClock:
    """A wall clock the test moves by hand, so block timestamps are deterministic."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Devnet:
    """A chain with the rollup deployed and named accounts."""

    chain: EmbeddedChain
    rollup: RollupContract
    deployer: Address
    sequencer: Address
    aggregator: Address
    user: Address
    other: Address
    posted: dict[int, BatchData] = field(default_factory=dict)
    """The data `make_batches` made for each batch number (what `verify` names as the final batch)."""

    def verify(
        self, final: int, root: bytes, withdrawals_root: bytes, *, sender: Address | None = None
    ) -> TxHash:
        """Send `verifyBatches` through the dev verifier (chains and fee are free there)."""
        chains = [bytes([final % 256, i]) * 16 for i in range(3)]
        return self.rollup.verify_batches(
            final, self.posted.get(final, UNPOSTED), root, chains, 0, withdrawals_root, DEV_PROOF,
            sender=sender or self.aggregator,
        )  # fmt: skip

    def mine_receipt(self, tx_hash: TxHash) -> TxReceipt:
        """Mine a block and return the (successful) receipt of `tx_hash`."""
        self.chain.mine()
        return self.rollup.wait(tx_hash, timeout=0)


@pytest.fixture(scope="session", autouse=True)
def private_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep compiled contracts of the tests out of the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZKPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("zkpipe-cache")))
        yield


@pytest.fixture(scope="session")
def compiled(private_compile_cache: None) -> CompiledContract:
    """The rollup contract, compiled once per session."""
    return compile_contract("rollup")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def chain(clock: FakeClock) -> Iterator[EmbeddedChain]:
    """An in-memory devnet (no data dir)."""
    with EmbeddedChain(None, clock=clock) as c:
        yield c


def deploy(chain: EmbeddedChain, compiled: CompiledContract) -> Devnet:
    """Deploy the rollup on `chain` with dev accounts 0..4 as deployer/sequencer/aggregator/users,
    consolidating through the dev verifier (the aggregator's word: zkpipe.l1.verifier)."""
    deployer, sequencer, aggregator, user, other = chain.accounts[:5]
    tx_hash = RollupContract.send_deploy(
        chain,
        deployer=deployer,
        sequencer=sequencer,
        verifier=deploy_dev_verifier(chain, deployer=deployer, aggregator=aggregator, timeout=0),
        genesis_state_root=GENESIS_ROOT,
        chain_id=ROLLUP_CHAIN_ID,
        compiled=compiled,
    )
    chain.mine()
    receipt = chain.receipt_by_hash(tx_hash)
    assert receipt is not None
    rollup = RollupContract.from_deployment(chain, receipt, compiled)
    return Devnet(chain, rollup, deployer, sequencer, aggregator, user, other)


@pytest.fixture
def devnet(chain: EmbeddedChain, compiled: CompiledContract) -> Devnet:
    """The rollup deployed on a fresh in-memory devnet."""
    return deploy(chain, compiled)


def key(n: int) -> bytes:
    """A 40-byte stand-in public key (the contract only checks its length)."""
    return bytes([n]) * 40


def expect_revert(devnet: Devnet, tx_hash: TxHash, reason: str) -> TxReceipt:
    """Mine, then check the transaction failed with `reason`; return its receipt."""
    devnet.chain.mine()
    with pytest.raises(L1Reverted, match=reason):
        devnet.rollup.wait(tx_hash, timeout=0)
    receipt = devnet.chain.receipt_by_hash(tx_hash)
    assert receipt is not None and not receipt.success and not receipt.logs
    return receipt


def queued_deposits(devnet: Devnet) -> list[Deposit]:
    """Every entry of the rollup's deposit queue so far, as the spec's deposits."""
    events = devnet.rollup.events(0, devnet.chain.latest_block().number)
    return [
        Deposit(
            DepositIndex(e.deposit_index),
            AccountIndex(e.account_index),
            PublicKey(e.public_key),
            Amount(e.amount_gwei),
            L1Address(bytes.fromhex(e.sender.removeprefix("0x"))),
        )
        for e in events
        if isinstance(e, DepositEvent)
    ]


def filler(count: int) -> list[Transaction]:
    """`count` well-formed transfers (L1 checks their framing only)."""
    signature = Signature(bytes(80))
    return [
        Transfer(AccountIndex(1), AccountIndex(2), Amount(1), Fee(0), Nonce(i), signature)
        for i in range(count)
    ]


def batch_data(
    number: int, timestamp: int, start: int = 0, end: int = 0, txs: tuple[Transaction, ...] = ()
) -> BatchData:
    """One batch to sequence: `txs` under a header the contract accepts after batch `number - 1`."""
    header = BatchHeader(
        BatchNumber(number), Timestamp(timestamp), DepositIndex(start), DepositIndex(end), ZERO_DIGEST
    )
    return BatchData(encode_batch(Batch(header, txs)), timestamp, end)


def make_batches(devnet: Devnet, *specs: tuple[int, int] | tuple[int, int, int]) -> list[BatchData]:
    """Valid batch data following the contract's state: each spec is (timestamp, deposit count after[,
    filler transfers]); a batch consumes the queue's next entries up to its count, then its fillers."""
    number = devnet.rollup.last_batch_sequenced()
    start = devnet.rollup.last_deposit_consumed()
    queue = queued_deposits(devnet)
    out = []
    for spec in specs:
        timestamp, end, *rest = spec
        number += 1
        out.append(
            batch_data(number, timestamp, start, end, (*queue[start:end], *filler(rest[0] if rest else 0)))
        )
        devnet.posted[number] = out[-1]
        start = end
    return out
