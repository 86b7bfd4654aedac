"""Benchmarks measured in a fresh Python process, so each measurement's peak RSS is its own."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from zkpipe.errors import ProvingFailed


def measure_in_subprocess(module: str, *args: int) -> dict[str, Any]:
    """Runs `python -m module args…`, which prints one JSON object, and returns that object."""
    run = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise ProvingFailed(f"{module} {' '.join(map(str, args))} failed: {run.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(run.stdout)
    return result
