"""Deterministic workloads for benchmarks: re-exported from zkpipe.workload (the demo uses it too)."""

from zkpipe.workload import Accounts, deposits, genesis, l1_address, next_batch, user_mix

__all__ = ["Accounts", "deposits", "genesis", "l1_address", "next_batch", "user_mix"]
