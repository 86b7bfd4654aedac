"""Snapshots of the embedded devnet's EVM (pyrevm): every account and storage slot it holds, on disk.

pyrevm keeps the whole chain's state in revm's journal (it never finalizes a transaction), so what
a snapshot must hold to stay exact is more than the values: an account or slot the chain ever
loaded stays *warm* (EIP-2929 prices it at 100 gas, not 2,100/2,600) and a slot keeps the value it
had when first loaded as its *original* (EIP-2200 net metering). A snapshot therefore records, for
each account the journal holds, its balance, nonce and code, and for each slot its original and
present value; `restore_evm` rebuilds that journal, and `dump_evm` on the result must equal the
snapshot. Block numbers and timestamps come from the block log; `BLOCKHASH` does not depend on state
here (revm's empty database answers it), so no hashes need restoring.

pyrevm 0.3.7 lists accounts (`journal_state`) but not storage; the slots are read from revm's debug
text of the journal (`journal_str`) and each present value is checked against `EVM.storage`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyrevm import EVM, AccountInfo

from zkpipe.errors import SnapshotInvalid
from zkpipe.l1.chain import Address, to_address
from zkpipe.l1.hashes import keccak256

SNAPSHOT_VERSION = 1
"""Bumped whenever what a snapshot holds changes; another version is ignored (full replay)."""
KECCAK_EMPTY = keccak256(b"")

_ACCOUNT = re.compile(
    r"(0x[0-9a-f]{40}): Account \{ info: AccountInfo \{ .*?\}, storage: \{(.*?)\}, status: AccountStatus\("
)
_SLOT = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: (\d+), present_value: (\d+) \}")


@dataclass(frozen=True, slots=True)
class SlotState:
    """One storage slot: its key, the value it had when first loaded, and its value now."""

    key: int
    original: int
    present: int


@dataclass(frozen=True, slots=True)
class AccountState:
    """One account as the EVM holds it."""

    address: Address
    balance: int
    nonce: int
    code: bytes | None
    storage: tuple[SlotState, ...]


@dataclass(frozen=True, slots=True)
class EvmSnapshot:
    """The EVM state after block `block` (whose hash is `block_hash`) of chain `chain_id`."""

    chain_id: int
    block: int
    block_hash: bytes
    accounts: tuple[AccountState, ...]


def dump_evm(evm: EVM, *, read_back: bool = True) -> tuple[AccountState, ...]:
    """Every account and slot the EVM's journal holds, sorted; SnapshotInvalid if it cannot be read.

    With `read_back` each slot's value from the debug text is checked against `EVM.storage`."""
    infos = {to_address(address): info for address, info in evm.journal_state.items()}
    text = evm.journal_str
    state = text[: text.find("}, transient_storage: ")]
    slots: dict[Address, tuple[SlotState, ...]] = {}
    for match in _ACCOUNT.finditer(state):
        slots[to_address(match.group(1))] = tuple(
            SlotState(int(k), int(o), int(p))
            for k, o, p in sorted(_SLOT.findall(match.group(2)), key=lambda slot: int(slot[0]))
        )
    if slots.keys() != infos.keys():
        raise SnapshotInvalid("the EVM's journal text does not list the accounts pyrevm reports")
    accounts = []
    for address in sorted(infos):
        info = infos[address]
        for slot in slots[address] if read_back else ():
            # Why check: the slots come from debug text; the values must be what the EVM reads.
            if evm.storage(address, slot.key) != slot.present:
                raise SnapshotInvalid(f"slot {slot.key} of {address} reads differently than listed")
        code = _original_code(info.code, info.code_hash)
        accounts.append(AccountState(address, int(info.balance), int(info.nonce), code, slots[address]))
    return tuple(accounts)


def restore_evm(evm: EVM, accounts: tuple[AccountState, ...]) -> None:
    """Loads `accounts` into a fresh EVM as `dump_evm` found them: originals in its database, present
    values, balances and warm accounts and slots in its journal."""
    for account in accounts:
        for slot in account.storage:
            # Why inside a reverted checkpoint: the insert also loads the account (warms it); only
            # the database write, which is not journaled, must stay, so that later slots go there too.
            checkpoint = evm.snapshot()
            evm.insert_account_storage(account.address, slot.key, slot.original)
            evm.revert(checkpoint)
        evm.insert_account_info(account.address, AccountInfo(nonce=account.nonce, code=account.code))
        evm.basic(account.address)
        evm.set_balance(account.address, account.balance)
        for slot in account.storage:
            if slot.present == slot.original:
                evm.storage(account.address, slot.key)  # loads (warms) it at its original value
            else:
                evm.insert_account_storage(account.address, slot.key, slot.present)  # an SSTORE


def write_snapshot(path: Path, snapshot: EvmSnapshot) -> None:
    """Writes the snapshot atomically (temporary file, fsync, rename, fsync of the directory)."""
    body = {
        "version": SNAPSHOT_VERSION,
        "chain_id": snapshot.chain_id,
        "block": snapshot.block,
        "block_hash": snapshot.block_hash.hex(),
        "accounts": [
            [
                a.address,
                str(a.balance),  # why text: values above 2**53
                a.nonce,
                None if a.code is None else a.code.hex(),
                [[str(s.key), str(s.original), str(s.present)] for s in a.storage],
            ]
            for a in snapshot.accounts
        ],
    }
    payload = json.dumps(body, separators=(",", ":")).encode()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as file:
        file.write(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_snapshot(path: Path, chain_id: int) -> EvmSnapshot:
    """Reads a snapshot of chain `chain_id`; SnapshotInvalid if it is corrupt or of another version."""
    try:
        digest, _, payload = path.read_bytes().partition(b"\n")
    except OSError as exc:
        raise SnapshotInvalid(f"{path}: {exc}") from None
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise SnapshotInvalid(f"{path}: checksum mismatch (corrupt)")
    try:
        body: dict[str, Any] = json.loads(payload)
        if body.get("version") != SNAPSHOT_VERSION:
            raise SnapshotInvalid(f"{path}: version {body.get('version')!r}, expected {SNAPSHOT_VERSION}")
        if body["chain_id"] != chain_id:
            raise SnapshotInvalid(f"{path}: a snapshot of chain {body['chain_id']}, not {chain_id}")
        accounts = tuple(
            AccountState(
                to_address(address),
                int(balance),
                int(nonce),
                None if code is None else bytes.fromhex(code),
                tuple(SlotState(int(k), int(o), int(p)) for k, o, p in storage),
            )
            for address, balance, nonce, code, storage in body["accounts"]
        )
        return EvmSnapshot(chain_id, int(body["block"]), bytes.fromhex(body["block_hash"]), accounts)
    except SnapshotInvalid:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotInvalid(f"{path}: malformed snapshot: {exc!r}") from None


def _original_code(code: bytes | None, code_hash: bytes | None) -> bytes | None:
    """The deployed code without the zero padding revm's analysis appends (it must hash to `code_hash`)."""
    if code_hash in (None, KECCAK_EMPTY) or not code:
        return None
    for end in range(len(code.rstrip(b"\0")), len(code) + 1):
        if keccak256(code[:end]) == code_hash:
            return code[:end]
    raise SnapshotInvalid(f"code does not hash to its code hash 0x{code_hash.hex()}")
