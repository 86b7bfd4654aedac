"""Batch-closing policies: each closes exactly when it should, rejects bad settings, takes feedback."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkpipe.errors import InvalidInput
from zkpipe.sequencer.policy import (
    AdaptivePolicy,
    AnyOf,
    BatchPolicy,
    DownstreamFeedback,
    MaxBytesPolicy,
    MaxTxsPolicy,
    TimeoutPolicy,
)


def adaptive() -> AdaptivePolicy:
    return AdaptivePolicy(min_txs=10, max_txs=160, max_wait_s=5.0, target_latency_s=60.0, high_water=2)


def test_max_txs_closes_at_the_limit() -> None:
    p = MaxTxsPolicy(3)
    assert not p.should_close(0.0, 2, 200, 0.0)
    assert p.should_close(0.0, 3, 300, 0.0)


def test_max_bytes_closes_at_the_byte_budget() -> None:
    p = MaxBytesPolicy(1000)
    assert not p.should_close(9.0, 8, 999, 0.0)
    assert p.should_close(9.0, 9, 1000, 0.0)


def test_timeout_counts_from_the_first_transaction() -> None:
    p = TimeoutPolicy(2.0)
    assert not p.should_close(11.9, 1, 100, 10.0)
    assert p.should_close(12.0, 1, 100, 10.0)


def test_any_of_closes_when_one_policy_does() -> None:
    p = AnyOf((MaxTxsPolicy(100), TimeoutPolicy(1.0)))
    assert not p.should_close(0.5, 5, 500, 0.0)
    assert p.should_close(1.0, 5, 500, 0.0)
    assert p.should_close(0.1, 100, 500, 0.0)


@pytest.mark.parametrize(
    "policy",
    [MaxTxsPolicy(1), MaxBytesPolicy(1), TimeoutPolicy(0.001), AnyOf((TimeoutPolicy(1.0),)), adaptive()],
    ids=["max_txs", "max_bytes", "timeout", "any_of", "adaptive"],
)
@given(now=st.floats(0, 1e6), opened_at=st.floats(0, 1e6), pending_bytes=st.integers(0, 10**9))
def test_an_empty_batch_never_closes(
    policy: BatchPolicy, now: float, opened_at: float, pending_bytes: int
) -> None:
    assert isinstance(policy, BatchPolicy)
    assert not policy.should_close(now, 0, pending_bytes, opened_at)


def test_adaptive_starts_small_and_closes_on_max_wait() -> None:
    p = adaptive()
    assert p.target_txs == 10
    assert p.should_close(0.0, 10, 0, 0.0)
    assert not p.should_close(4.9, 3, 0, 0.0)
    assert p.should_close(5.0, 3, 0, 0.0)


def test_adaptive_grows_batches_when_the_prover_queue_is_deep() -> None:
    p = adaptive()
    for _ in range(10):
        p.observe(DownstreamFeedback(now=0.0, queue_depth=5))
    assert p.target_txs == 160  # doubled up to max_txs and no further
    assert not p.should_close(0.0, 159, 0, 0.0)


def test_adaptive_grows_batches_when_downstream_latency_exceeds_target() -> None:
    p = adaptive()
    p.observe(DownstreamFeedback(now=0.0, queue_depth=1, downstream_latency=120.0))
    assert p.latency_ewma == 120.0
    assert p.target_txs == 20


def test_adaptive_shrinks_back_when_downstream_is_idle() -> None:
    p = adaptive()
    for _ in range(4):
        p.observe(DownstreamFeedback(now=0.0, queue_depth=5))
    grown = p.target_txs
    p.observe(DownstreamFeedback(now=1.0, queue_depth=0, downstream_latency=1.0))
    # Latency is under target and nothing waits: smaller batches, shorter waits to fill them.
    assert p.target_txs < grown
    for _ in range(50):
        p.observe(DownstreamFeedback(now=2.0, queue_depth=0, downstream_latency=1.0))
    assert p.target_txs == 10


def test_adaptive_holds_size_between_the_watermarks() -> None:
    p = adaptive()
    p.observe(DownstreamFeedback(now=0.0, queue_depth=1, downstream_latency=10.0))
    assert p.target_txs == 10


def test_any_of_forwards_feedback() -> None:
    inner = adaptive()
    AnyOf((MaxTxsPolicy(1000), inner)).observe(DownstreamFeedback(now=0.0, queue_depth=9))
    assert inner.target_txs == 20


@pytest.mark.parametrize(
    "make",
    [
        lambda: MaxTxsPolicy(0),
        lambda: MaxBytesPolicy(0),
        lambda: TimeoutPolicy(0.0),
        lambda: TimeoutPolicy(math.nan),
        lambda: TimeoutPolicy(math.inf),
        lambda: AnyOf(()),
        lambda: AdaptivePolicy(min_txs=0, max_txs=10, max_wait_s=1.0, target_latency_s=1.0),
        lambda: AdaptivePolicy(min_txs=20, max_txs=10, max_wait_s=1.0, target_latency_s=1.0),
        lambda: AdaptivePolicy(min_txs=1, max_txs=10, max_wait_s=0.0, target_latency_s=1.0),
        lambda: AdaptivePolicy(min_txs=1, max_txs=10, max_wait_s=1.0, target_latency_s=0.0),
        lambda: AdaptivePolicy(min_txs=1, max_txs=10, max_wait_s=1.0, target_latency_s=1.0, smoothing=0.0),
    ],
)
def test_invalid_settings_are_rejected(make: object) -> None:
    assert callable(make)
    with pytest.raises(InvalidInput) as e:
        make()
    assert e.value.code == "INVALID_POLICY"
