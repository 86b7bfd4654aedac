"""Proving jobs and their store: job models (`models`), their JSON form (`codec`), the queue (`store`)."""

from zkpipe.proving.jobs.codec import job_from_json, job_to_json
from zkpipe.proving.jobs.models import (
    AggregateJob,
    DataJob,
    Job,
    JobKind,
    JobState,
    JoinJob,
    Position,
    SegmentJob,
    compute_joined_statement,
    compute_segment_statement,
)
from zkpipe.proving.jobs.store import JobRecord, JobStore, QuarantineRecord

__all__ = [
    "AggregateJob",
    "DataJob",
    "Job",
    "JobKind",
    "JobRecord",
    "JobState",
    "JobStore",
    "JoinJob",
    "Position",
    "QuarantineRecord",
    "SegmentJob",
    "compute_joined_statement",
    "compute_segment_statement",
    "job_from_json",
    "job_to_json",
]
