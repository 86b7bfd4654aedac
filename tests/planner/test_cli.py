"""`zkpipe plan`: one JSON object per run, clear errors, every mode reachable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.planner.helpers import EXACT_BATCH, exact_config
from zkpipe.cli import main
from zkpipe.planner.measurements import default_assumption
from zkpipe.planner.sim import run_simulation
from zkpipe.sequencer.policy import MaxTxsPolicy


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["plan", *args])
    return result.exit_code, result.stdout, result.stderr


def one_json(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def test_help_explains_options_with_units() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for text in (
        "--target-tps",
        "transactions per second",
        "--max-delay",
        "--node-memory",
        "GiB",
        "--calibrate",
    ):
        assert text in out


def test_plan_prints_one_json_object() -> None:
    code, out, _ = invoke("--target-tps", "50", "--max-delay", "900", "--node-memory", "4GiB", "--json")
    assert code == 0
    data = one_json(out)
    assert data["feasible"] is True
    plan = data["plan"]
    for key in (
        "segment_log2",
        "provers",
        "redundancy",
        "aggregation_n",
        "batch_size",
        "policy",
        "bottleneck",
    ):
        assert key in plan
    kpis = plan["kpis"]
    for key in ("delay_trusted", "delay_virtual", "delay_consolidated", "throughput", "l1_gas_per_tx"):
        assert key in kpis
    assert kpis["prover_cpu_seconds_per_tx"] > 0
    assert plan["measurements_are_assumption"] is True


def test_plan_can_simulate_its_recommendation() -> None:
    args = ["--target-tps", "5", "--max-delay", "1800", "--simulate", "--sim-hours", "1", "--json"]
    code, out, _ = invoke(*args)
    assert code == 0
    sim = one_json(out)["simulation"]["kpis"]
    assert sim["source"] == "simulation"
    assert sim["throughput"] == pytest.approx(5.0, rel=0.1)


def test_plan_reads_human_output_without_json() -> None:
    code, out, _ = invoke("--target-tps", "5", "--max-delay", "1800")
    assert code == 0
    assert "bottleneck:" in out
    assert "assumption" in out


def test_infeasible_targets_say_why() -> None:
    code, out, _ = invoke("--target-tps", "10", "--max-delay", "5", "--json")
    assert code == 1
    data = one_json(out)
    assert data["feasible"] is False
    assert data["error"]["code"] == "PLAN_INFEASIBLE"
    assert "best achievable" in data["error"]["message"]
    code, _, err = invoke("--target-tps", "10", "--max-delay", "1800", "--node-memory", "1MiB")
    assert code == 1
    assert "no segment size fits" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-tps", "10", "--max-delay", "60", "--node-memory", "lots"], "not a memory size"),
        (["--target-tps", "10", "--max-delay", "60", "--honest-fraction", "0"], "honest-fraction"),
        (["--target-tps", "10"], "--max-delay"),
        (["--target-tps", "-1", "--max-delay", "60"], "target_tps"),
        (["--plots", "x", "--calibrate", "y"], "one of"),
        (["--validate", "--calibrate", "y"], "one of"),
        (["--validate", "--plots", "x"], "one of"),
        (["--quick"], "go with --validate"),
        (["--markdown"], "--markdown goes with"),
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str], message: str) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert message in err


def test_bad_measurements_file_is_a_bad_parameter(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"schema": "nope"}))
    code, _, err = invoke("--target-tps", "10", "--max-delay", "900", "--measurements", str(path))
    assert code == 2
    assert "measurements.schema" in err


def test_measurements_file_is_used(tmp_path: Path) -> None:
    data = default_assumption().to_dict()
    data.update(source="measured: test", is_assumption=False)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    code, out, _ = invoke("--target-tps", "10", "--max-delay", "900", "--measurements", str(path), "--json")
    assert code == 0
    plan = one_json(out)["plan"]
    assert plan["measurements_source"] == "measured: test"
    assert plan["measurements_are_assumption"] is False


def test_program_mode_reproduces_the_segmentation_example() -> None:
    code, out, _ = invoke("--segments", "168", "--honest-fraction", "0.2", "--json")
    assert code == 0
    program = one_json(out)["program"]
    assert (program["segments"], program["nodes_for_one_round"], program["rounds"]) == (168, 840, 1)
    code, out, _ = invoke("--program-cycles", "90e6", "--segment-log2", "19", "--json")
    assert one_json(out)["program"]["segments_from_cycles"] == 172


def test_calibrate_mode_reports_errors_per_kpi(tmp_path: Path) -> None:
    config = exact_config(hours=1)
    run = run_simulation(config, MaxTxsPolicy(EXACT_BATCH)).to_run_json(
        config, batch_size=EXACT_BATCH, batch_timeout_s=None
    )
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    code, out, _ = invoke("--calibrate", str(path), "--json")
    assert code == 0
    calibration = one_json(out)["calibration"]
    assert calibration["within_tolerance"] is True
    assert set(calibration["errors"]) == {"throughput", "delay_virtual.p50", "delay_consolidated.p50"}
    path.write_text("{}")
    code, _, err = invoke("--calibrate", str(path), "--json")
    assert code == 2
    assert "schema" in err


@pytest.mark.slow
def test_plots_mode_writes_pngs(tmp_path: Path) -> None:
    code, out, _ = invoke("--plots", str(tmp_path / "img"), "--json")
    assert code == 0
    paths = [Path(p) for p in one_json(out)["plots"]]
    assert len(paths) == 2
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
