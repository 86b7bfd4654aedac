"""Errors raised by the planner: bad inputs and targets no deployment can meet."""

from __future__ import annotations

from zkpipe.errors import PlanInputError, Severity, ZkpipeError

__all__ = ["Infeasible", "PlanInputError"]


class Infeasible(ZkpipeError):
    """No deployment within the search space meets the targets; the message says why."""

    code = "PLAN_INFEASIBLE"
    severity = Severity.REJECTED
