"""An append-only, fsynced file of JSON records that survives a crash mid-write."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from zkpipe.errors import StorageError

_HEADER = struct.Struct(">II")  # payload length, CRC-32 of the payload
MAX_RECORD_BYTES = 1 << 30


class RecordLog:
    """Records framed as length ‖ crc32 ‖ JSON; a torn last record is dropped when the log is opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        """Every intact record found when the log was opened, in order."""
        new = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        good_end = 0 if new else self._read_existing()
        self._file = open(path, "r+b" if not new else "w+b")  # noqa: SIM115 - kept open for appends
        if not new and good_end < os.fstat(self._file.fileno()).st_size:
            # Why truncate: a crash mid-append leaves a partial record; the next append must not follow it.
            self._file.truncate(good_end)
            os.fsync(self._file.fileno())
        self._file.seek(good_end)
        if new:
            _fsync_dir(path.parent)  # why: the new file's directory entry must survive a crash too

    def _read_existing(self) -> int:
        """Load the intact records; return where the intact prefix ends."""
        data = self.path.read_bytes()
        offset = 0
        while offset < len(data):
            end = offset + _HEADER.size
            if end > len(data):
                break  # torn header
            length, crc = _HEADER.unpack_from(data, offset)
            if length > MAX_RECORD_BYTES or end + length > len(data):
                break  # torn payload (or a garbage length written by a torn header)
            payload = data[end : end + length]
            if zlib.crc32(payload) != crc:
                if end + length == len(data):
                    break  # the last record was torn inside its payload
                raise StorageError(f"{self.path}: corrupt record at byte {offset} followed by more data")
            try:
                self.records.append(json.loads(payload))
            except ValueError as exc:
                raise StorageError(f"{self.path}: record at byte {offset} is not JSON") from exc
            offset = end + length
        return offset

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and fsync it; when this returns the record survives a crash."""
        payload = json.dumps(record, separators=(",", ":")).encode()
        self._file.write(_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def _fsync_dir(directory: Path) -> None:
    """Make a directory's entries durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
