"""The packages of zkpipe import each other without cycles, and run-time data ships as package data."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import zkpipe
from zkpipe.planner.measurements import load_default_measurements

ROOT = Path(zkpipe.__file__).parent


def _package_of(module: str) -> str | None:
    """`zkpipe.node.store.db` → `node`; top-level modules (`zkpipe.demo`) are their own package."""
    parts = module.split(".")
    if parts[0] != "zkpipe" or len(parts) < 2:
        return None
    return parts[1]


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        module = ".".join(("zkpipe", *path.relative_to(ROOT).with_suffix("").parts))
        source = _package_of(module)
        if source is None:
            continue
        targets = graph.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                target = _package_of(name)
                if target is not None and target != source:
                    targets.add(target)
    return graph


def test_packages_import_without_cycles() -> None:
    graph = _imports()
    assert {"node", "l1", "kpi", "planner", "sequencer", "bench", "demo"} <= graph.keys()
    # graphlib names the cycle if there is one (lazy, in-function imports count too).
    graphlib.TopologicalSorter(graph).prepare()


def test_measured_table_is_package_data() -> None:
    table = load_default_measurements()
    assert table.segment_cost(3).prove_seconds > 0
