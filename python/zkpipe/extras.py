"""Optional dependencies (pip extras): which extra brings a module, and a clear error when it is missing."""

from __future__ import annotations

import importlib.util

from zkpipe.errors import MissingExtra

__all__ = ["EXTRA_OF", "has_module", "require"]

EXTRA_OF = {
    "ray": "ray",
    "simpy": "planner",
    "matplotlib": "planner",
    "web3": "jsonrpc",
    "eth_account": "jsonrpc",
}
"""The pip extra (`pip install 'zkpipe[EXTRA]'`) that installs each optional module; `all` has every one."""


def has_module(name: str) -> bool:
    """True if `name` can be imported."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, *, needed_for: str) -> None:
    """Raises MissingExtra, naming the extra to install, unless `module` can be imported."""
    if not has_module(module):
        raise MissingExtra(f"{needed_for} needs {module}: pip install 'zkpipe[{EXTRA_OF[module]}]'")
