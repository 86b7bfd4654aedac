"""The zkpipe exception hierarchy: every error has a stable code and a severity."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """What a caller should do about an error."""

    TEMPORARY = "temporary"  # retry later
    CRITICAL = "critical"  # stop: something is wrong with this node or its data
    RESET = "reset"  # re-sync from L1
    REJECTED = "rejected"  # the input is bad; retrying the same input cannot help


class ZkpipeError(Exception):
    """Root of every error zkpipe raises on purpose."""

    code: str = "ZKPIPE_ERROR"
    severity: Severity = Severity.CRITICAL

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self.args[0]) if self.args else ""

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready form: code, severity and message."""
        return {"code": self.code, "severity": str(self.severity), "message": self.message}


class InvalidInput(ZkpipeError):
    """Input that is malformed or out of range (bytes, field elements, indices, lengths)."""

    code = "INVALID_INPUT"
    severity = Severity.REJECTED


class PlanInputError(InvalidInput):
    """A planner or KPI input (parameter, measurements file, run file) that is malformed or out of range."""

    code = "INVALID_PLAN_INPUT"


class NonCanonicalFieldElement(InvalidInput):
    """A value that is not a canonical Goldilocks field element (must be < p)."""

    code = "NON_CANONICAL_FIELD"


class DecodeError(InvalidInput):
    """Bytes that are not a valid canonical encoding."""

    code = "MALFORMED_ENCODING"


class InvalidKey(InvalidInput):
    """A secret or public key that is malformed or not on the curve."""

    code = "INVALID_KEY"


class MalformedSignature(InvalidInput):
    """A signature whose bytes are not a well-formed (s, e) pair."""

    code = "MALFORMED_SIGNATURE"


class InvalidProof(ZkpipeError):
    """A proof that does not parse or does not verify."""

    code = "INVALID_PROOF"
    severity = Severity.REJECTED


class ProvingFailed(ZkpipeError):
    """The prover could not produce a proof (for example, an unsatisfiable witness)."""

    code = "PROVING_FAILED"
    severity = Severity.REJECTED


class MissingExtra(ZkpipeError):
    """An optional dependency that a feature needs is not installed (the message names the pip extra)."""

    code = "MISSING_EXTRA"
    severity = Severity.CRITICAL


class StorageError(ZkpipeError):
    """Persistent data that is missing, unreadable or corrupt."""

    code = "STORAGE_ERROR"
    severity = Severity.CRITICAL


class SnapshotInvalid(StorageError):
    """A state snapshot that is corrupt, of another format or not of its log: rebuild from the log."""

    code = "SNAPSHOT_INVALID"
    severity = Severity.RESET


class TxError(StrEnum):
    """Stable codes for why a transaction is invalid (or why a deposit is refunded)."""

    MALFORMED_ENCODING = "MALFORMED_ENCODING"
    ACCOUNT_INDEX_OUT_OF_RANGE = "ACCOUNT_INDEX_OUT_OF_RANGE"
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    SELF_TRANSFER = "SELF_TRANSFER"
    ZERO_AMOUNT = "ZERO_AMOUNT"
    FEE_ACCOUNT_MISUSE = "FEE_ACCOUNT_MISUSE"
    WRONG_NONCE = "WRONG_NONCE"
    NONCE_OVERFLOW = "NONCE_OVERFLOW"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    BALANCE_OVERFLOW = "BALANCE_OVERFLOW"
    FEE_OVERFLOW = "FEE_OVERFLOW"
    ZERO_L1_ADDRESS = "ZERO_L1_ADDRESS"
    INVALID_PUBLIC_KEY = "INVALID_PUBLIC_KEY"
    DEPOSIT_KEY_MISMATCH = "DEPOSIT_KEY_MISMATCH"
    DEPOSIT_OUT_OF_ORDER = "DEPOSIT_OUT_OF_ORDER"
    DEPOSIT_NOT_REFUNDABLE = "DEPOSIT_NOT_REFUNDABLE"
    WRONG_CHAIN_ID = "WRONG_CHAIN_ID"  # signed for another deployment (the sender said which)
    UNPACKABLE_AMOUNT = "UNPACKABLE_AMOUNT"  # no compact encoding (zkpipe.spec.public_data)
    UNPACKABLE_FEE = "UNPACKABLE_FEE"


class BatchError(StrEnum):
    """Stable codes for why a batch is invalid as a whole."""

    BAD_SEGMENT_SIZE = "BAD_SEGMENT_SIZE"
    WRONG_BATCH_NUMBER = "WRONG_BATCH_NUMBER"
    WRONG_PREVIOUS_INPUT_HASH = "WRONG_PREVIOUS_INPUT_HASH"
    TIMESTAMP_DECREASES = "TIMESTAMP_DECREASES"
    DEPOSIT_RANGE_MISMATCH = "DEPOSIT_RANGE_MISMATCH"


class InvalidTransaction(ZkpipeError):
    """A transaction that breaks a rule of the state-transition function; `code` says which."""

    code = "INVALID_TRANSACTION"
    severity = Severity.REJECTED

    def __init__(self, error: TxError, message: str) -> None:
        super().__init__(message, code=str(error))
        self.error = error


class InvalidBatch(ZkpipeError):
    """A batch that cannot be applied as a whole; `code` says why."""

    code = "INVALID_BATCH"
    severity = Severity.REJECTED

    def __init__(self, error: BatchError, message: str) -> None:
        super().__init__(message, code=str(error))
        self.error = error


class L1Error(ZkpipeError):
    """The L1 chain could not do what was asked (unreachable, timed out, inconsistent)."""

    code = "L1_ERROR"
    severity = Severity.TEMPORARY


class L1Reverted(L1Error):
    """An L1 transaction or call reverted; `reason` is the contract's revert message."""

    code = "L1_REVERTED"
    severity = Severity.REJECTED

    def __init__(self, reason: str, *, gas_used: int = 0) -> None:
        super().__init__(f"L1 execution reverted: {reason}")
        self.reason = reason
        self.gas_used = gas_used


class ContractCompileError(L1Error):
    """A contract source that the Vyper compiler rejects."""

    code = "CONTRACT_COMPILE_ERROR"
    severity = Severity.CRITICAL


class L1Unavailable(L1Error):
    """The L1 node did not answer (connection refused, timed out) even after retries with backoff."""

    code = "L1_UNAVAILABLE"
    severity = Severity.TEMPORARY


class L1Behind(L1Error):
    """The L1 has not reached what the node needs yet (a batch not sequenced, a block time before a
    batch's timestamp): retry once it has."""

    code = "L1_BEHIND"
    severity = Severity.TEMPORARY


class L1Reorg(L1Error):
    """An L1 block the node already acted on was replaced: a re-org deeper than the confirmation depth."""

    code = "L1_REORG"
    severity = Severity.RESET


class L1Diverged(L1Error):
    """What L1 reports differs from what this node stored (e.g. another accumulated input hash): re-sync."""

    code = "L1_DIVERGED"
    severity = Severity.RESET

    def __init__(self, message: str, *, batch_number: int | None = None) -> None:
        super().__init__(message)
        self.batch_number = batch_number
