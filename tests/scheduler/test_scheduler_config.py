"""Scheduler configuration and fold plans: invalid settings are refused up front."""

from __future__ import annotations

import pytest

from zkpipe.errors import InvalidInput
from zkpipe.proving.scheduler import SchedulerConfig, compute_fold_plan


def test_defaults_are_one_copy_with_straggler_duplicates() -> None:
    config = SchedulerConfig()
    assert config.redundancy == 1 and config.straggler_factor == 2.0 and config.max_copies >= 2


@pytest.mark.parametrize(
    "settings",
    [
        {"redundancy": 0},
        {"redundancy": 4, "max_copies": 3},
        {"max_failures": 0},
        {"job_timeout_s": 0},
        {"poll_s": -1},
    ],
)
def test_invalid_settings(settings: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        SchedulerConfig(**settings)  # type: ignore[arg-type]


def test_invalid_empty_fold() -> None:
    with pytest.raises(InvalidInput):
        compute_fold_plan([])


def test_fold_plan_of_four_is_two_levels() -> None:
    root, joins = compute_fold_plan(["a", "b", "c", "d"])
    assert root == "agg(agg(a+b)+agg(c+d))"
    assert len(joins) == 3
