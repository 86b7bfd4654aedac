"""`zkpipe up`: run a sequencer node with its JSON-RPC server and the embedded L1."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from zkpipe.cli import main
from zkpipe.errors import ZkpipeError


@main.command("up")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML configuration file (sections: rpc, mempool, batch, l1, store, proving).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the node keeps its database, operator key and L1 block log.  [default: zkpipe-data]",
)
@click.option("--host", "rpc_host", help="RPC listen address.  [default: 127.0.0.1]")
@click.option("--port", "rpc_port", type=int, help="RPC port (0 picks a free one).  [default: 8545]")
@click.option("--block-time", type=float, help="L1 block time in seconds.  [default: 2.0]")
@click.option(
    "--l1-rpc",
    "l1_rpc",
    metavar="URL",
    help="Run on this Ethereum JSON-RPC node instead of the embedded L1 (keys: l1.keys / ZKPIPE_L1__KEYS).",
)
@click.option(
    "--confirmations", type=int, help="With --l1-rpc: blocks on top before the node acts.  [default: 1]"
)
@click.option("--rollup-address", help="With --l1-rpc: attach to this rollup contract instead of deploying.")
@click.option(
    "--batch-policy",
    type=click.Choice(["default", "adaptive"]),
    help="default: close on max txs, max bytes or timeout; adaptive: size from downstream load.",
)
@click.option("--batch-max-txs", type=int, help="Close a batch at this many transactions.  [default: 4096]")
@click.option(
    "--batch-timeout", type=float, help="Close a non-empty batch after this many seconds.  [default: 0.5]"
)
@click.option(
    "--synchronous",
    type=click.Choice(["FULL", "NORMAL"]),
    help="SQLite durability: FULL survives power loss, NORMAL a process crash.  [default: FULL]",
)
@click.option(
    "--prove/--no-prove", default=None, help="Run the provers and consolidate on L1.  [default: off]"
)
@click.option(
    "--backend", type=click.Choice(["local", "ray"]), help="Prover backend (with --prove).  [default: local]"
)
@click.option("--ray-address", help="Address of an existing Ray cluster (--backend ray; none: start one).")
@click.option("--provers", type=int, help="Prover workers (0: one per core).  [default: 0]")
@click.option("--threads-per-prover", type=int, help="Threads per proof.  [default: 1]")
@click.option(
    "--segment-size",
    type=int,
    help="Transactions per segment proof; 0 chooses from the memory budget.  [default: 8]",
)
@click.option(
    "--aggregation-n", type=int, help="Batches per aggregate proof (one L1 verification).  [default: 4]"
)
@click.option(
    "--dashboard/--no-dashboard",
    default=None,
    help="Serve the live dashboard at / of the RPC port (docs/dashboard.md).  [default: on]",
)
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), help="[default: INFO]")
def up(
    config_path: Path | None,
    data_dir: Path | None,
    rpc_host: str | None,
    rpc_port: int | None,
    block_time: float | None,
    l1_rpc: str | None,
    confirmations: int | None,
    rollup_address: str | None,
    batch_policy: str | None,
    batch_max_txs: int | None,
    batch_timeout: float | None,
    synchronous: str | None,
    prove: bool | None,
    backend: str | None,
    ray_address: str | None,
    provers: int | None,
    threads_per_prover: int | None,
    segment_size: int | None,
    aggregation_n: int | None,
    dashboard: bool | None,
    log_level: str | None,
) -> None:
    """Start the node until SIGINT/SIGTERM (with --prove, also its provers: see docs/pipeline.md).

    Settings come from defaults, then --config, then ZKPIPE_* variables (ZKPIPE_RPC__PORT=9000,
    ZKPIPE_L1__BLOCK_TIME=12, ZKPIPE_DATA_DIR=…; "__" separates sections), then these flags.
    On first start the node creates its operator (fee) key and deploys the rollup contract on the
    embedded L1 (or the --l1-rpc node); later starts recover the trusted state from the store.
    """
    from zkpipe.node.config import load_config
    from zkpipe.node.run import run_node

    try:
        config = load_config(
            config_path,
            overrides={
                "data_dir": data_dir,
                "rpc.host": rpc_host,
                "rpc.port": rpc_port,
                "l1.block_time": block_time,
                "l1.kind": "rpc" if l1_rpc else None,
                "l1.rpc_url": l1_rpc,
                "l1.confirmations": confirmations,
                "l1.rollup_address": rollup_address,
                "batch.policy": batch_policy,
                "batch.max_txs": batch_max_txs,
                "batch.timeout_s": batch_timeout,
                "store.synchronous": synchronous,
                "proving.enabled": prove,
                "proving.backend": backend,
                "proving.ray_address": ray_address,
                "proving.workers": provers,
                "proving.threads_per_prover": threads_per_prover,
                "proving.segment_size": segment_size,
                "proving.aggregation_n": aggregation_n,
                "rpc.dashboard": dashboard,
                "log_level": log_level,
            },
        )
    except ZkpipeError as err:
        raise click.ClickException(f"{err.code}: {err.message}") from None
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
    )

    def ready(_node: object, port: int) -> None:
        url = f"http://{config.rpc.host}:{port}"
        shown = f" dashboard={url}/" if config.rpc.dashboard else ""
        click.echo(f"zkpipe node ready: rpc={url}{shown} data_dir={config.data_dir}", err=True)

    try:
        asyncio.run(run_node(config, on_ready=ready))
    except ZkpipeError as err:
        raise click.ClickException(f"{err.code}: {err.message}") from None
