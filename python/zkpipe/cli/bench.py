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
