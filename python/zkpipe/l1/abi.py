"""Encoding calls and decoding events from a contract's JSON ABI (with eth_abi)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode

from zkpipe.errors import L1Error
from zkpipe.l1.chain import Log
from zkpipe.l1.hashes import keccak256


def canonical_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of one parameter, expanding structs (tuples) into `(t1,t2,...)`."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


@dataclass(frozen=True, slots=True)
class AbiFunction:
    """One callable function: its selector and argument/result types."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def selector(self) -> bytes:
        """The first 4 bytes of the calldata."""
        return keccak256(f"{self.name}({','.join(self.inputs)})".encode())[:4]

    def encode_call(self, args: Sequence[Any]) -> bytes:
        """Calldata for a call with `args`."""
        return self.selector + encode(list(self.inputs), list(args))

    def decode_result(self, data: bytes) -> tuple[Any, ...]:
        """The decoded return values."""
        return tuple(decode(list(self.outputs), data))


@dataclass(frozen=True, slots=True)
class AbiEvent:
    """One event: its topic and which fields are indexed."""

    name: str
    fields: tuple[tuple[str, str, bool], ...]
    """(name, canonical type, indexed) in declaration order."""

    @property
    def topic(self) -> bytes:
        """topic0 of its logs."""
        return keccak256(f"{self.name}({','.join(t for _, t, _ in self.fields)})".encode())

    def decode_log(self, log: Log) -> dict[str, Any]:
        """The event's fields by name; indexed fields come from topics (value types only)."""
        indexed = [(n, t) for n, t, i in self.fields if i]
        plain = [(n, t) for n, t, i in self.fields if not i]
        if len(log.topics) != 1 + len(indexed):
            raise L1Error(f"{self.name} log has {len(log.topics)} topics, expected {1 + len(indexed)}")
        topics = zip(indexed, log.topics[1:], strict=True)
        values: dict[str, Any] = {n: decode([t], topic)[0] for (n, t), topic in topics}
        values.update(zip([n for n, _ in plain], decode([t for _, t in plain], log.data), strict=True))
        return values


@dataclass(frozen=True, slots=True)
class ContractAbi:
    """A contract's constructor, functions and events, parsed from its JSON ABI."""

    constructor: tuple[str, ...]
    functions: dict[str, AbiFunction]
    events_by_topic: dict[bytes, AbiEvent]

    @classmethod
    def parse(cls, abi: Sequence[dict[str, Any]]) -> ContractAbi:
        """Parse a JSON ABI (overloaded functions are not supported: Vyper has none)."""
        constructor: tuple[str, ...] = ()
        functions: dict[str, AbiFunction] = {}
        events: dict[bytes, AbiEvent] = {}
        for item in abi:
            if item["type"] == "constructor":
                constructor = tuple(canonical_type(p) for p in item["inputs"])
            elif item["type"] == "function":
                functions[item["name"]] = AbiFunction(
                    item["name"],
                    tuple(canonical_type(p) for p in item["inputs"]),
                    tuple(canonical_type(p) for p in item["outputs"]),
                )
            elif item["type"] == "event":
                event = AbiEvent(
                    item["name"],
                    tuple((p["name"], canonical_type(p), bool(p["indexed"])) for p in item["inputs"]),
                )
                events[event.topic] = event
        return cls(constructor, functions, events)

    def function(self, name: str) -> AbiFunction:
        """The function called `name`."""
        try:
            return self.functions[name]
        except KeyError:
            raise L1Error(f"the contract has no function {name!r}") from None

    def encode_constructor(self, args: Sequence[Any]) -> bytes:
        """Constructor arguments, to append to the creation bytecode."""
        return encode(list(self.constructor), list(args))
