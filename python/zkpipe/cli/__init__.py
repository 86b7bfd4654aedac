"""The `zkpipe` command: one click group, one module per verb."""

from __future__ import annotations

import click

from zkpipe import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="zkpipe")
def main() -> None:
    """zkpipe — an order-then-prove zk-rollup pipeline.

    Transactions are ordered and executed at once (trusted), posted to L1
    (virtual) and proven in parallel, then aggregated into one proof that L1
    verifies (consolidated).
    """


# Verbs register themselves on `main` when imported; keep one import per verb module.
from zkpipe.cli import account as _account  # noqa: E402
from zkpipe.cli import bench as _bench  # noqa: E402
from zkpipe.cli import bench_execution as _bench_execution  # noqa: E402
from zkpipe.cli import bench_pipeline as _bench_pipeline  # noqa: E402
from zkpipe.cli import bench_sequencer as _bench_sequencer  # noqa: E402
from zkpipe.cli import demo as _demo  # noqa: E402
from zkpipe.cli import keys as _keys  # noqa: E402
from zkpipe.cli import plan as _plan  # noqa: E402
from zkpipe.cli import provers as _provers  # noqa: E402
from zkpipe.cli import send as _send  # noqa: E402
from zkpipe.cli import tx as _tx  # noqa: E402
from zkpipe.cli import up as _up  # noqa: E402
from zkpipe.cli import verify as _verify  # noqa: E402
from zkpipe.cli import withdraw as _withdraw  # noqa: E402

__all__ = ["main"]
_VERBS = (
    _account,
    _bench,
    _bench_execution,
    _bench_pipeline,
    _bench_sequencer,
    _demo,
    _keys,
    _plan,
    _provers,
    _send,
    _tx,
    _up,
    _verify,
    _withdraw,
)
