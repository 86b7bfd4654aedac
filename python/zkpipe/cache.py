"""Where zkpipe keeps rebuildable artifacts (compiled contracts, circuit data)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """$ZKPIPE_CACHE_DIR, or ~/.cache/zkpipe."""
    base = os.environ.get("ZKPIPE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "zkpipe")
    return Path(base)
