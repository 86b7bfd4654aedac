"""The public statement of every segment and aggregate proof (layout defined in the native circuits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

from zkpipe.errors import InvalidProof
from zkpipe.native import Digest
from zkpipe.spec import Commitments, StateRoot

STATEMENT_LEN = 33
"""Field elements in a statement: eight digests and the fee total."""


@dataclass(frozen=True, slots=True)
class Statement:
    """What a proof shows: the state and the three chains move from their `*_in` to their `*_out`.

    Field order is the public-input order of `native/engine/src/circuits/statement.rs`.
    """

    root_before: StateRoot
    root_after: StateRoot
    data_in: Digest
    data_out: Digest
    withdrawals_in: Digest
    withdrawals_out: Digest
    deposits_in: Digest
    deposits_out: Digest
    fee_total: int
    """Fees credited to the operator's fee account."""

    @classmethod
    def from_elements(cls, elements: Sequence[int]) -> Statement:
        """Reads the 33 public-input elements."""
        if len(elements) != STATEMENT_LEN:
            raise InvalidProof(f"a statement has {STATEMENT_LEN} elements, got {len(elements)}")
        d = [(elements[i], elements[i + 1], elements[i + 2], elements[i + 3]) for i in range(0, 32, 4)]
        return cls(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], elements[32])

    def to_elements(self) -> list[int]:
        """The 33 public-input elements."""
        out: list[int] = []
        for value in astuple(self)[:-1]:
            out.extend(value)
        out.append(self.fee_total)
        return out

    @property
    def commitments_in(self) -> Commitments:
        """The chain heads before."""
        return Commitments(self.data_in, self.withdrawals_in, self.deposits_in)

    @property
    def commitments_out(self) -> Commitments:
        """The chain heads after."""
        return Commitments(self.data_out, self.withdrawals_out, self.deposits_out)

    def is_followed_by(self, right: Statement) -> bool:
        """Whether `right` starts exactly where this one ends (so the two may be aggregated)."""
        return self.root_after == right.root_before and self.commitments_out == right.commitments_in

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (digests as lists of ints)."""
        return {
            f.name: list(v) if isinstance(v, tuple) else v
            for f, v in zip(fields(self), astuple(self), strict=True)
        }
