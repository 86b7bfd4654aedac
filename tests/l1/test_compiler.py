"""Compiling the Vyper contract: from source, cached by source hash, limits shared with the client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zkpipe.errors import ContractCompileError
from zkpipe.l1 import compiler, rollup, withdrawals
from zkpipe.l1.compiler import CONTRACTS_DIR, compile_contract


def test_compile_caches_by_source_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = compile_contract("rollup", cache_dir=tmp_path)
    (entry,) = tmp_path.glob("rollup-*.json")
    assert first.source_hash in entry.name and first.bytecode

    def no_compiler(source: str, name: str) -> object:
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(compiler, "_compile_source", no_compiler)
    assert compile_contract("rollup", cache_dir=tmp_path) == first


def test_unreadable_cache_entry_is_recompiled(tmp_path: Path) -> None:
    first = compile_contract("rollup", cache_dir=tmp_path)
    (entry,) = tmp_path.glob("rollup-*.json")
    entry.write_text("{torn")
    assert compile_contract("rollup", cache_dir=tmp_path) == first


def test_invalid_contract_source_raises_compile_error() -> None:
    with pytest.raises(ContractCompileError):
        compiler._compile_source("@external\ndef f(:\n", "broken")


def test_client_limits_match_the_contract() -> None:
    source = (CONTRACTS_DIR / "rollup.vy").read_text()

    def constant(name: str) -> int:
        match = re.search(
            rf"^{name}: constant\(uint256\) = ([0-9_]+)(?:\*\*([0-9]+))?$", source, re.MULTILINE
        )
        assert match is not None, name
        base, exponent = match.groups()
        return int(int(base) ** int(exponent or 1))  # a literal such as 120_000 or 10**9

    assert constant("MAX_BATCHES_PER_CALL") == rollup.MAX_BATCHES_PER_CALL
    assert constant("MAX_SEQUENCE_DATA_BYTES") == rollup.MAX_SEQUENCE_DATA_BYTES
    assert constant("MAX_PROOF_DEPTH") == withdrawals.MAX_TREE_DEPTH
    assert constant("WEI_PER_GWEI") == 10**9
