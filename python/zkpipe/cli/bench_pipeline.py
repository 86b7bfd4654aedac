"""`zkpipe bench pipeline`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from zkpipe.cli.bench import bench


@bench.command("pipeline")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quick", is_flag=True, help="N = 1 and 4 only, 4 batches per run.")
@click.option("--markdown", type=click.Path(dir_okay=False, writable=True), help="Also write the table here.")
def pipeline(as_json: bool, quick: bool, markdown: str | None) -> None:
    """Whole-pipeline runs (node, embedded L1, local provers) with 1 and 2 provers and N = 1, 2, 4, 8.

    Each run sends about 8 batches of 8 transactions and reports consolidated throughput, delays
    per state, stage times, L1 verification gas per aggregate, and the stage that limits it.
    """
    from rich.console import Console

    from zkpipe.bench.pipeline import run_pipeline_bench, to_markdown

    console = Console(stderr=True)
    with console.status("pipeline") as status:
        result = run_pipeline_bench(
            sizes=(1, 4) if quick else (1, 2, 4, 8),
            batches=4 if quick else 8,
            progress=lambda step: status.update(f"pipeline: {step}"),
        )
    if markdown:
        Path(markdown).write_text(to_markdown(result) + "\n")
    click.echo(json.dumps(result) if as_json else to_markdown(result))
