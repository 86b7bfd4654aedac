"""The node's pipeline with its provers as Ray actors on a local Ray cluster: consolidated on L1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.node.conftest import proving_node_config
from tests.node.helpers import fund
from zkpipe.client import ZkClient
from zkpipe.node.run import BackgroundNode

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_pipeline_consolidates_through_ray_actors(tmp_path: Path, private_compile_cache: None) -> None:
    config = proving_node_config(tmp_path / "node", **{"proving.backend": "ray"})
    background = BackgroundNode(config)
    background.start()
    client = ZkClient(background.url)
    try:
        node = fund(background, client, 3)
        sent = [client.send_transaction(node.transfer(1 + i % 2, 3, amount=2)).hash for i in range(6)]
        deadline = time.time() + 240
        while not all((r := client.get_transaction_receipt(h)) and r.status == "consolidated" for h in sent):
            assert time.time() < deadline, "not consolidated through Ray in time"
            time.sleep(0.5)
        running = background.node
        assert running is not None and running.proving is not None
        assert type(running.proving.backend).__name__ == "RayBackend"
        last = running.store.batch_by_number(running.rollup.last_verified_batch())
        assert last is not None and last.state_root == running.rollup.consolidated_state_root()
        assert running.proving.record.verify_gas  # at least one aggregate verified on L1
    finally:
        client.close()
        background.stop()
