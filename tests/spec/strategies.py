"""Hypothesis strategies for spec values."""

from __future__ import annotations

from hypothesis import strategies as st

from zkpipe.spec import Deposit, Transaction, Transfer, Withdraw

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)

deposits = st.builds(
    Deposit, u64, u32, st.binary(min_size=40, max_size=40), u64, st.binary(min_size=20, max_size=20)
)
transfers = st.builds(Transfer, u32, u32, u64, u64, u32, st.binary(min_size=80, max_size=80))
withdrawals = st.builds(
    Withdraw, u32, st.binary(min_size=20, max_size=20), u64, u64, u32, st.binary(min_size=80, max_size=80)
)
transactions: st.SearchStrategy[Transaction] = st.one_of(deposits, transfers, withdrawals)
