"""Fixtures for node tests: a private compile cache and one running node per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.helpers import FundedNode, fund
from zkpipe.client import ZkClient
from zkpipe.l1.anvil import Anvil, dev_key
from zkpipe.node.config import load_config
from zkpipe.node.run import BackgroundNode


@pytest.fixture(scope="session", autouse=True)
def private_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep compiled contracts of the tests out of the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZKPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("zkpipe-cache")))
        yield


def node_config(data_dir: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """A test configuration: free port, fast blocks, short batch timeout."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "rpc.port": 0,
        "l1.block_time": 0.3,
        "l1.send_margin_s": 0.1,
        "batch.timeout_s": 0.1,
        "store.synchronous": "NORMAL",
        "tree_depth": 16,
    }
    values.update(overrides)
    return load_config(None, env={}, overrides=values)


def proving_node_config(data_dir: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """A test configuration with the provers on: depth-32 tree, two workers, windows of 2 batches."""
    values: dict[str, object] = {
        "tree_depth": 32,
        "proving.enabled": True,
        "proving.workers": 2,
        "proving.aggregation_n": 2,
        "proving.aggregation_timeout_s": 2.0,
        "l1.block_time": 0.5,
        "batch.timeout_s": 0.3,
    }
    values.update(overrides)
    return node_config(data_dir, **values)


@pytest.fixture(scope="module")
def funded(tmp_path_factory: pytest.TempPathFactory, private_compile_cache: None) -> Iterator[FundedNode]:
    """A running node with four funded accounts (1..4)."""
    background = BackgroundNode(node_config(tmp_path_factory.mktemp("node"), **{"rpc.max_body_bytes": 65536}))
    background.start()
    client = ZkClient(background.url)
    try:
        yield fund(background, client, 4)
    finally:
        client.close()
        background.stop()


L1_KINDS = ("embedded", "anvil")
"""The L1s the end-to-end and kill -9 tests run on."""


def anvil_overrides(anvil: Anvil, keys: int = 6) -> dict[str, object]:
    """Node settings for a JSON-RPC L1 on `anvil`: its first `keys` dev keys (roles use the first four)."""
    return {
        "l1.kind": "rpc",
        "l1.rpc_url": anvil.url,
        "l1.keys": ",".join("0x" + dev_key(i).hex() for i in range(keys)),
        "l1.confirmations": 1,
    }
