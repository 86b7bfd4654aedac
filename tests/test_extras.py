"""Heavy optional dependencies are pip extras; a feature whose extra is missing says which to install."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from zkpipe.cli import main
from zkpipe.errors import MissingExtra
from zkpipe.extras import EXTRA_OF
from zkpipe.node.config import load_config
from zkpipe.node.l1chain import open_chain
from zkpipe.node.proving import new_backend

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())


def test_each_optional_module_has_its_extra_and_all_has_every_one() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    core = " ".join(PYPROJECT["project"]["dependencies"])
    packages = {
        "ray": "ray",
        "simpy": "simpy",
        "matplotlib": "matplotlib",
        "web3": "web3",
        "eth_account": "web3",
    }
    for module, extra in EXTRA_OF.items():
        assert any(packages[module] in requirement for requirement in extras[extra]), module
        assert any(packages[module] in requirement for requirement in extras["all"]), module
        assert packages[module] not in core, module


def test_missing_extras_are_clear_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for module in EXTRA_OF:
        monkeypatch.setitem(sys.modules, module, None)  # what Python does for a module that is absent
    ray = load_config(env={}, overrides={"proving.backend": "ray"}).proving
    with pytest.raises(MissingExtra, match=r"zkpipe\[ray\]"):
        new_backend(ray, None, 8)
    rpc = load_config(
        env={}, overrides={"data_dir": tmp_path, "l1.kind": "rpc", "l1.rpc_url": "http://127.0.0.1:1"}
    )
    with pytest.raises(MissingExtra, match=r"zkpipe\[jsonrpc\]"):
        open_chain(rpc)
    result = CliRunner().invoke(main, ["plan", "--target-tps", "10", "--max-delay", "60"])
    assert result.exit_code != 0 and "MISSING_EXTRA" in result.output and "zkpipe[planner]" in result.output
