"""Shared fixtures: one warm prover for k = 8 per test session."""

from __future__ import annotations

import pytest

from zkpipe.proving import Prover


@pytest.fixture(scope="session")
def prover() -> Prover:
    """A prover for segments of 8, using every core; circuits come from the default cache."""
    prover = Prover(8, threads=0)
    _ = prover.setup
    return prover
