"""zkpipe: an order-then-prove zk-rollup pipeline."""

from zkpipe._native import __version__

__all__ = ["__version__"]
