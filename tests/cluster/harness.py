"""A real multi-host Ray cluster on one machine: each host in its own network namespace.

A bridge lives in a namespace of its own; every host namespace (head, w1, w2, …) has one veth
link to it and a 10.x address, a hostname of its own (UTS namespace), its own working directory,
HOME and circuit cache (ZKPIPE_CACHE_DIR), and shares nothing with the others but the code and
the Ray auth token it is given. Nothing is added to the machine's own network namespace.

`close()` kills every process inside the namespaces (`ip netns pids`), deletes the namespaces
and the working directories; fixtures call it from a finalizer, so a failing test leaves nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

SUBNET = "10.88"
RAY_PORT = 6379
# The head notices a silent host within ~3 s (defaults: ~30 s), so a partition shows in a short test.
HEALTH_CHECK = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def is_available() -> str | None:
    """Why the harness cannot run here (None: it can): it needs root and iproute2's `ip`."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs iproute2 (ip) and util-linux (unshare)"
    probe = f"zkc-probe-{os.getpid()}"
    try:
        _run("ip", "netns", "add", probe)
    except RuntimeError as err:  # e.g. a container without CAP_SYS_ADMIN / CAP_NET_ADMIN
        return f"cannot create network namespaces here: {err}"
    _run("ip", "netns", "del", probe)
    return None


def _run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Host:
    """One host of the cluster: its namespace, address, directories and Ray node process."""

    name: str
    namespace: str
    address: str
    workdir: Path
    resources: dict[str, float] = field(default_factory=dict)
    cpus: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def cache_dir(self) -> Path:
        """This host's ZKPIPE_CACHE_DIR."""
        return self.workdir / "cache"

    @property
    def log(self) -> Path:
        """The log of this host's current Ray node process."""
        return self.workdir / f"ray-{self.starts}.log"


