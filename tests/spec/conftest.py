"""Fixtures for spec tests."""

from __future__ import annotations

import pytest

from zkpipe.spec import State

from .helpers import funded_state


@pytest.fixture
def state() -> State:
    """Genesis plus three funded accounts (1, 2, 3)."""
    return funded_state()
