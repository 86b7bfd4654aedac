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
def test_demo_proves_and_verify_checks_the_proof_file(tmp_path: Path) -> None:
    code, out, _ = run("demo", "--json", "--accounts", "3", "--transfers", "5", "--out", str(tmp_path))
    assert code == 0
    report = json.loads(out)
    assert report["proof_matches_spec"] is True
    assert report["txs"] == 3 + 5
    proof_file = tmp_path / "aggregate.proof"

    code, out, _ = run("verify", "--json", str(proof_file))
    assert code == 0
    assert json.loads(out)["statement"]["root_after"] == [
        int(report["final_root"][2 + 16 * i : 18 + 16 * i], 16) for i in range(4)
    ]

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
