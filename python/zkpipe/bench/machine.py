"""The machine description for benchmark reports: re-exported from zkpipe.kpi.machine."""

from zkpipe.kpi.machine import describe_machine

__all__ = ["describe_machine"]
