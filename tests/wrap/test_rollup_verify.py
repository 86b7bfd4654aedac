"""`verifyBatches` with the real Groth16 verifier: committed wrap proofs consolidate, anything else reverts.

The fixture (fixtures/rollup_proofs.json) holds the verifying key of a real wrap circuit and two
wrap proofs made with it (`zkpipe-wrap prove`, cached keys; docs/wrap.md "Contract fixtures").
Its inner circuit is the engine's test aggregate over a free-statement segment circuit, so the
statements are chosen: the first consolidates batches 1-2 from genesis (queue 0 -> 1), the second
batch 3 from where the first ended (queue 1 -> 2). Each test deploys the contracts afresh and
builds exactly the L1 history those statements describe.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.l1.conftest import Devnet, expect_revert, key, make_batches
from zkpipe.execution import digest_bytes
from zkpipe.l1.chain import TxHash
from zkpipe.l1.compiler import compile_contract
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.groth16 import Groth16Verifier
from zkpipe.l1.rollup import RollupContract
from zkpipe.proving.wrap import statement_hash

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = json.loads((FIXTURES / "rollup_proofs.json").read_text())
FIRST, SECOND = FIXTURE["proofs"]
CHAIN_ID = FIRST["statement"][35]


@pytest.fixture(autouse=True, scope="module")
def private_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZKPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("zkpipe-cache")))
        yield


def digest(statement: Sequence[int], field: int) -> bytes:
    """The statement's `field`-th digest as the contract stores it."""
    return digest_bytes(tuple(statement[4 * field : 4 * field + 4]))  # type: ignore[arg-type]


def call_fields(statement: Sequence[int]) -> tuple[bytes, list[bytes], int]:
    """What `verifyBatches` takes from the call: the new root, the new chain heads and the fee total."""
    chains = [digest(statement, 3), digest(statement, 5), digest(statement, 7)]
    return digest(statement, 1), chains, statement[32]


def history(
    *, vk: dict[str, Any] | None = None, genesis: bytes | None = None, chain_id: int = CHAIN_ID
) -> Iterator[Devnet]:
    """A chain with the Groth16 verifier and the rollup deployed, two deposits and three batches
    sequenced (consuming 0, 1 and 1 entries): the history the fixture's statements prove."""
    with EmbeddedChain(None) as chain:
        deployer, sequencer, submitter, user, other = chain.accounts[:5]
        tx = Groth16Verifier.send_deploy(chain, vk or FIXTURE["verifier"], deployer=deployer)
        chain.mine()
        verifier = Groth16Verifier.from_receipt(chain, chain.receipt_by_hash(tx))  # type: ignore[arg-type]
        tx = RollupContract.send_deploy(
            chain, deployer=deployer, sequencer=sequencer, verifier=verifier.address, chain_id=chain_id,
            genesis_state_root=genesis or digest(FIRST["statement"], 0), compiled=compile_contract("rollup"),
        )  # fmt: skip
        chain.mine()
        rollup = RollupContract.from_deployment(chain, chain.receipt_by_hash(tx))  # type: ignore[arg-type]
        devnet = Devnet(chain, rollup, deployer, sequencer, submitter, user, other)
        for n in (1, 2):
            devnet.mine_receipt(rollup.deposit(n, key(n), 5, sender=user))
        ts = chain.latest_block().timestamp
        seq = rollup.sequence_batches(make_batches(devnet, (ts, 0), (ts, 1), (ts, 2)), sender=sequencer)
        devnet.mine_receipt(seq)
        yield devnet


@pytest.fixture
def devnet() -> Iterator[Devnet]:
    yield from history()


def send(
    devnet: Devnet,
    final: int,
    proof: dict[str, Any],
    *,
    statement: Sequence[int] | None = None,
    words: Sequence[int] | None = None,
) -> TxHash:
    """`verifyBatches` for `final` with a fixture proof (call fields from `statement` if given), by anyone."""
    root, chains, fee = call_fields(statement or proof["statement"])
    return devnet.rollup.verify_batches(
        final, devnet.posted[final], root, chains, fee, bytes(32), words or proof["proof"], sender=devnet.user
    )


