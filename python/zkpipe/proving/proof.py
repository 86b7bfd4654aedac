"""Proofs as artifacts: kind, statement, proof bytes and provenance, in one file."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from zkpipe.errors import DecodeError, InvalidProof, StorageError
from zkpipe.proving.statement import BatchStatement, Statement

FORMAT = "zkpipe-proof/2"
"""Tag of the proof file format."""
BATCH_FORMAT = "zkpipe-batch-proof/1"
"""Tag of the batch-level proof format (data proofs and joins, ADR 29)."""


class ProofKind(StrEnum):
    """A (normalized) segment proof, or an aggregate of two or more proofs."""

    SEGMENT = "segment"
    AGGREGATE = "aggregate"
    DATA = "data"  # a batch's data-commitment proof (batch level)
    JOIN = "join"  # a batch's segments joined with its data proof, normalized (batch level)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a proof came from, so a batch can be replayed and a figure reproduced."""

    circuit_digest: tuple[int, ...]
    """Digest of the circuit whose proof this is (normalizer or aggregator)."""
    segment_size: int
    versions: dict[str, str]
    parameters: dict[str, Any]
    threads: int
    wall_seconds: float
    peak_rss_mib: float
    """Peak resident memory of the proving process so far (not of this proof alone)."""
    host: str
    created_at: float
    segments: int = 1
    """Number of segment proofs this proof covers."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Proof:
    """A proof, what it proves and where it came from."""

    kind: ProofKind
    segment_size: int
    statement: Statement
    data: bytes
    provenance: Provenance

    @property
    def is_aggregate(self) -> bool:
        """Whether this is an aggregate proof."""
        return self.kind is ProofKind.AGGREGATE

    def to_json(self) -> dict[str, Any]:
        """The file form: a JSON object with the proof bytes in base64."""
        return {
            "format": FORMAT,
            "kind": str(self.kind),
            "segment_size": self.segment_size,
            "statement": self.statement.to_json(),
            "proof": base64.b64encode(self.data).decode(),
            "proof_sha256": hashlib.sha256(self.data).hexdigest(),
            "provenance": asdict(self.provenance),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Proof:
        """Reads the file form; DecodeError on anything malformed (the proof itself is not verified)."""
        try:
            if obj["format"] != FORMAT:
                raise DecodeError(f"unknown proof format {obj['format']!r}")
            data = base64.b64decode(obj["proof"], validate=True)
            if hashlib.sha256(data).hexdigest() != obj["proof_sha256"]:
                raise DecodeError("proof bytes do not match their checksum")
            statement = Statement.from_json(obj["statement"])
            provenance = dict(obj["provenance"])
            provenance["circuit_digest"] = tuple(provenance["circuit_digest"])
            return cls(
                kind=ProofKind(obj["kind"]),
                segment_size=int(obj["segment_size"]),
                statement=statement,
                data=data,
                provenance=Provenance(**provenance),
            )
        except DecodeError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise DecodeError(f"not a zkpipe proof file: {err!r}") from None

    def save(self, path: str | Path) -> None:
        """Writes the proof to one file."""
        Path(path).write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Proof:
        """Reads a proof file; StorageError if unreadable, DecodeError if malformed."""
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise StorageError(f"cannot read {path}: {err.strerror}") from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise DecodeError(f"{path} is not JSON: {err}") from None
        return cls.from_json(obj)


@dataclass(frozen=True, slots=True)
class BatchLevelProof:
    """A verified batch-level proof of one batch: its data proof, or its join (ADR 29).

    `statement` is the join's (the 44-element BatchStatement); a data proof has none here (the
    scheduler checked its statement against the job's on receipt, and the join re-verifies it).
    """

    kind: ProofKind
    batch: int
    segment_size: int
    blocks: int
    """SHA-256 blocks of the data circuit."""
    statement: BatchStatement | None
    data: bytes
    provenance: Provenance

    @property
    def is_aggregate(self) -> bool:
        """A batch-level proof of one batch is never an aggregate."""
        return False

    def to_json(self) -> dict[str, Any]:
        """The stored form: a JSON object with the proof bytes in base64."""
        return {
            "format": BATCH_FORMAT,
            "kind": str(self.kind),
            "batch": self.batch,
            "segment_size": self.segment_size,
            "blocks": self.blocks,
            "statement": None if self.statement is None else self.statement.to_elements(),
            "proof": base64.b64encode(self.data).decode(),
            "proof_sha256": hashlib.sha256(self.data).hexdigest(),
            "provenance": asdict(self.provenance),
        }

    @classmethod
    def from_json(cls, obj: Any) -> BatchLevelProof:
        """Reads the stored form; DecodeError on anything malformed (the proof itself is not verified)."""
        try:
            if obj["format"] != BATCH_FORMAT:
                raise DecodeError(f"unknown batch proof format {obj['format']!r}")
            data = base64.b64decode(obj["proof"], validate=True)
            if hashlib.sha256(data).hexdigest() != obj["proof_sha256"]:
                raise DecodeError("proof bytes do not match their checksum")
            elements = obj["statement"]
            statement = None if elements is None else BatchStatement.from_elements([int(x) for x in elements])
            provenance = dict(obj["provenance"])
            provenance["circuit_digest"] = tuple(provenance["circuit_digest"])
            return cls(
                kind=ProofKind(obj["kind"]),
                batch=int(obj["batch"]),
                segment_size=int(obj["segment_size"]),
                blocks=int(obj["blocks"]),
                statement=statement,
                data=data,
                provenance=Provenance(**provenance),
            )
        except DecodeError:
            raise
        except (KeyError, TypeError, ValueError, InvalidProof) as err:
            raise DecodeError(f"not a zkpipe batch proof: {err!r}") from None


AnyProof = Proof | BatchLevelProof
"""What the job store holds for a done job."""


def proof_from_json(obj: Any) -> AnyProof:
    """Reads either stored form by its format tag."""
    if isinstance(obj, dict) and obj.get("format") == BATCH_FORMAT:
        return BatchLevelProof.from_json(obj)
    return Proof.from_json(obj)
