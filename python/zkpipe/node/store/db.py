"""The store's connection: one SQLite database (WAL), durable write transactions, settings."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zkpipe.errors import StorageError
from zkpipe.node.store.schema import SCHEMA


class Database:
    """A connection to the node's database (create one per thread)."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Why isolation_level=None: transactions are explicit (BEGIN IMMEDIATE … COMMIT), one per group.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise StorageError(f"cannot open the store at {path}: {err}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Closes the connection."""
        self._db.close()

    # -- plumbing --------------------------------------------------------------------

    def _write(self, statements: Sequence[tuple[str, Sequence[Any] | list[Sequence[Any]], bool]]) -> None:
        """Runs `(sql, params, many)` statements in one durable transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params, many in statements:
                        if many:
                            self._db.executemany(sql, params)
                        else:
                            self._db.execute(sql, params)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise StorageError(f"write failed: {err}") from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise StorageError(f"read failed: {err}") from None

    # -- meta ------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A stored setting (fee key, contract address, L1 cursor, …)."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, **values: str) -> None:
        """Stores settings durably."""
        self._write([("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()), True)])
