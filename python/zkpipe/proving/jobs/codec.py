"""The JSON form of proving jobs (stored as JSON, never pickled: the store may outlive a code version)."""

from __future__ import annotations

from typing import Any

from zkpipe.errors import DecodeError, InvalidInput, InvalidProof, StorageError
from zkpipe.native import AccountTuple, Digest, SegmentWitnessTuple, SlotTuple
from zkpipe.proving.jobs.models import AggregateJob, DataJob, Job, JobKind, JoinJob, Position, SegmentJob
from zkpipe.proving.proof import BatchLevelProof, Proof
from zkpipe.proving.statement import Statement


def _digest(value: Any) -> Digest:
    a, b, c, d = (int(x) for x in value)
    return (a, b, c, d)


def _account(value: Any) -> AccountTuple:
    empty, fields, siblings = value
    return (bool(empty), [int(x) for x in fields], [_digest(s) for s in siblings])


def _slot(value: Any) -> SlotTuple:
    kind, elements, leaf_a, leaf_b = value
    return (int(kind), [int(x) for x in elements], _account(leaf_a), _account(leaf_b))


def _witness(value: Any) -> SegmentWitnessTuple:
    root, data, withdrawals, deposits, slots, fee, queue_in, chain_id = value
    return (
        _digest(root),
        _digest(data),
        _digest(withdrawals),
        _digest(deposits),
        [_slot(s) for s in slots],
        _account(fee),
        int(queue_in),
        int(chain_id),
    )


def _statement(value: Any) -> Statement:
    return Statement.from_elements([int(x) for x in value])


def _span(value: Any) -> tuple[Position, Position]:
    (b0, s0), (b1, s1) = value
    return (int(b0), int(s0)), (int(b1), int(s1))


def job_to_json(job: Job) -> dict[str, Any]:
    """A JSON-ready form of a job."""
    if isinstance(job, SegmentJob):
        return {
            "kind": str(job.kind),
            "batch": job.batch,
            "index": job.index,
            "k": job.k,
            "witness": job.witness,
            "expected": job.expected.to_elements(),
        }
    if isinstance(job, DataJob):
        return {
            "kind": str(job.kind),
            "batch": job.batch,
            "k": job.k,
            "blocks": job.blocks,
            "data": job.data.hex(),
            "batch_segments": job.batch_segments.to_elements(),
            "acc_in": job.acc_in.hex(),
        }
    if isinstance(job, JoinJob):
        return {
            "kind": str(job.kind),
            "batch": job.batch,
            "blocks": job.blocks,
            "segments_proof": job.segments_proof.to_json(),
            "data_proof": job.data_proof.to_json(),
            "acc_in": job.acc_in.hex(),
            "data": job.data.hex(),
        }
    return {
        "kind": str(job.kind),
        "left_id": job.left_id,
        "right_id": job.right_id,
        "left": job.left.to_json(),
        "right": job.right.to_json(),
        "left_span": job.left_span,
        "right_span": job.right_span,
        "segments": job.segments,
    }


def job_from_json(obj: Any) -> Job:
    """Reads `job_to_json`'s form; StorageError if malformed."""
    try:
        if obj["kind"] == JobKind.SEGMENT:
            return SegmentJob(
                int(obj["batch"]),
                int(obj["index"]),
                int(obj["k"]),
                _witness(obj["witness"]),
                _statement(obj["expected"]),
            )
        if obj["kind"] == JobKind.AGGREGATE:
            return AggregateJob(
                str(obj["left_id"]),
                str(obj["right_id"]),
                Proof.from_json(obj["left"]),
                Proof.from_json(obj["right"]),
                _span(obj["left_span"]),
                _span(obj["right_span"]),
                int(obj["segments"]),
            )
        if obj["kind"] == JobKind.DATA:
            return DataJob(
                int(obj["batch"]),
                int(obj["k"]),
                int(obj["blocks"]),
                bytes.fromhex(obj["data"]),
                _statement(obj["batch_segments"]),
                bytes.fromhex(obj["acc_in"]),
            )
        if obj["kind"] == JobKind.JOIN:
            return JoinJob(
                int(obj["batch"]),
                int(obj["blocks"]),
                Proof.from_json(obj["segments_proof"]),
                BatchLevelProof.from_json(obj["data_proof"]),
                bytes.fromhex(obj["acc_in"]),
                bytes.fromhex(obj["data"]),
            )
        raise StorageError(f"unknown job kind {obj['kind']!r}")
    except StorageError:
        raise
    except (KeyError, TypeError, ValueError, InvalidInput, InvalidProof, DecodeError) as err:
        raise StorageError(f"stored job is malformed: {err!r}") from None
