"""The Groth16 verifier contract (`contracts/groth16_verifier.vy`): deploy it from a key, call it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from zkpipe.errors import InvalidInput
from zkpipe.l1.abi import ContractAbi
from zkpipe.l1.chain import Address, L1Chain, TxHash, TxReceipt, require_success, wait_for_receipt
from zkpipe.l1.compiler import CompiledContract, compile_contract

CONTRACT_NAME = "groth16_verifier"
DEPLOY_GAS = 3_000_000
VERIFY_GAS = 500_000
PROOF_WORDS = 12


def _ints(values: Sequence[Any]) -> list[int]:
    return [int(v) for v in values]


def _g2(point: Sequence[Sequence[Any]]) -> list[int]:
    return [*_ints(point[0]), *_ints(point[1])]


def constructor_args(vk: Mapping[str, Any]) -> list[Any]:
    """The constructor's arguments from a verifying key as `zkpipe-wrap` writes it (verifier.json)."""
    if int(vk.get("num_public", -1)) != 1 or len(vk["k"]) != 3:
        raise InvalidInput("the verifier takes keys with one public input and one commitment")
    return [
        _ints(vk["alpha"]),
        _g2(vk["beta"]),
        _g2(vk["gamma"]),
        _g2(vk["delta"]),
        [_ints(p) for p in vk["k"]],
        _g2(vk["commitment_g"]),
        _g2(vk["commitment_g_root_sigma_neg"]),
    ]


def key_digest(vk: Mapping[str, Any]) -> str:
    """SHA-256 of the key's constructor arguments: what a deployment pins in its configuration."""
    return hashlib.sha256(json.dumps(constructor_args(vk)).encode()).hexdigest()


class Groth16Verifier:
    """One deployed verifier: its address and ABI."""

    def __init__(self, chain: L1Chain, address: Address, compiled: CompiledContract) -> None:
        self.chain = chain
        self.address = address
        self.abi = ContractAbi.parse(compiled.abi)

    @classmethod
    def send_deploy(cls, chain: L1Chain, vk: Mapping[str, Any], *, deployer: Address) -> TxHash:
        """Submit the creation of a verifier for `vk`."""
        compiled = compile_contract(CONTRACT_NAME)
        data = compiled.bytecode + ContractAbi.parse(compiled.abi).encode_constructor(constructor_args(vk))
        return chain.send_transaction(sender=deployer, to=None, data=data, gas=DEPLOY_GAS)

    @classmethod
    def from_receipt(cls, chain: L1Chain, receipt: TxReceipt) -> Groth16Verifier:
        """The verifier a successful creation deployed."""
        require_success(receipt)
        if receipt.contract_address is None:
            raise InvalidInput("the receipt is not a contract creation")
        return cls(chain, receipt.contract_address, compile_contract(CONTRACT_NAME))

    def _calldata(self, proof: Sequence[int], public_input: int) -> bytes:
        if len(proof) != PROOF_WORDS:
            raise InvalidInput(f"a wrapped proof is {PROOF_WORDS} words, got {len(proof)}")
        return self.abi.function("verifyProof").encode_call([list(proof), public_input])

    def verify(self, proof: Sequence[int], public_input: int) -> bool:
        """Calls `verifyProof`: True, or L1Reverted with the contract's reason."""
        out = self.chain.call(to=self.address, data=self._calldata(proof, public_input))
        return bool(self.abi.function("verifyProof").decode_result(out)[0])

    def send_verify(self, proof: Sequence[int], public_input: int, *, sender: Address) -> TxHash:
        """Sends `verifyProof` as a transaction (to measure its gas)."""
        return self.chain.send_transaction(
            sender=sender, to=self.address, data=self._calldata(proof, public_input), gas=VERIFY_GAS
        )

    def verify_gas(
        self, proof: Sequence[int], public_input: int, *, sender: Address, timeout: float = 60.0
    ) -> int:
        """Gas of one successful `verifyProof` transaction (mined here when the chain can mine)."""
        tx = self.send_verify(proof, public_input, sender=sender)
        mine = getattr(self.chain, "mine", None)
        if callable(mine):
            mine()
        return require_success(wait_for_receipt(self.chain, tx, timeout=timeout)).gas_used
