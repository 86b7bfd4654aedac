"""The analytic KPI model: the analysis' examples, each formula's edge cases, gas and segmentation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.model import (
    StageTimes,
    compute_aggregated,
    compute_aggregation_levels,
    compute_copies_for_confidence,
    compute_delay_percentiles,
    compute_expected_copies,
    compute_expected_rounds,
    compute_line,
    compute_naive_horizontal,
    compute_nodes_for_one_round,
    compute_order_then_prove,
    compute_pipelined,
    compute_proving_rounds,
    compute_redundancy,
    compute_rounds_quantile,
    compute_segment_count,
    compute_sequential,
    compute_verification_gas_per_batch,
)

T = StageTimes(close_a_batch_time=3.0, prove_a_batch_time=120.0, block_time=12.0, aggregation_time=12.0)
seconds = st.floats(0.01, 1e4)


# --- the assembly line of the order-and-prove analysis ---


def test_assembly_line_has_6_hour_lead_time_and_one_car_per_6_hours() -> None:
    line = compute_line([1.0, 3.0, 2.0], pipelined=False)
    assert line.lead_time == 6.0
    assert line.rate == 1 / 6


def test_serial_horizontal_scaling_of_the_line_gains_nothing() -> None:
    # The 3 h operator becomes three 1 h operators in series, the 2 h one two 1 h operators.
    line = compute_line([1.0, 1.0, 1.0, 1.0, 1.0, 1.0], pipelined=False)
    assert (line.lead_time, line.rate) == (6.0, 1 / 6)


def test_vertical_scaling_of_the_line_halves_the_lead_time() -> None:
    line = compute_line([1.0, 3.0 / 3, 2.0 / 2], pipelined=False)
    assert (line.lead_time, line.rate) == (3.0, 1 / 3)


def test_a_pipelined_line_is_paced_by_its_slowest_stage() -> None:
    assert compute_line([1.0, 3.0, 2.0], pipelined=True).rate == 1 / 3


def test_invalid_line_is_rejected() -> None:
    with pytest.raises(PlanInputError):
        compute_line([], pipelined=False)
    with pytest.raises(PlanInputError):
        compute_line([1.0, -1.0], pipelined=False)


# --- batch pipelines ---


def test_sequential_adds_every_stage() -> None:
    k = compute_sequential(T)
    assert k.delay == 3 + 120 + 12
    assert k.throughput_batches == 1 / 135
    assert k.bottleneck == "prove_a_batch_time"


def test_pipelined_is_paced_by_proving() -> None:
    k = compute_pipelined(T)
    assert k.delay == 3 + 120 + 12
    assert k.throughput_batches == 1 / 120
    assert k.bottleneck == "prove_a_batch_time"
    assert k.saturated  # batches close every 3 s but one prover finishes one per 120 s


def test_naive_horizontal_scaling_hits_the_l1_block_time() -> None:
    k = compute_naive_horizontal(T, provers=1000)
    assert k.throughput_batches == 1 / 12  # one verification transaction per block
    assert k.bottleneck == "block_time"
    assert k.delay == 3 + 120 + 12


def test_naive_horizontal_scales_linearly_while_provers_are_the_bottleneck() -> None:
    assert compute_naive_horizontal(T, provers=5).throughput_batches == 5 / 120


@given(c=seconds, p=seconds, b=seconds, a=st.floats(0, 1e4), n=st.integers(1, 256))
def test_aggregated_throughput_is_n_over_the_slowest_term(
    c: float, p: float, b: float, a: float, n: int
) -> None:
    k = compute_aggregated(StageTimes(c, p, b, a), n)  # provers default to n
    assert k.throughput_batches == pytest.approx(n / max(p, n * c, b, a))
    # With one prover per batch of the group nobody waits: the lead time is the sum of the stages.
    assert k.delay == pytest.approx(n * c + p + a + b)


def test_aggregated_with_n_1_and_no_aggregation_time_is_naive() -> None:
    t = StageTimes(3.0, 120.0, 12.0, 0.0)
    assert compute_aggregated(t, 1, 7) == compute_naive_horizontal(t, 7)


def test_aggregation_time_can_be_the_bottleneck() -> None:
    k = compute_aggregated(StageTimes(1.0, 10.0, 2.0, 50.0), n=8)
    assert k.bottleneck == "aggregation_time"
    assert k.throughput_batches == 8 / 50
    assert k.saturated


def test_closing_is_the_bottleneck_when_everything_keeps_up() -> None:
    k = compute_aggregated(StageTimes(10.0, 20.0, 12.0, 12.0), n=4)
    assert k.bottleneck == "close_a_batch_time"
    assert k.throughput_batches == 1 / 10  # the offered load: every batch is consolidated
    assert not k.saturated


def test_fewer_provers_than_batches_makes_batches_wait() -> None:
    # One prover: batches close at 1, 2, 3 s and are proven back to back, done at 31 s.
    k = compute_aggregated(StageTimes(1.0, 10.0, 2.0, 4.0), n=3, provers=1)
    assert k.delay == 31 + 4 + 2
    assert k.throughput_batches == 3 / 30


def test_order_then_prove_delays_virtual_by_one_batch_and_one_block() -> None:
    k = compute_order_then_prove(T, n=4)
    assert k.delay_virtual == 3 + 12
    assert k.delay == 4 * 3 + 120 + 12 + 12
    assert k.throughput_batches == compute_aggregated(T, 4).throughput_batches


def test_delay_percentiles_are_uniform_over_the_filling_window() -> None:
    t = StageTimes(10.0, 20.0, 12.0, 12.0)
    virtual, consolidated = compute_delay_percentiles(t, 4, provers=4)
    assert virtual.p50 == pytest.approx(12 + 5)
    assert virtual.p99 == pytest.approx(12 + 9.9)
    assert consolidated.p50 == pytest.approx(20 + 12 + 12 + 20)
    assert consolidated.p95 == pytest.approx(20 + 12 + 12 + 38)


def test_delay_percentiles_are_infinite_when_saturated() -> None:
    _, consolidated = compute_delay_percentiles(T, 1, provers=1)
    assert math.isinf(consolidated.p50)


@pytest.mark.parametrize(
    "make",
    [
        lambda: StageTimes(0.0, 1.0, 1.0),
        lambda: StageTimes(1.0, math.nan, 1.0),
        lambda: StageTimes(1.0, 1.0, math.inf),
        lambda: StageTimes(1.0, 1.0, 1.0, -1.0),
        lambda: compute_aggregated(T, 0),
        lambda: compute_aggregated(T, 2, provers=0),
    ],
)
def test_invalid_model_inputs_are_rejected(make: object) -> None:
    assert callable(make)
    with pytest.raises(PlanInputError):
        make()


def test_aggregation_levels() -> None:
    assert [compute_aggregation_levels(n) for n in (1, 2, 3, 4, 5, 1024)] == [0, 1, 2, 2, 3, 10]


# --- L1 cost ---


def test_naive_verification_gas_does_not_shrink_with_n() -> None:
    assert compute_verification_gas_per_batch(16, 350_000, aggregated=False) == 350_000


def test_aggregated_verification_gas_per_batch_falls_as_one_over_n() -> None:
    gas = [compute_verification_gas_per_batch(n, 350_000, aggregated=True) for n in (1, 2, 4, 8)]
    assert gas == [350_000, 175_000, 87_500, 43_750]


# --- segmentation and redundancy (the segmented-proving example) ---


def test_a_90m_cycle_program_needs_172_segments_of_2_19_cycles_from_cycles_alone() -> None:
    assert compute_segment_count(90e6, 19) == 172


def test_per_segment_overhead_adds_segments() -> None:
    assert compute_segment_count(90e6, 19, overhead_fraction=0.05) == 181


def test_168_segments_finish_in_one_round_on_168_nodes() -> None:
    assert compute_nodes_for_one_round(168, honest_fraction=1.0) == 168
    assert compute_proving_rounds(168, 168) == 1
    assert compute_proving_rounds(168, 84) == 2


def test_one_honest_node_in_five_needs_840_nodes() -> None:
    assert compute_redundancy(0.2) == 5
    assert compute_nodes_for_one_round(168, honest_fraction=0.2) == 840
    assert compute_proving_rounds(168, 840, honest_fraction=0.2) == 1


def test_average_redundancy_is_far_from_a_guarantee() -> None:
    # Five random copies miss every honest node with probability 0.8^5 ≈ 33 % per segment.
    assert compute_copies_for_confidence(0.2, 168, 0.99) == 44
    assert compute_copies_for_confidence(1.0, 168, 0.99) == 1


def test_retries_cost_copies_and_rounds() -> None:
    # Five random copies all land on dishonest provers with probability 0.8^5 = 0.328.
    assert compute_expected_copies(0.2, 5) == pytest.approx(5 / (1 - 0.8**5))
    assert compute_expected_copies(1.0, 1) == 1.0
    assert compute_expected_rounds(1.0, 1, 168) == 1.0
    assert compute_expected_rounds(0.2, 5, 1) == pytest.approx(1 / (1 - 0.8**5))
    many = compute_expected_rounds(0.2, 5, 168)
    assert compute_expected_rounds(0.2, 5, 2) < many < 7  # the slowest of 168 segments
    assert compute_rounds_quantile(1.0, 1, 168, 0.99) == 1
    assert compute_rounds_quantile(0.2, 5, 1, 0.5) == 1
    assert (
        compute_rounds_quantile(0.2, 5, 168, 0.5)
        <= math.ceil(many)
        <= compute_rounds_quantile(0.2, 5, 168, 0.99)
    )


@pytest.mark.parametrize("honest", [0.0, -0.1, 1.5, math.nan])
def test_invalid_honest_fraction_is_rejected(honest: float) -> None:
    with pytest.raises(PlanInputError):
        compute_redundancy(honest)


def test_invalid_segment_inputs_are_rejected() -> None:
    with pytest.raises(PlanInputError):
        compute_segment_count(0, 19)
    with pytest.raises(PlanInputError):
        compute_segment_count(1e6, 41)
    with pytest.raises(PlanInputError):
        compute_segment_count(1e6, 19, overhead_fraction=1.0)
