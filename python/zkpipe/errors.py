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


class StorageError(ZkpipeError):
    """Persistent data that is missing, unreadable or corrupt."""

    code = "STORAGE_ERROR"
    severity = Severity.CRITICAL
