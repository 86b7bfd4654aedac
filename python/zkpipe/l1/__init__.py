"""The L1 side of zkpipe: the chain interface, the embedded devnet and the rollup contract client."""

from zkpipe.l1.chain import (
    Address,
    Block,
    L1Chain,
    Log,
    Transaction,
    TxHash,
    TxReceipt,
    require_success,
    to_address,
    wait_for_receipt,
)
from zkpipe.l1.embedded import EmbeddedChain, dev_account
from zkpipe.l1.rollup import (
    BatchData,
    ClaimedWithdrawal,
    DepositEvent,
    GasRecord,
    RollupContract,
    SequencedBatch,
    VerifiedBatches,
)
from zkpipe.l1.withdrawals import Withdrawal, WithdrawalProof, WithdrawalTree

__all__ = [
    "Address",
    "BatchData",
    "Block",
    "ClaimedWithdrawal",
    "DepositEvent",
    "EmbeddedChain",
    "GasRecord",
    "L1Chain",
    "Log",
    "RollupContract",
    "SequencedBatch",
    "Transaction",
    "TxHash",
    "TxReceipt",
    "VerifiedBatches",
    "Withdrawal",
    "WithdrawalProof",
    "WithdrawalTree",
    "dev_account",
    "require_success",
    "to_address",
    "wait_for_receipt",
]
