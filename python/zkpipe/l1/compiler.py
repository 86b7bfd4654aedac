"""Compiles the Vyper contracts shipped in `zkpipe.l1.contracts`, caching by source hash."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.cache import cache_root
from zkpipe.errors import ContractCompileError

CONTRACTS_DIR = Path(__file__).parent / "contracts"
EVM_VERSION = "cancun"
"""Target EVM of the compiled code; the embedded chain runs the same fork."""


@dataclass(frozen=True, slots=True)
class CompiledContract:
    """A contract's ABI and deployable bytecode, and the hash of the source they came from."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    source_hash: str


def default_cache_dir() -> Path:
    """Where compiled contracts are cached: $ZKPIPE_CACHE_DIR or ~/.cache/zkpipe, under `vyper/`."""
    return cache_root() / "vyper"


def compile_contract(name: str, *, cache_dir: Path | None = None) -> CompiledContract:
    """The compiled form of `contracts/<name>.vy`, from the cache when the source is unchanged."""
    source = (CONTRACTS_DIR / f"{name}.vy").read_text()
    # Why the compiler version and EVM target are in the key: either changes the bytecode.
    # Why the version from metadata: importing the compiler is slow and a cache hit does not need it.
    compiler_version = importlib.metadata.version("vyper")
    key = hashlib.sha256(f"{compiler_version}\0{EVM_VERSION}\0{source}".encode()).hexdigest()
    cache_file = (cache_dir or default_cache_dir()) / f"{name}-{key}.json"
    try:
        cached = json.loads(cache_file.read_text())
        return CompiledContract(name, tuple(cached["abi"]), bytes.fromhex(cached["bytecode"]), key)
    except (OSError, ValueError, KeyError):
        pass  # a miss or an unreadable entry: compile again and overwrite it
    abi, bytecode = _compile_source(source, name)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"abi": list(abi), "bytecode": bytecode.hex()}))
    os.replace(tmp, cache_file)  # why: readers never see a half-written entry
    return CompiledContract(name, abi, bytecode, key)


def _compile_source(source: str, name: str) -> tuple[tuple[dict[str, Any], ...], bytes]:
    """Run the Vyper compiler on one source."""
    from vyper.compiler import compile_code  # type: ignore[import-untyped]
    from vyper.compiler.settings import Settings  # type: ignore[import-untyped]
    from vyper.exceptions import VyperException  # type: ignore[import-untyped]

    try:
        out = compile_code(
            source,
            contract_path=f"{name}.vy",
            output_formats=["abi", "bytecode"],
            settings=Settings(evm_version=EVM_VERSION),
        )
    except VyperException as exc:
        raise ContractCompileError(f"{name}.vy does not compile: {exc}") from exc
    return tuple(out["abi"]), bytes.fromhex(str(out["bytecode"]).removeprefix("0x"))
