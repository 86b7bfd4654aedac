"""`zkpipe bench …`: benchmarks that print JSON."""

from __future__ import annotations

import json

import click

from zkpipe.cli import main


@main.group()
def bench() -> None:
    """Measure performance; every benchmark can print one JSON object (--json)."""


def emit(result: dict[str, object], as_json: bool) -> None:
    """Prints a benchmark result as one JSON object, or as aligned key/value lines."""
    if as_json:
        click.echo(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        click.echo(f"{key:<{width}}  {value}")


@bench.command("primitives")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--seconds", default=1.0, show_default=True, help="Approximate time budget per primitive.")
def primitives(as_json: bool, seconds: float) -> None:
    """Hash, Merkle-tree and signature throughput on one core (native loops)."""
    from zkpipe.bench.primitives import run_primitives

    emit(run_primitives(seconds=seconds), as_json)


@bench.command("datahash")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quick", is_flag=True, help="Data circuits of 1 and 4 blocks only.")
def datahash(as_json: bool, quick: bool) -> None:
    """In-circuit SHA-256 of public data: rows per byte (plain gates vs the custom gate) and data proofs."""
    from zkpipe.bench.datahash import run_datahash

    emit(run_datahash(quick), as_json)


@bench.command("wrap")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--k", "k", default=8, show_default=True, help="Segment size of the proving system.")
def wrap(as_json: bool, k: int) -> None:
    """The EVM wrap of one aggregate: outer layer, gnark compile/setup (first run) and prove, L1 verify gas.

    The one-time compile and Groth16 setup (tens of minutes on 2 cores) are cached under
    $ZKPIPE_CACHE_DIR/wrap/; later runs load the keys. Progress goes to stderr.
    """
    from zkpipe.bench.wrap import run_wrap

    emit(run_wrap(k), as_json)


@bench.command("signatures")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quick", is_flag=True, help="Circuits of 1 and 8 signatures only.")
def signatures(as_json: bool, quick: bool) -> None:
    """ECgFp5 signatures: native verifications/s (one by one vs batch, 1 and 2 threads); in circuit,
    rows per signature (plain vs custom gates) and proofs, one thread."""
    from zkpipe.bench.signatures import run_signatures

    emit(run_signatures(quick), as_json)


@bench.command("proving")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quick", is_flag=True, help="Segment sizes 8 and 16 only, and up to 4 batches aggregated.")
@click.option(
    "--sizes", help="Comma-separated segment sizes to measure (default: all, or 8,16 with --quick)."
)
@click.option(
    "--markdown",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the results table (Markdown) to this file.",
)
@click.option(
    "--measurements-out",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the planner's measurement table (zkpipe.measurements/1) for `zkpipe plan`.",
)
def proving(
    as_json: bool, quick: bool, sizes: str | None, markdown: str | None, measurements_out: str | None
) -> None:
    """Segment proving by segment size (time, peak memory, size), aggregation and verification.

    Each segment size is proven with one thread and with all threads, each in a fresh process so
    its peak memory is its own. Aggregation folds 2, 4, 8 and 16 one-segment batches. A tamper round
    checks that flipped bytes, forged public inputs and misused proofs are rejected. Circuits are
    cached under $ZKPIPE_CACHE_DIR (default ~/.cache/zkpipe), so only the first run builds them.
    """
    from pathlib import Path

    from rich.console import Console

    from zkpipe.bench.proving import run_proving, to_markdown, to_measurements

    console = Console(stderr=True)
    with console.status("proving") as status:
        chosen = [int(k) for k in sizes.split(",") if k.strip()] if sizes else None
        result = run_proving(quick, progress=lambda step: status.update(f"proving: {step}"), sizes=chosen)
    if markdown:
        Path(markdown).write_text(to_markdown(result) + "\n")
    if measurements_out:
        Path(measurements_out).write_text(json.dumps(to_measurements(result).to_dict(), indent=1) + "\n")
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(to_markdown(result))


@bench.command("l1")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def l1(as_json: bool) -> None:
    """L1 gas of every rollup entry point; `sequence_gas_per_tx` for 1, 10, 100 and 1000 transfers."""
    from zkpipe.l1.gasreport import measure_gas

    emit(measure_gas(), as_json)


@bench.command("startup")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--blocks", default="0,1000,5000", show_default=True, help="L1 blocks added before each restart."
)
def startup(as_json: bool, blocks: str) -> None:
    """Node start-up time by L1 chain length, on the embedded L1 and on anvil (JSON-RPC)."""
    from zkpipe.bench.startup import run_startup

    result = run_startup([int(b) for b in blocks.split(",") if b.strip()])
    if as_json:
        click.echo(json.dumps(result))
        return
    for row in result["runs"]:
        click.echo(
            f"{row['l1']:<9} l1_blocks={row['l1_blocks']:<7} l2_batches={row['l2_batches']:<4} "
            f"startup_s={row['startup_s']}"
        )
