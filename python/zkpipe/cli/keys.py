"""`zkpipe keys`: create and show L2 signing keys."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from zkpipe.cli import main


def load_secret(path: Path) -> bytes:
    """The secret key stored in a key file written by `zkpipe keys new`."""
    try:
        data = json.loads(path.read_text())
        return bytes.fromhex(data["secret_key"][2:])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise click.ClickException(f"cannot read key file {path}: {err}") from None


@main.group()
def keys() -> None:
    """Create and show L2 signing keys (ECgFp5 Schnorr)."""


@keys.command("new")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Key file to write (JSON, mode 0600). Refuses to overwrite.",
)
def keys_new(out: Path) -> None:
    """Generate a key pair and print its public key."""
    from zkpipe.native import keygen

    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    secret, public = keygen()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"secret_key": "0x" + secret.hex(), "public_key": "0x" + public.hex()}, f)
    click.echo(json.dumps({"public_key": "0x" + public.hex(), "file": str(out)}))


@keys.command("show")
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def keys_show(key_file: Path) -> None:
    """Print the public key of a key file."""
    from zkpipe.native import public_key

    click.echo(json.dumps({"public_key": "0x" + public_key(load_secret(key_file)).hex()}))
