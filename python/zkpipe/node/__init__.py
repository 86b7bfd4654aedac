"""The sequencer node: configuration, store, recovery, supervision and the wiring of the pipeline."""

from zkpipe.node.config import NodeConfig, load_config
from zkpipe.node.node import Node, NodeParts, new_local_node, new_node, new_rpc_node

__all__ = ["Node", "NodeConfig", "NodeParts", "load_config", "new_local_node", "new_node", "new_rpc_node"]
