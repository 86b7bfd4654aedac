"""Configuration: defaults < TOML < ZKPIPE_* variables < flags; bad settings are typed errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from zkpipe.node.config import ConfigError, load_config
from zkpipe.sequencer.policy import AnyOf


def test_layers_override_in_order(tmp_path: Path) -> None:
    toml = tmp_path / "node.toml"
    toml.write_text(
        'data_dir = "from-toml"\n[rpc]\nport = 1111\nhost = "127.0.0.1"\n[l1]\nblock_time = 12.0\n'
    )
    config = load_config(
        toml,
        env={"ZKPIPE_RPC__PORT": "2222", "ZKPIPE_CACHE_DIR": "/ignored"},
        overrides={"l1.block_time": 3.0, "rpc.host": None},
    )
    assert config.data_dir == Path("from-toml")
    assert config.rpc.port == 2222
    assert config.l1.block_time == 3.0
    assert config.rpc.host == "127.0.0.1"
    assert isinstance(config.batch.build(), AnyOf)


def test_the_process_environment_is_read_when_no_env_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKPIPE_L1__CONFIRMATIONS", "3")
    monkeypatch.setenv("ZKPIPE_CACHE_DIR", "/not/a/setting")
    assert load_config().l1.confirmations == 3
    assert load_config(env={}).l1.confirmations == 1


def test_the_documented_example_is_the_defaults() -> None:
    """The TOML block of docs/node.md loads, and says what the defaults are."""
    doc = (Path(__file__).parents[2] / "docs" / "node.md").read_text()
    block = re.search(r"## Configuration\n.*?```toml\n(.*?)```", doc, re.S)
    assert block is not None
    documented = tomllib.loads(block.group(1))
    defaults = load_config(env={}).model_dump(mode="json")
    for key, value in documented.items():
        if isinstance(value, dict):
            assert value == {name: defaults[key][name] for name in value}, key
        else:
            assert value == defaults[key], key


def test_adaptive_policy_builds() -> None:
    config = load_config(None, env={"ZKPIPE_BATCH__POLICY": "adaptive"})
    assert config.batch.build() is not None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZKPIPE_RPC__PORT": "abc"}, "rpc.port"),
        ({"ZKPIPE_RPC__NOPE": "1"}, "unknown setting"),
        ({"ZKPIPE_STORE__SYNCHRONOUS": "OFF"}, "synchronous"),
        ({"ZKPIPE_BATCH__POLICY": "magic"}, "policy"),
        ({"ZKPIPE_L1__BLOCK_TIME": "0"}, "block_time"),
        ({"ZKPIPE_RPC__DEV_METHODS": "maybe"}, "dev_methods"),
        ({"ZKPIPE_PROVING__ENABLED": "1", "ZKPIPE_PROVING__BIND_TO_L1": "1"}, "bind_to_l1: batch.max_bytes"),
    ],
)
def test_invalid_settings_are_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, env=env)


def test_every_bad_setting_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={"ZKPIPE_RPC__PORT": "70000", "ZKPIPE_PROVING__BACKEND": "gpu"})
    assert caught.value.code == "CONFIG_ERROR"
    assert "rpc.port" in caught.value.message and "proving.backend" in caught.value.message


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[rpc\n")
    with pytest.raises(ConfigError):
        load_config(bad, env={})
    table = tmp_path / "table.toml"
    table.write_text("rpc = 3\n")
    with pytest.raises(ConfigError, match="table"):
        load_config(table, env={})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", env={})


def test_segment_size_is_chosen_from_the_memory_budget() -> None:
    from zkpipe.errors import InvalidInput
    from zkpipe.node.config import ProvingConfig
    from zkpipe.node.proving import resolve_segment_size

    assert resolve_segment_size(ProvingConfig(segment_size=32)) == 32
    # The measured table (package data, sound segments): k=128 needs ~2.3 GiB, k=64 ~1.3 GiB,
    # k=16 ~467 MiB, k=8 ~428 MiB.
    assert resolve_segment_size(ProvingConfig(segment_size=0, memory_budget_mib=1500)) == 64
    assert resolve_segment_size(ProvingConfig(segment_size=0, memory_budget_mib=4096)) == 128
    assert resolve_segment_size(ProvingConfig(segment_size=0, memory_budget_mib=450)) == 8
    with pytest.raises(InvalidInput):
        resolve_segment_size(ProvingConfig(segment_size=0, memory_budget_mib=100))


def test_segment_size_zero_is_accepted_and_an_rpc_l1_kind_too() -> None:
    config = load_config(env={}, overrides={"proving.segment_size": 0, "proving.memory_budget_mib": 800})
    assert config.proving.segment_size == 0
    rpc = load_config(env={}, overrides={"l1.kind": "rpc", "l1.rpc_url": "http://127.0.0.1:1"})
    assert rpc.l1.kind == "rpc"
    with pytest.raises(ConfigError, match="segment_size"):
        load_config(env={}, overrides={"proving.segment_size": 12})
