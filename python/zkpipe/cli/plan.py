"""`zkpipe plan`: capacity planning, calibration against a recorded run, and the model's plots."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from zkpipe.cli import main
from zkpipe.errors import MissingExtra
from zkpipe.extras import require
from zkpipe.planner.errors import Infeasible, PlanInputError

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


class MemorySize(click.ParamType[int]):
    """A byte count with an optional unit: 4GiB, 512MB, 17179869184."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Parses the size into bytes."""
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
        unit = match.group(2).upper() if match else ""
        if match is None or unit not in _UNITS:
            self.fail(f"{value!r} is not a memory size (e.g. 16GiB, 4GB, 512MiB or bytes)", param, ctx)
        size = int(float(match.group(1)) * _UNITS[unit])
        if size <= 0:
            self.fail(f"{value!r} must be more than 0 bytes", param, ctx)
        return size


@main.command()
@click.option("--target-tps", type=float, help="Consolidated throughput to sustain, transactions per second.")
@click.option(
    "--max-delay", type=float, help="Bound on the p99 consolidated delay (submission → verified on L1), s."
)
@click.option(
    "--node-memory",
    type=MemorySize(),
    default="16GiB",
    show_default=True,
    help="Memory of one prover node (bytes; units B, KB, MB, GB, KiB, MiB, GiB).",
)
@click.option(
    "--honest-fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Share of prover nodes that return valid proofs (0.2 = one in five, 1:4 redundancy).",
)
@click.option(
    "--block-time",
    type=click.FloatRange(0, min_open=True),
    default=12.0,
    show_default=True,
    help="L1 block time, s.",
)
@click.option(
    "--max-provers",
    type=click.IntRange(1),
    default=100_000,
    show_default=True,
    help="Most prover nodes to consider.",
)
@click.option(
    "--measurements",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Measured costs (JSON, schema zkpipe.measurements/1); default: the labelled assumption table.",
)
@click.option(
    "--simulate", is_flag=True, help="Also simulate the recommended plan (Poisson traffic at the target)."
)
@click.option(
    "--sim-hours",
    type=click.FloatRange(0, min_open=True),
    default=1.0,
    show_default=True,
    help="Simulated hours.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of simulations.")
