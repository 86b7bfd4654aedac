"""The sequencer node: configuration, store, recovery, L1 sender/syncer and the wiring of them all."""

from zkpipe.node.config import NodeConfig, load_config
from zkpipe.node.node import Node, new_local_node

__all__ = ["Node", "NodeConfig", "load_config", "new_local_node"]
