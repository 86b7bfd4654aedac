"""The `zkpipe` command: help, the demo, verify, and bench primitives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkpipe.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_the_verbs() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for verb in ("demo", "bench", "plan", "verify"):
        assert verb in out


@pytest.mark.slow
def test_demo_consolidates_everything_and_verify_checks_the_proof_file(tmp_path: Path) -> None:
    args = ("--accounts", "4", "--txs", "12", "--block-time", "0.5", "--aggregation-n", "2")
    code, out, _ = run("demo", "--json", *args, "--out", str(tmp_path))
    assert code == 0
    report = json.loads(out)
    assert report["lost"] == 0 and report["proving_failed"] is None
    assert report["user_consolidated"] == report["user_txs"] == 12
    assert report["consolidated"] == report["txs"] == 12 + report["deposits"]  # one definition
    assert report["delay_s"]["consolidated"]["p50"] > report["delay_s"]["virtual"]["p50"] > 0
    assert report["l1_gas"]["verify_per_aggregate"] > 0
    assert (tmp_path / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    # The demo's JSON is a zkpipe.run/1 record the planner can re-predict.
    from zkpipe.planner.calibrate import RunRecord

    assert RunRecord.from_dict(report).setup.aggregation_n == 2

    proof_file = tmp_path / "aggregate.proof"
    code, out, _ = run("verify", "--json", str(proof_file))
    assert code == 0
    assert json.loads(out)["valid"] is True  # an aggregate, or the single segment of a one-segment window

    document = json.loads(proof_file.read_text())
    document["statement"]["fee_total"] += 1  # a statement the proof does not prove
    tampered = tmp_path / "tampered.proof"
    tampered.write_text(json.dumps(document))
    code, _, err = run("verify", str(tampered))
    assert code == 1
    assert "INVALID_PROOF" in err

    (tmp_path / "garbage.proof").write_text("not a proof")
    code, _, err = run("verify", str(tmp_path / "garbage.proof"))
    assert code == 2
    assert "MALFORMED_ENCODING" in err


def test_bench_primitives_prints_the_three_figures() -> None:
    code, out, _ = run("bench", "primitives", "--json", "--seconds", "0.05")
    assert code == 0
    figures = json.loads(out)
    for name in ("hash_perm_per_s", "smt_updates_per_s", "sig_verify_per_s"):
        assert figures[name] > 0


def test_bench_datahash_reports_rows_per_byte_and_per_compact_transfer() -> None:
    code, out, _ = run("bench", "datahash", "--json", "--quick")
    assert code == 0
    figures = json.loads(out)
    data_hash = figures["data_hash"]
    assert abs(data_hash["rows_per_compact_transfer"] - data_hash["rows_per_byte"] * 16) < 0.1
    assert figures["custom_gate"]["sha256_rows_per_block"] < figures["plain_gates"]["sha256_rows_per_block"]
    assert [c["blocks"] for c in data_hash["circuits"]] == [2, 4]
