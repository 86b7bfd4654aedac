"""A typed client of the rollup contract over any L1Chain: deploy, transact, read, decode events."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zkpipe.errors import InvalidInput, L1Error
from zkpipe.l1.abi import ContractAbi
from zkpipe.l1.chain import (
    Address,
    L1Chain,
    Log,
    TxHash,
    TxReceipt,
    require_success,
    to_address,
    wait_for_receipt,
)
from zkpipe.l1.compiler import CompiledContract, compile_contract
from zkpipe.l1.hashes import PUBLIC_KEY_BYTES, WEI_PER_GWEI
from zkpipe.l1.withdrawals import WithdrawalProof

CONTRACT_NAME = "rollup"
MAX_BATCHES_PER_CALL = 16
MAX_SEQUENCE_DATA_BYTES = 120_000
"""Data of all batches of one `sequenceBatches` call together (the contract's limit)."""
# Gas limits per call. Why fixed and generous: the embedded chain does not estimate gas, and
# unused gas costs nothing at a zero gas price.
DEPLOY_GAS = 3_000_000
SEQUENCE_BASE_GAS = 300_000
SEQUENCE_GAS_PER_BATCH = 60_000
SEQUENCE_GAS_PER_BYTE = 24  # 16 calldata + copying, hashing and memory
DEPOSIT_GAS = 200_000
VERIFY_GAS = 600_000  # the Groth16 pairing check (~290k) plus the public input and storage
PROOF_WORDS = 12
"""A wrapped proof's words as `verifyBatches` takes them (zkpipe.l1.groth16)."""
CHAIN_COUNT = 3
"""The commitment chains a proof moves and the contract records: data, withdrawals, deposits."""
CLAIM_GAS = 300_000


@dataclass(frozen=True, slots=True)
class BatchData:
    """One batch to sequence: its L2 data, timestamp and the deposit count consumed up to and including it."""

    data: bytes
    timestamp: int
    deposit_count: int


@dataclass(frozen=True, slots=True)
class SequencedBatch:
    """A `SequenceBatch` event: batch `batch_number` is ordered, with this accumulated input hash."""

    batch_number: int
    acc_input_hash: bytes
    block_number: int
    tx_hash: TxHash


@dataclass(frozen=True, slots=True)
class DepositEvent:
    """A `Deposit` event: an entry of the L1 -> L2 queue."""

    deposit_index: int
    account_index: int
    public_key: bytes
    amount_gwei: int
    sender: Address
    queue_hash: bytes
    block_number: int
    tx_hash: TxHash


@dataclass(frozen=True, slots=True)
class VerifiedBatches:
    """A `VerifyBatches` event: batches up to `final_batch_number` are consolidated."""

    final_batch_number: int
    new_state_root: bytes
    withdrawals_root: bytes
    block_number: int
    tx_hash: TxHash


@dataclass(frozen=True, slots=True)
class ClaimedWithdrawal:
    """A `ClaimWithdrawal` event: one withdrawal leaf was paid out."""

    final_batch_number: int
    batch_number: int
    index: int
    recipient: Address
    amount_gwei: int
    block_number: int
    tx_hash: TxHash


RollupEvent = SequencedBatch | DepositEvent | VerifiedBatches | ClaimedWithdrawal


@dataclass(frozen=True, slots=True)
class GasRecord:
    """Gas one L1 transaction of this client used."""

    tx_hash: TxHash
    method: str
    gas_used: int
    block_number: int
    success: bool


class RollupContract:
    """The deployed rollup contract at `address`, reached through `chain`."""

    def __init__(self, chain: L1Chain, address: Address, compiled: CompiledContract | None = None) -> None:
        self.chain = chain
        self.address = to_address(address)
        self.compiled = compiled or compile_contract(CONTRACT_NAME)
        self.abi = ContractAbi.parse(self.compiled.abi)
        self._lock = threading.Lock()
        self._methods: dict[TxHash, str] = {}
        self.gas_records: list[GasRecord] = []
        """Gas of every transaction this client sent, in the order their receipts were seen."""

    # -- deployment -------------------------------------------------------------------

    @staticmethod
    def send_deploy(
        chain: L1Chain,
        *,
        deployer: Address,
        sequencer: Address,
        verifier: Address,
        genesis_state_root: bytes,
        chain_id: int,
        compiled: CompiledContract | None = None,
    ) -> TxHash:
        """Submit the contract's creation (verifying through `verifier`); its receipt names the address."""
        compiled = compiled or compile_contract(CONTRACT_NAME)
        args = ContractAbi.parse(compiled.abi).encode_constructor(
            [sequencer, verifier, _bytes32(genesis_state_root, "genesis state root"), chain_id]
        )
        return chain.send_transaction(sender=deployer, to=None, data=compiled.bytecode + args, gas=DEPLOY_GAS)

    @classmethod
    def from_deployment(
        cls, chain: L1Chain, receipt: TxReceipt, compiled: CompiledContract | None = None
    ) -> RollupContract:
        """The contract a successful creation receipt deployed."""
        require_success(receipt)
        if receipt.contract_address is None:
            raise L1Error("the receipt is not a contract creation")
        contract = cls(chain, receipt.contract_address, compiled)
        contract.gas_records.append(_gas_record(receipt, "deploy"))
        return contract

    @classmethod
    def deploy(
        cls,
        chain: L1Chain,
        *,
        deployer: Address,
        sequencer: Address,
        verifier: Address,
        genesis_state_root: bytes,
        chain_id: int,
        timeout: float = 60.0,
    ) -> RollupContract:
        """Deploy the contract and wait until it is mined."""
        compiled = compile_contract(CONTRACT_NAME)
        tx_hash = cls.send_deploy(
            chain,
            deployer=deployer,
            sequencer=sequencer,
            verifier=verifier,
            genesis_state_root=genesis_state_root,
            chain_id=chain_id,
            compiled=compiled,
        )
        return cls.from_deployment(chain, wait_for_receipt(chain, tx_hash, timeout=timeout), compiled)

    # -- transactions -------------------------------------------------------------------

    def sequence_batches(self, batches: Sequence[BatchData], *, sender: Address) -> TxHash:
        """Submit `sequenceBatches` (the sender must be the sequencer)."""
        if len(batches) > MAX_BATCHES_PER_CALL:
            raise InvalidInput(f"at most {MAX_BATCHES_PER_CALL} batches per call, got {len(batches)}")
        data = b"".join(b.data for b in batches)
        if len(data) > MAX_SEQUENCE_DATA_BYTES:
            raise InvalidInput(f"{len(data)} bytes of batch data, above {MAX_SEQUENCE_DATA_BYTES} per call")
        gas = SEQUENCE_BASE_GAS + SEQUENCE_GAS_PER_BATCH * len(batches) + SEQUENCE_GAS_PER_BYTE * len(data)
        # Why the batches travel as one blob plus lengths: see the contract's header on memory layout.
        headers = [(len(b.data), b.timestamp, b.deposit_count) for b in batches]
        return self._send("sequenceBatches", [headers, data], sender=sender, gas=gas)

    def deposit(self, account_index: int, public_key: bytes, amount_gwei: int, *, sender: Address) -> TxHash:
        """Submit a deposit of `amount_gwei` gwei to L2 account `account_index`."""
        if len(public_key) != PUBLIC_KEY_BYTES:
            raise InvalidInput(f"a public key is {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}")
        return self.deposit_wei(account_index, public_key, amount_gwei * WEI_PER_GWEI, sender=sender)

    def deposit_wei(
        self, account_index: int, public_key: bytes, value_wei: int, *, sender: Address
    ) -> TxHash:
        """Submit a deposit with a raw wei value (the contract rejects values that are not whole gwei)."""
        return self._send(
            "deposit", [account_index, public_key], sender=sender, value=value_wei, gas=DEPOSIT_GAS
        )

    def verify_batches(
        self,
        final_batch_number: int,
        final_batch: BatchData,
        new_state_root: bytes,
        new_chains: Sequence[bytes],
        fee_total: int,
        withdrawals_root: bytes,
        proof: Sequence[int],
        *,
        sender: Address,
    ) -> TxHash:
        """Submit `verifyBatches`: a wrapped proof that the batches up to `final_batch_number` (whose
        last one was sequenced as `final_batch`) move the consolidated state to `new_state_root` and
        the chains (data, withdrawals, deposits) to `new_chains`."""
        if len(new_chains) != CHAIN_COUNT:
            raise InvalidInput(f"{CHAIN_COUNT} chain heads (data, withdrawals, deposits): {len(new_chains)}")
        if len(proof) != PROOF_WORDS:
            raise InvalidInput(f"a wrapped proof is {PROOF_WORDS} words, got {len(proof)}")
        args = [
            final_batch_number,
            batch_record(final_batch),
            _bytes32(new_state_root, "state root"),
            [_bytes32(c, "chain head") for c in new_chains],
            fee_total,
            _bytes32(withdrawals_root, "withdrawals root"),
            [int(w) for w in proof],
        ]
        return self._send("verifyBatches", args, sender=sender, gas=VERIFY_GAS)

    def claim_withdrawal(self, proof: WithdrawalProof, *, sender: Address) -> TxHash:
        """Submit `claimWithdrawal`; anyone may send it, the recipient is paid."""
        w = proof.withdrawal
        args = [
            proof.final_batch_number,
            w.batch_number,
            w.index,
            to_address(w.recipient),
            w.amount_gwei,
            proof.leaf_position,
            list(proof.siblings),
        ]
        return self._send("claimWithdrawal", args, sender=sender, gas=CLAIM_GAS)

    def public_input(
        self, new_state_root: bytes, new_chains: Sequence[bytes], fee_total: int, queue_out: int
    ) -> int:
        """The public input the contract computes now for a `verifyBatches` ending at queue count
        `queue_out`."""
        chains = [_bytes32(c, "chain head") for c in new_chains]
        root = _bytes32(new_state_root, "state root")
        return int(self._view("publicInput", root, chains, fee_total, queue_out))

    def receipt(self, tx_hash: TxHash) -> TxReceipt | None:
        """The receipt of a transaction, recording its gas the first time it is seen mined."""
        receipt = self.chain.receipt_by_hash(tx_hash)
        if receipt is not None:
            self._record_gas(receipt)
        return receipt

    def wait(self, tx_hash: TxHash, *, timeout: float = 60.0) -> TxReceipt:
        """The receipt once mined; raises L1Reverted (with the contract's reason) if it failed."""
        receipt = wait_for_receipt(self.chain, tx_hash, timeout=timeout)
        self._record_gas(receipt)
        return require_success(receipt)

    # -- views -------------------------------------------------------------------------

    def last_batch_sequenced(self) -> int:
        """Number of the last sequenced batch (0 before any)."""
        return int(self._view("lastBatchSequenced"))

    def last_batch_timestamp(self) -> int:
        """Timestamp of the last sequenced batch (the deployment time before any)."""
        return int(self._view("lastBatchTimestamp"))

    def last_deposit_consumed(self) -> int:
        """Deposits consumed by the sequenced batches."""
        return int(self._view("lastDepositConsumed"))

    def acc_input_hash(self, batch_number: int) -> bytes:
        """The accumulated input hash after `batch_number` (zero for batch 0)."""
        return bytes(self._view("accInputHash", batch_number))

    def last_verified_batch(self) -> int:
        """Number of the last consolidated batch."""
        return int(self._view("lastVerifiedBatch"))

    def consolidated_state_root(self) -> bytes:
        """The state root after the last consolidated batch (the genesis root before any)."""
        return bytes(self._view("consolidatedStateRoot"))

    def withdrawals_root(self, final_batch_number: int) -> bytes:
        """The withdrawals root recorded by the verification ending at `final_batch_number`."""
        return bytes(self._view("withdrawalsRoot", final_batch_number))

    def is_claimed(self, leaf: bytes) -> bool:
        """Whether a withdrawal leaf has been paid."""
        return bool(self._view("claimed", leaf))

    def deposit_count(self) -> int:
        """Number of deposits queued so far."""
        return int(self._view("depositCount"))

    def deposit_queue_hash(self) -> bytes:
        """Head of the deposit-queue hash chain."""
        return bytes(self._view("depositQueueHash"))

    def deposit_record_hash(self, index: int) -> bytes:
        """keccak of queue entry `index`'s 81-byte record, which sequenced batch data must carry."""
        return bytes(self._view("depositRecordHash", index))

    def deposit_queue_hash_at(self, count: int) -> bytes:
        """Head of the deposit-queue hash chain after the first `count` deposits."""
        return bytes(self._view("depositQueueHashAt", count))

    def genesis_state_root(self) -> bytes:
        """The state root the rollup started from."""
        return bytes(self._view("genesisStateRoot"))

    def chain_id(self) -> int:
        """The rollup's chain id (the L2's, not the L1's)."""
        return int(self._view("chainId"))

    def sequencer(self) -> Address:
        """The only address that may sequence."""
        return to_address(self._view("sequencer"))

    def verifier(self) -> Address:
        """The verifier contract every consolidation's proof must pass."""
        return to_address(self._view("verifier"))

    def consolidated_chains(self) -> list[bytes]:
        """The chain heads (data, withdrawals, deposits) at the consolidated state: the next proof's start."""
        return [bytes(self._view("consolidatedChains", i)) for i in range(CHAIN_COUNT)]

    def consolidated_deposit_count(self) -> int:
        """Queue entries the consolidated batches consumed: the next proof's `queue_in`."""
        return int(self._view("consolidatedDepositCount"))

    # -- events --------------------------------------------------------------------------

    def events(self, from_block: int, to_block: int) -> list[RollupEvent]:
        """This contract's events in blocks `from_block..to_block`, decoded, in order."""
        logs = self.chain.logs_by_range(from_block, to_block, address=self.address)
        return [event for log in logs if (event := self.decode_event(log)) is not None]

    def decode_event(self, log: Log) -> RollupEvent | None:
        """A log of this contract as a typed event, or None if it is not one of the rollup's events."""
        if not log.topics or log.topics[0] not in self.abi.events_by_topic:
            return None
        event = self.abi.events_by_topic[log.topics[0]]
        v = event.decode_log(log)
        where = (log.block_number, log.tx_hash)
        if event.name == "SequenceBatch":
            return SequencedBatch(v["batchNumber"], v["accInputHash"], *where)
        if event.name == "Deposit":
            return DepositEvent(
                v["depositIndex"],
                v["accountIndex"],
                v["publicKey"],
                v["amountGwei"],
                to_address(v["sender"]),
                v["queueHash"],
                *where,
            )
        if event.name == "VerifyBatches":
            return VerifiedBatches(v["finalBatchNumber"], v["newStateRoot"], v["withdrawalsRoot"], *where)
        if event.name == "ClaimWithdrawal":
            return ClaimedWithdrawal(
                v["finalBatchNumber"],
                v["batchNumber"],
                v["index"],
                to_address(v["recipient"]),
                v["amountGwei"],
                *where,
            )
        return None

    # -- plumbing ----------------------------------------------------------------------

    def _send(self, method: str, args: list[Any], *, sender: Address, gas: int, value: int = 0) -> TxHash:
        """Encode and submit one call, remembering which method it was for the gas record."""
        data = self.abi.function(method).encode_call(args)
        tx_hash = self.chain.send_transaction(sender=sender, to=self.address, data=data, value=value, gas=gas)
        with self._lock:
            self._methods[tx_hash] = method
        return tx_hash

    def _record_gas(self, receipt: TxReceipt) -> None:
        """Append the receipt's gas to `gas_records` once."""
        with self._lock:
            method = self._methods.pop(receipt.tx_hash, None)
            if method is not None:
                self.gas_records.append(_gas_record(receipt, method))

    def _view(self, name: str, *args: Any) -> Any:
        """Call a view function and return its single result."""
        function = self.abi.function(name)
        (result,) = function.decode_result(self.chain.call(to=self.address, data=function.encode_call(args)))
        return result


def batch_record(batch: BatchData) -> tuple[bytes, int, int, int]:
    """What `verifyBatches` takes for its final batch: sha256 of its data, timestamp, queue start and end."""
    if len(batch.data) < 24:
        raise InvalidInput("batch data shorter than its header")
    start = int.from_bytes(batch.data[16:24], "little")
    return (hashlib.sha256(batch.data).digest(), batch.timestamp, start, batch.deposit_count)


def _gas_record(receipt: TxReceipt, method: str) -> GasRecord:
    """The gas record of one receipt."""
    return GasRecord(receipt.tx_hash, method, receipt.gas_used, receipt.block_number, receipt.success)


def _bytes32(value: bytes, what: str) -> bytes:
    """`value` checked to be exactly 32 bytes."""
    if len(value) != 32:
        raise InvalidInput(f"{what} must be 32 bytes, got {len(value)}")
    return value
