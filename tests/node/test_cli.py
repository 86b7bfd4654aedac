"""The user verbs against a running node: keys, send deposit/transfer/withdraw, account, tx."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.node.helpers import FundedNode
from zkpipe.cli import main


def _run(args: list[str]) -> dict[str, object]:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    value = json.loads(result.output.strip().splitlines()[-1])
    assert isinstance(value, dict)
    return value


def test_user_verbs_end_to_end(funded: FundedNode, tmp_path: Path) -> None:
    url = funded.background.url
    key = tmp_path / "alice.json"
    created = _run(["keys", "new", "--out", str(key)])
    assert _run(["keys", "show", str(key)])["public_key"] == created["public_key"]
    deposit = _run(["send", "deposit", "--rpc", url, "--key", str(key), "--to", "40", "--amount", "5000"])
    assert deposit["balance"] == "5000"
    sent = _run(
        ["send", "transfer", "--rpc", url, "--key", str(key), "--from", "40", "--to", "1", "--amount", "7"]
    )
    _run(
        [
            "send",
            "withdraw",
            "--rpc",
            url,
            "--key",
            str(key),
            "--from",
            "40",
            "--l1-address",
            "0x" + "11" * 20,
            "--amount",
            "3",
        ]
    )
    account = _run(["account", "40", "--rpc", url])
    assert account["nonce"] == 2 and account["balance"] == str(5000 - 7 - 3 - 2)
    receipt = _run(["tx", str(sent["hash"]), "--rpc", url, "--wait", "virtual", "--timeout", "20"])
    assert receipt["status"] in ("virtual", "consolidated")


def test_invalid_transfer_prints_the_error_code(funded: FundedNode, tmp_path: Path) -> None:
    key = tmp_path / "bob.json"
    _run(["keys", "new", "--out", str(key)])
    result = CliRunner().invoke(
        main,
        [
            "send",
            "transfer",
            "--rpc",
            funded.background.url,
            "--key",
            str(key),
            "--from",
            "1",
            "--to",
            "2",
            "--amount",
            "1",
        ],
    )
    assert result.exit_code != 0 and "BAD_SIGNATURE" in result.output
    assert CliRunner().invoke(main, ["keys", "new", "--out", str(key)]).exit_code != 0  # no overwrite
