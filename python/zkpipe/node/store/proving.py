"""The proving half of the store: the state after the last consolidated window, so a restart need not
re-apply every consolidated batch."""

from __future__ import annotations

from collections.abc import Mapping

from zkpipe.node.store.db import Database
from zkpipe.spec import Account, AccountIndex, Amount, Nonce, PublicKey


class ProvingLog(Database):
    """The accounts after one consolidated batch (`meta.proven_batch`), replaced as a whole."""

    def store_proven_state(self, batch: int, accounts: Mapping[AccountIndex, Account]) -> None:
        """Stores the accounts after `batch` and its number in one durable transaction."""
        rows = [(i, a.public_key, str(a.balance), a.nonce) for i, a in sorted(accounts.items())]
        self._write(
            [
                ("DELETE FROM proven_accounts", (), False),
                ("INSERT INTO proven_accounts VALUES (?,?,?,?)", rows, True),
                ("INSERT OR REPLACE INTO meta VALUES ('proven_batch', ?)", (str(batch),), False),
            ]
        )

    def proven_state(self) -> tuple[int, dict[AccountIndex, Account]] | None:
        """The batch and accounts `store_proven_state` last stored, or None."""
        batch = self.meta("proven_batch")
        if batch is None:
            return None
        rows = self._read("SELECT idx, public_key, balance, nonce FROM proven_accounts")
        return int(batch), {
            AccountIndex(i): Account(PublicKey(bytes(k)), Amount(int(b)), Nonce(n)) for i, k, b, n in rows
        }