@click.option(
    "--calibrate",
    "calibrate_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Diagnostic: replay a recorded run's own job times (JSON, schema zkpipe.run/1), error per KPI.",
)
@click.option(
    "--validate",
    is_flag=True,
    help="Run a grid of live pipelines, each predicted beforehand from the cost table; error per KPI.",
)
@click.option("--quick", is_flag=True, help="With --validate: the two-point grid (same as --grid quick).")
@click.option(
    "--grid",
    type=click.Choice(["quick", "full"]),
    help="With --validate: the grid (full: 24 points, ~40 min idle; default full, or quick with --quick).",
)
@click.option(
    "--save",
    "save_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --validate: the file the live runs' raw measurements go to (default validation-GRID.json).",
)
@click.option("--resume", is_flag=True, help="With --validate: skip the points already in the --save file.")
@click.option(
    "--rescore",
    "rescore_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Re-predict the live runs saved by --validate from the current model and table, and score them.",
)
@click.option(
    "--markdown", is_flag=True, help="With --validate or --rescore: print the docs' error tables (Markdown)."
)
@click.option(
    "--at-scale",
    is_flag=True,
    help="Simulate 10, 100 and 1,000 provers (own hosts) from the cost table, steady and bursty.",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the model's plots (PNG) into this directory.",
)
@click.option("--program-cycles", type=float, help="Plan one segmented program of this many cycles.")
@click.option(
    "--segments", type=click.IntRange(1), help="Measured segment count of that program (overrides cycles)."
)
@click.option(
    "--segment-log2",
    type=click.IntRange(0, 40),
    default=19,
    show_default=True,
    help="Segment size, log2 cycles.",
)
@click.option("--nodes", type=click.IntRange(1), help="Prover nodes available for that program.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_context
def plan(
    ctx: click.Context,
    target_tps: float | None,
    max_delay: float | None,
    node_memory: int,
    honest_fraction: float,
    block_time: float,
    max_provers: int,
    measurements: Path | None,
    simulate: bool,
    sim_hours: float,
    seed: int,
    calibrate_file: Path | None,
    validate: bool,
    quick: bool,
    grid: str | None,
    save_file: Path | None,
    resume: bool,
    rescore_file: Path | None,
    markdown: bool,
    at_scale: bool,
    plots_dir: Path | None,
    program_cycles: float | None,
    segments: int | None,
    segment_log2: int,
    nodes: int | None,
    as_json: bool,
) -> None:
    """Recommend a deployment for a throughput and delay target, or check the model.

    \b
    Modes (one at a time):
      --target-tps T --max-delay D   plan a deployment (segment size, provers with
                                     redundancy, aggregation N, batch size and policy)
      --program-cycles C / --segments S   plan proving one segmented program
      --validate [--grid quick|full] [--save F] [--resume]
                                     predict live runs from the cost table, then run
                                     them: error per KPI, per-stage times of misses;
                                     each run's measurements are saved to F
      --rescore F                    re-predict the runs saved in F (no live run)
      --calibrate RUN.json           diagnostic: replay a run's own job times
      --at-scale                     10/100/1,000 provers simulated from the cost table
      --plots DIR                    write the model's PNG plots

    Without --measurements the numbers come from a labelled default assumption,
    not from measurements; the output says so.
    """
    from zkpipe.planner.measurements import default_assumption, load_measurements

    rescore = rescore_file is not None
    modes = [
        calibrate_file is not None or validate or at_scale or rescore,
        plots_dir is not None,
        program_cycles is not None or segments is not None,
    ]
    if sum(modes) > 1:
        raise click.UsageError(
            "use one of --validate, --calibrate, --plots, --program-cycles/--segments at a time"
        )
    if validate + (calibrate_file is not None) + at_scale + rescore > 1:
        raise click.UsageError("use one of --validate, --rescore, --calibrate, --at-scale at a time")
    if (quick or grid is not None or save_file is not None or resume) and not validate:
        raise click.UsageError("--quick, --grid, --save and --resume go with --validate")
    if quick and grid == "full":
        raise click.UsageError("--quick is --grid quick")
    if markdown and not (validate or rescore):
        raise click.UsageError("--markdown goes with --validate or --rescore")
    try:
        require("simpy", needed_for="zkpipe plan (the simulator)")
        if plots_dir is not None:
            require("matplotlib", needed_for="zkpipe plan --plots")
        m = load_measurements(measurements) if measurements is not None else default_assumption()
        if validate:
            name = "quick" if quick else grid or "full"
            save = save_file or Path(f"validation-{name}.json")
            _emit_validation(_validate(measurements, grid=name, save=save, resume=resume), as_json, markdown)
        elif rescore_file is not None:
            _emit_validation(_rescore(measurements, rescore_file), as_json, markdown)
        elif at_scale:
            from zkpipe.planner.measurements import load_default_measurements
            from zkpipe.planner.scale import compute_at_scale

            table = (
                load_measurements(measurements) if measurements is not None else load_default_measurements()
            )
            _emit({"at_scale": compute_at_scale(table, honest_fraction=honest_fraction)}, as_json)
        elif calibrate_file is not None:
            _emit(_calibrate(calibrate_file, seed, progress=not as_json), as_json)
        elif plots_dir is not None:
            from zkpipe.planner.plots import write_plots

            written = write_plots(plots_dir, m)
            _emit({"plots": [str(p) for p in written]}, as_json)
        elif modes[2]:
            _emit(_program(m, program_cycles, segments, segment_log2, honest_fraction, nodes), as_json)
        else:
            if target_tps is None or max_delay is None:
                raise click.UsageError("planning needs --target-tps and --max-delay")
            _emit(
                _deployment(
                    m, target_tps, max_delay, node_memory, honest_fraction, block_time, max_provers,
                    simulate=simulate, sim_hours=sim_hours, seed=seed, progress=not as_json,
                ),
                as_json,
            )  # fmt: skip
    except Infeasible as e:
        if as_json:
            click.echo(json.dumps({"feasible": False, "error": e.to_dict()}))
        else:
            click.echo(f"infeasible: {e.message}", err=True)
        ctx.exit(1)
    except PlanInputError as e:
        raise click.BadParameter(e.message) from e
    except MissingExtra as e:
        raise click.ClickException(f"{e.code}: {e.message}") from None


def _deployment(
    m: Any,
    target_tps: float,
    max_delay: float,
    node_memory: int,
    honest_fraction: float,
    block_time: float,
    max_provers: int,
    *,
    simulate: bool,
    sim_hours: float,
    seed: int,
    progress: bool,
) -> dict[str, Any]:
    from zkpipe.planner.plan import PlanRequest, make_plan, make_sim_config
    from zkpipe.planner.sim import run_simulation

    request = PlanRequest(
        target_tps=target_tps,
        max_delay_s=max_delay,
        node_memory_bytes=node_memory,
        honest_fraction=honest_fraction,
        block_time=block_time,
        max_provers=max_provers,
    )
    chosen = make_plan(request, m)
    out: dict[str, Any] = {"feasible": True, "plan": chosen.to_dict(), "simulation": None}
    if simulate:
        config = make_sim_config(chosen, request, m, duration_s=sim_hours * 3600, seed=seed)
        result = run_simulation(config, chosen.policy(), progress=progress and sys.stderr.isatty())
        out["simulation"] = {"kpis": result.report.to_dict(), "wall_seconds": result.wall_seconds}
    return out


def _program(
    m: Any, cycles: float | None, segments: int | None, segment_log2: int, honest: float, nodes: int | None
) -> dict[str, Any]:
    from zkpipe.planner.plan import plan_program

    seconds = m.segment_cost(segment_log2).prove_seconds
    result = plan_program(
        segment_log2=segment_log2,
        segment_prove_seconds=seconds,
        honest_fraction=honest,
        cycles=cycles,
        segments=segments,
        nodes=nodes,
    )
    return {"program": result.to_dict(), "measurements_are_assumption": m.is_assumption}


def _table(measurements: Path | None) -> Any:
    from zkpipe.planner.measurements import load_default_measurements, load_measurements

    # The measured table (zkpipe bench proving --measurements-out), never the run being predicted.
    return load_measurements(measurements) if measurements is not None else load_default_measurements()


def _validate(measurements: Path | None, *, grid: str, save: Path, resume: bool) -> dict[str, Any]:
    from zkpipe.plan_validation import grid_named, validate

    if resume and not save.exists():
        raise click.UsageError(f"--resume: {save} does not exist")
    report = validate(
        grid_named("quick" if grid == "quick" else "full"),
        _table(measurements),
        progress=lambda line: click.echo(line, err=True),
        save=save,
        resume=resume,
        grid_name=grid,
    )
    report["command"] = f"zkpipe plan --validate --grid {grid} --save {save}" + (
        " --resume" if resume else ""
    )
    return {"validation": report}


def _rescore(measurements: Path | None, path: Path) -> dict[str, Any]:
    from zkpipe.plan_validation import rescore

    report = rescore(path, _table(measurements))
    report["command"] = f"zkpipe plan --rescore {path}" + (
        f" --measurements {measurements}" if measurements else ""
    )
    return {"validation": report}


def _emit_validation(result: dict[str, Any], as_json: bool, markdown: bool) -> None:
    from zkpipe.plan_validation import markdown_table

    if markdown:
        click.echo(markdown_table(result["validation"]), nl=False)
    else:
        _emit(result, as_json)


def _calibrate(path: Path, seed: int, *, progress: bool) -> dict[str, Any]:
    from zkpipe.planner.calibrate import calibrate, load_run

    report = calibrate(load_run(path), seed=seed, progress=progress and sys.stderr.isatty())
    return {"calibration": report.to_dict()}


def _emit(result: dict[str, Any], as_json: bool) -> None:
    """One JSON object, or indented key/value lines for people."""
    if as_json:
        click.echo(json.dumps(result))
        return
    _print_tree(result, 0)


def _print_tree(data: dict[str, Any], depth: int) -> None:
    pad = "  " * depth
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{pad}{key}:")
            _print_tree(value, depth + 1)
        elif isinstance(value, float):
            click.echo(f"{pad}{key}: {value:.6g}")
        else:
            click.echo(f"{pad}{key}: {value}")