class NetnsCluster:
    """A Ray head and `workers` worker hosts, each in its own network namespace (see module doc).

    Worker host i advertises `prover_slots` units of the `zkpipe_prover` resource and one unit of
    `host:w<i>`, so prover actors land on worker hosts only (the head has no CPUs for them).
    """

    def __init__(self, root: Path, *, workers: int = 2, prover_slots: int = 1) -> None:
        self.root = root
        self.tag = f"zkc{os.getpid() % 100000}"
        self.token = secrets.token_hex(32)
        self.bridge = f"{self.tag}-br"
        self.hosts: dict[str, Host] = {}
        names = ["head"] + [f"w{i}" for i in range(1, workers + 1)]
        for i, name in enumerate(names):
            host = Host(name, f"{self.tag}-{name}", f"{SUBNET}.0.{i + 1}", root / name)
            if name != "head":
                host.cpus = prover_slots
                host.resources = {"zkpipe_prover": float(prover_slots), f"host:{name}": 1.0}
            self.hosts[name] = host
        self._namespaces: list[str] = []

    @property
    def head(self) -> Host:
        """The head host."""
        return self.hosts["head"]

    @property
    def ray_address(self) -> str:
        """What `--ray-address` is for a node on this cluster."""
        return f"{self.head.address}:{RAY_PORT}"

    # -- network -----------------------------------------------------------------------------

    def _netns(self, name: str) -> None:
        _run("ip", "netns", "add", name)
        self._namespaces.append(name)
        _run("ip", "-n", name, "link", "set", "lo", "up")

    def create_network(self) -> None:
        """The bridge namespace, the host namespaces and their veth links."""
        self._netns(self.bridge)
        _run("ip", "-n", self.bridge, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", self.bridge, "link", "set", "br0", "up")
        for host in self.hosts.values():
            self._netns(host.namespace)
            link = f"v-{host.name}"
            _run("ip", "-n", self.bridge, "link", "add", link, "type", "veth",
                 "peer", "name", "eth0", "netns", host.namespace)  # fmt: skip
            _run("ip", "-n", self.bridge, "link", "set", link, "master", "br0", "up")
            _run("ip", "-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _run("ip", "-n", host.namespace, "link", "set", "eth0", "up")
            host.workdir.mkdir(parents=True, exist_ok=True)
            host.cache_dir.mkdir(exist_ok=True)

    def partition(self, name: str) -> None:
        """Cuts a host off (its link to the bridge goes down); `heal` restores it."""
        _run("ip", "-n", self.bridge, "link", "set", f"v-{name}", "down")

    def heal(self, name: str) -> None:
        """Restores a partitioned host's link."""
        _run("ip", "-n", self.bridge, "link", "set", f"v-{name}", "up")

    def link_bytes(self, name: str) -> tuple[int, int]:
        """(received, sent) bytes on a host's link, as its kernel counts them."""
        info = json.loads(_run("ip", "-n", self.hosts[name].namespace, "-s", "-j", "link", "show", "eth0"))
        stats = info[0]["stats64"]
        return int(stats["rx"]["bytes"]), int(stats["tx"]["bytes"])

    # -- processes -----------------------------------------------------------------------------

    def env(self, host: Host, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a process on `host`: its HOME and cache, the cluster's token."""
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(host.workdir),
            "ZKPIPE_CACHE_DIR": str(host.cache_dir),
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.token,
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
            **HEALTH_CHECK,
        }
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        env.update(extra or {})
        return env

    def _wrap(self, name: str, argv: Sequence[str]) -> list[str]:
        """`argv` run in host `name`'s network namespace, under its own hostname."""
        host = self.hosts[name]
        return ["ip", "netns", "exec", host.namespace, "unshare", "--uts", "--",
                "sh", "-c", f'hostname "{self.tag}-{name}" && exec "$@"', "sh", *argv]  # fmt: skip

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = subprocess.DEVNULL,
        stderr: int | IO[bytes] | None = subprocess.STDOUT,
    ) -> subprocess.Popen[bytes]:
        """Starts `argv` on host `name` (in its namespaces, with its environment)."""
        host = self.hosts[name]
        return subprocess.Popen(
            self._wrap(name, argv),
            cwd=cwd or host.workdir,
            env=self.env(host, env),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )

    def start_node(self, *names: str) -> None:
        """Starts (or restarts) the Ray nodes of hosts `names` at once; returns once they all run."""
        for name in names:
            self._launch(name)
        deadline = time.monotonic() + 120
        for name in names:
            host = self.hosts[name]
            while b"Ray runtime started" not in host.log.read_bytes():
                assert host.process is not None
                if host.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"ray node on {name} did not start: {host.log.read_text()[-2000:]}")
                time.sleep(0.2)

    def _launch(self, name: str) -> None:
        host = self.hosts[name]
        host.starts += 1
        ray = str(Path(sys.executable).parent / "ray")
        argv = [ray, "start", "--block", "--disable-usage-stats", f"--node-ip-address={host.address}",
                f"--num-cpus={host.cpus}", f"--temp-dir={host.workdir / 'ray'}",
                "--object-store-memory=100000000", f"--resources={json.dumps(host.resources)}"]  # fmt: skip
        if name == "head":
            argv += ["--head", f"--port={RAY_PORT}", "--include-dashboard=false"]
        else:
            argv += [f"--address={self.ray_address}"]
        with host.log.open("wb") as log:
            host.process = self.spawn(name, argv, stdout=log)

    def kill_host(self, name: str) -> None:
        """Kills every process of host `name` at once (its raylet, object store and actors)."""
        host = self.hosts[name]
        self._kill_namespace(host.namespace)
        if host.process is not None:
            host.process.wait(10)

    def _kill_namespace(self, namespace: str) -> None:
        for _ in range(20):
            pids = [int(p) for p in _run("ip", "netns", "pids", namespace).split()]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def warm_caches(self, source: Path) -> None:
        """Copies a circuit cache folder (one segment size's circuits) into every host's cache."""
        relative = source.relative_to(source.parent.parent)
        for host in self.hosts.values():
            target = host.cache_dir / "circuits" / relative
            if not target.exists():
                shutil.copytree(source, target)

    def start(self) -> NetnsCluster:
        """The network, then the head, then the worker hosts."""
        self.create_network()
        self.start_node("head")
        self.start_node(*(name for name in self.hosts if name != "head"))
        return self

    def close(self) -> None:
        """Kills everything in the namespaces, deletes them and the working directories."""
        for namespace in reversed(self._namespaces):
            with contextlib.suppress(Exception):
                self._kill_namespace(namespace)
        for host in self.hosts.values():
            if host.process is not None:
                with contextlib.suppress(Exception):
                    host.process.wait(10)
        for namespace in reversed(self._namespaces):
            with contextlib.suppress(Exception):
                _run("ip", "netns", "del", namespace)
        self._namespaces.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def describe(self) -> dict[str, object]:
        """What a driver process needs to act on the cluster (JSON)."""
        return {
            "root": str(self.root),
            "tag": self.tag,
            "ray_address": self.ray_address,
            "hosts": {n: {"address": h.address, "namespace": h.namespace} for n, h in self.hosts.items()},
        }