def assert_unchanged(devnet: Devnet, genesis: bytes | None = None) -> None:
    """Nothing was consolidated: L1 still stands at genesis."""
    assert devnet.rollup.last_verified_batch() == 0
    assert devnet.rollup.consolidated_state_root() == (genesis or digest(FIRST["statement"], 0))
    assert devnet.rollup.consolidated_chains() == [bytes(32)] * 3


def test_wrapped_proofs_consolidate_and_the_next_starts_where_the_last_ended(devnet: Devnet) -> None:
    expected = statement_hash(FIRST["statement"])
    assert devnet.rollup.public_input(*call_fields(FIRST["statement"]), 1) == expected
    receipt = devnet.mine_receipt(send(devnet, 2, FIRST))
    assert devnet.rollup.last_verified_batch() == 2
    assert devnet.rollup.consolidated_state_root() == digest(FIRST["statement"], 1)
    assert devnet.rollup.consolidated_chains() == call_fields(FIRST["statement"])[1]
    assert receipt.gas_used < 440_000  # 427,181: the first consolidation writes fresh slots
    receipt = devnet.mine_receipt(send(devnet, 3, SECOND))
    assert receipt.gas_used < 350_000  # 339,593 (slots warm on this chain): the precompiles are ~274k
    assert devnet.rollup.last_verified_batch() == 3
    assert devnet.rollup.consolidated_state_root() == digest(SECOND["statement"], 1)


@pytest.mark.parametrize("final", [1, 3])
def test_invalid_proof_of_another_batch_range(devnet: Devnet, final: int) -> None:
    # Batches 1..1 and 1..3 end at other queue counts (0 and 2) than the proof's 1.
    expect_revert(devnet, send(devnet, final, FIRST), "invalid proof")
    assert_unchanged(devnet)


@pytest.mark.parametrize(
    "deployment", [{"genesis": bytes(32)}, {"chain_id": CHAIN_ID + 1}], ids=["root_before", "chain_id"]
)
def test_invalid_proof_when_a_stored_field_differs(deployment: dict[str, Any]) -> None:
    for devnet in history(**deployment):
        expect_revert(devnet, send(devnet, 2, FIRST), "invalid proof")
        assert_unchanged(devnet, genesis=deployment.get("genesis"))


@pytest.mark.parametrize(
    "element", [4, 12, 20, 28, 32], ids=["root_after", "data", "withdrawals", "deposits", "fee"]
)
def test_invalid_proof_with_a_changed_call_field(devnet: Devnet, element: int) -> None:
    changed = list(FIRST["statement"])
    changed[element] += 1
    expect_revert(devnet, send(devnet, 2, FIRST, statement=changed), "invalid proof")
    assert_unchanged(devnet)


def test_invalid_proof_with_a_flipped_byte(devnet: Devnet) -> None:
    words = list(FIRST["proof"])
    words[2] = int(words[2]) ^ (1 << 40)
    expect_revert(devnet, send(devnet, 2, FIRST, words=words), "pairing precompile failed|invalid proof")
    assert_unchanged(devnet)


def test_invalid_proof_under_another_verifying_key() -> None:
    other = json.loads((FIXTURES / "sample_other_verifier.json").read_text())
    for devnet in history(vk=other):
        expect_revert(devnet, send(devnet, 2, FIRST), "invalid proof")
        assert_unchanged(devnet)


def test_invalid_replayed_proof(devnet: Devnet) -> None:
    devnet.mine_receipt(send(devnet, 2, FIRST))
    expect_revert(devnet, send(devnet, 2, FIRST), "batch already verified")
    # Batch 3 is sequenced, but the consolidated root and queue count have moved on.
    expect_revert(devnet, send(devnet, 3, FIRST), "invalid proof")
    assert devnet.rollup.last_verified_batch() == 2
    # The proof of the second window, sent before the first, starts from the wrong state.
    for fresh in history():
        expect_revert(fresh, send(fresh, 3, SECOND), "invalid proof")
