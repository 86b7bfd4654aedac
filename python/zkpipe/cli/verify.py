"""`zkpipe verify FILE`: check a proof file and print what it proves."""

from __future__ import annotations

import json
import sys

import click

from zkpipe.cli import main


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the statement as one JSON object.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="Circuit cache (default $ZKPIPE_CACHE_DIR/circuits or ~/.cache/zkpipe/circuits).",
)
def verify(file: str, as_json: bool, cache_dir: str | None) -> None:
    """Verify a segment or aggregate proof file and print its public inputs.

    Exits 0 if the proof verifies against the circuits for its segment size and matches its
    recorded statement; 1 if it does not (the reason goes to stderr); 2 if the file is unreadable
    or malformed.
    """
    from zkpipe.errors import InvalidProof, ZkpipeError
    from zkpipe.proving import Proof, Prover

    try:
        proof = Proof.load(file)
    except ZkpipeError as err:
        click.echo(f"error: {err.code}: {err}", err=True)
        sys.exit(2)
    try:
        statement = Prover(proof.segment_size, cache_dir=cache_dir).verify(proof)
    except (InvalidProof, ZkpipeError) as err:
        click.echo(f"invalid proof: {err.code}: {err}", err=True)
        sys.exit(1)
    report = {
        "valid": True,
        "kind": str(proof.kind),
        "segment_size": proof.segment_size,
        "segments": proof.provenance.segments,
        "statement": statement.to_json(),
    }
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(f"valid {proof.kind} proof (k = {proof.segment_size}, {proof.provenance.segments} segment(s))")
    for name, value in statement.to_json().items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        click.echo(f"  {name:<16} {shown}")
