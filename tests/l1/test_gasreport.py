"""The gas report: every entry point is measured, and sequencing costs about calldata alone."""

from __future__ import annotations

from zkpipe.l1.gasreport import measure_gas


def test_gas_report_measures_every_entry_point_and_sequencing_is_calldata_bound() -> None:
    report = measure_gas()
    assert report["deploy"] > 0 and report["deposit"] > 21_000 and report["verify"] > 21_000
    assert all(gas > 21_000 for gas in report["claim"].values())
    one = report["sequence_one_batch"]
    per_byte = (one["120000"] - one["1000"]) / 119_000
    # 16 gas per non-zero calldata byte; hashing and memory may add little on top.
    assert 16 <= per_byte < 18
    # Sixteen small batches in one call cost less than sixteen calls.
    assert report["sequence_many_batches"]["16x1000"] < 16 * one["1000"]
