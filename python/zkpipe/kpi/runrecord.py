"""The counting fields of a run record (`zkpipe.run/1`), one documented definition each."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RunCounts(BaseModel):
    """How many transactions a run had and how far they got; deposits count like any transaction."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    txs: int = Field(ge=0)
    """Every transaction of the run the node stored: user transactions and L1 deposits."""
    user_txs: int = Field(ge=0)
    """User transactions the run sent over RPC."""
    deposits: int = Field(ge=0)
    """L1 deposits the run made."""
    consolidated: int = Field(ge=0)
    """Of `txs`, those whose batch L1 verified (deposits included, as in `txs`)."""
    user_consolidated: int = Field(ge=0)
    """Of `user_txs`, those consolidated."""
    lost: int = Field(ge=0)
    """User transactions the node has no receipt for, or rejected."""

    @model_validator(mode="after")
    def _consistent(self) -> RunCounts:
        if self.txs != self.user_txs + self.deposits:
            raise ValueError("txs must be user_txs + deposits")
        if not (
            self.user_consolidated <= self.consolidated <= self.txs
            and self.user_consolidated <= self.user_txs
        ):
            raise ValueError("consolidated counts exceed what they count")
        return self
