"""The Groth16 verifier contract on the embedded L1, against real gnark proofs.

The fixtures come from `zkpipe-wrap sample` (our Go program): a small circuit of the wrap
circuit's kind (one public input, one BSB22 commitment), set up twice (two keys).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zkpipe.errors import L1Reverted
from zkpipe.l1.embedded import EmbeddedChain
from zkpipe.l1.groth16 import Groth16Verifier

FIXTURES = Path(__file__).parent / "fixtures"
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedChain]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZKPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("zkpipe-cache")))
        with EmbeddedChain(None) as c:
            yield c


def _deploy(chain: EmbeddedChain, vk: dict[str, Any]) -> Groth16Verifier:
    tx = Groth16Verifier.send_deploy(chain, vk, deployer=chain.accounts[0])
    chain.mine()
    receipt = chain.receipt_by_hash(tx)
    assert receipt is not None
    return Groth16Verifier.from_receipt(chain, receipt)


@pytest.fixture(scope="module")
def verifier(chain: EmbeddedChain) -> Groth16Verifier:
    return _deploy(chain, _load("sample_verifier.json"))


@pytest.fixture(scope="module")
def proof() -> tuple[list[int], int]:
    p = _load("sample_proof.json")
    return [int(w) for w in p["proof"]], int(p["public_input"])


def test_a_valid_proof_verifies_within_the_gas_budget(
    chain: EmbeddedChain, verifier: Groth16Verifier, proof: tuple[list[int], int]
) -> None:
    words, x = proof
    assert verifier.verify(words, x)
    # One pairing call with six pairs, four scalar multiplications: 305,780 gas with the transaction's
    # base, of which 300,966 are the base, the calldata and the precompiles (docs/l1.md).
    assert verifier.verify_gas(words, x, sender=chain.accounts[1]) < 320_000


def test_a_changed_public_input_reverts(verifier: Groth16Verifier, proof: tuple[list[int], int]) -> None:
    words, x = proof
    for other in (x + 1, x - 1, 0):
        with pytest.raises(L1Reverted, match="invalid proof"):
            verifier.verify(words, other)


@pytest.mark.parametrize("index", range(12))
def test_any_changed_proof_word_reverts(
    verifier: Groth16Verifier, proof: tuple[list[int], int], index: int
) -> None:
    words, x = proof
    flipped = list(words)
    flipped[index] ^= 1 << 7  # one bit of one byte
    with pytest.raises(L1Reverted):
        verifier.verify(flipped, x)


def test_non_canonical_coordinates_revert(verifier: Groth16Verifier, proof: tuple[list[int], int]) -> None:
    words, x = proof
    shifted = [words[0] + Q, *words[1:]]  # the same point, written with a coordinate >= q
    with pytest.raises(L1Reverted, match="not in the field"):
        verifier.verify(shifted, x)


def test_a_proof_under_another_verifying_key_reverts(
    chain: EmbeddedChain, proof: tuple[list[int], int]
) -> None:
    words, x = proof
    other = _deploy(chain, _load("sample_other_verifier.json"))
    with pytest.raises(L1Reverted, match="invalid proof"):
        other.verify(words, x)


def test_a_public_input_outside_the_field_reverts(
    verifier: Groth16Verifier, proof: tuple[list[int], int]
) -> None:
    words, x = proof
    r = 21888242871839275222246405745257275088548364400416034343698204186575808495617
    # x + r multiplies the key's point to the same result: without the range check it would pass.
    with pytest.raises(L1Reverted, match="public input not in the field"):
        verifier.verify(words, x + r)


def test_the_go_program_proves_what_the_contract_accepts(chain: EmbeddedChain, tmp_path: Path) -> None:
    """`zkpipe-wrap sample` sets up and proves afresh; its key and proof go through the contract."""
    from zkpipe.proving.wrap import wrapper_binary

    subprocess.run([str(wrapper_binary()), "sample", "-out", str(tmp_path)], check=True, capture_output=True)
    fresh = json.loads((tmp_path / "proof.json").read_text())
    words, x = [int(w) for w in fresh["proof"]], int(fresh["public_input"])
    verifier = _deploy(chain, json.loads((tmp_path / "verifier.json").read_text()))
    assert verifier.verify(words, x)
    with pytest.raises(L1Reverted, match="invalid proof"):
        verifier.verify(words, x + 1)
