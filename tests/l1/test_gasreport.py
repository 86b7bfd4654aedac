"""The gas report: every entry point is measured, and sequencing costs about calldata plus parsing."""

from __future__ import annotations

from zkpipe.l1.gasreport import measure_gas


def test_gas_report_measures_every_entry_point_and_sequencing_is_calldata_bound() -> None:
    report = measure_gas()
    assert report["deploy"] > 0 and report["deposit"] > 21_000 and report["verify"] > 21_000
    assert all(gas > 21_000 for gas in report["claim"].values())
    one = report["sequence_one_batch"]
    per_tx = (one["1000"] - one["100"]) / 900
    # A transfer is 112 bytes, mostly non-zero (16 gas each): parsing and hashing add little on top.
    assert 112 * 10 < per_tx < 112 * 16 + 300
    assert set(report["sequence_gas_per_tx"]) == {"1", "10", "100", "1000"}
    # Sixteen small batches in one call cost less than sixteen calls.
    assert report["sequence_many_batches"]["16x10"] < 16 * one["10"]
    # The compact encodings' projections: dropping the signature saves most of the calldata.
    full, signed, bare = (
        report[key]["1000"]
        for key in (
            "sequence_gas_per_tx",
            "sequence_gas_per_tx_compact_with_signatures_projected",
            "sequence_gas_per_tx_compact_without_signatures_projected",
        )
    )
    assert bare + 80 * 10 < signed < full
