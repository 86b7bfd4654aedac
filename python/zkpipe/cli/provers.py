"""`zkpipe provers`: the quarantined prover workers of a node, and lifting a quarantine."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from zkpipe.cli import main
from zkpipe.node.proving import JOBS_DB
from zkpipe.proving.jobs import JobStore

DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("zkpipe-data"),
    show_default=True,
    help="The node's data directory (its job store is jobs.db there).",
)


def _store(data_dir: Path) -> JobStore:
    path = data_dir / JOBS_DB
    if not path.exists():
        raise click.ClickException(f"no job store at {path} (has this node proven anything?)")
    return JobStore(path)


@main.group("provers")
def provers() -> None:
    """Prover workers' quarantine (kept in the job store across restarts; works on a running node)."""


@provers.command("quarantined")
@DATA_DIR
def quarantined(data_dir: Path) -> None:
    """Print the quarantined workers as JSON: worker id, host, reason, since (Unix time)."""
    store = _store(data_dir)
    try:
        click.echo(json.dumps([asdict(r) for r in store.quarantined().values()]))
    finally:
        store.close()


@provers.command("lift")
@click.argument("worker_id")
@DATA_DIR
def lift(worker_id: str, data_dir: Path) -> None:
    """Give WORKER_ID jobs again (a running node's scheduler sees it on its next round)."""
    store = _store(data_dir)
    try:
        if not store.lift_quarantine(worker_id):
            raise click.ClickException(f"worker {worker_id!r} is not quarantined")
    finally:
        store.close()
    click.echo(f"lifted the quarantine of {worker_id}")
