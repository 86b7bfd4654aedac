"""The supervisor: runs each pipeline component's step on its own thread and acts on error severity.

- temporary → retry the step with exponential backoff (capped), the component stays healthy;
- rejected → the unit of work is failed (the component's `reject` hook), the loop goes on; a
  component without that hook cannot skip work, so it stops;
- reset → the component re-syncs from L1 (its `reset` hook), then goes on;
- critical (or any unexpected exception) → the component stops and is reported unhealthy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from zkpipe.errors import Severity, ZkpipeError

logger = logging.getLogger("zkpipe.node.supervisor")

BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0


class Component(Protocol):
    """One stage of the pipeline, driven by the supervisor."""

    name: str

    def step(self) -> None:
        """One unit of work; raises a ZkpipeError whose severity says what to do."""
        ...


@dataclass(slots=True)
class ComponentHealth:
    """What the supervisor knows about one component."""

    name: str
    running: bool = True
    failure: str | None = None
    """Why the component stopped (critical error), or None."""
    retries: int = 0
    """Temporary errors retried since the last successful step."""
    rejected: int = 0
    resets: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class _Loop:
    component: Component
    interval_s: float
    wakeup: threading.Event
    health: ComponentHealth
    thread: threading.Thread | None = None
    backoff_s: float = 0.0


class Supervisor:
    """Runs components and keeps their health (see the module docstring)."""

    def __init__(self) -> None:
        self._loops: dict[str, _Loop] = {}
        self._stop = threading.Event()

    def add(self, component: Component, *, interval_s: float, wakeup: threading.Event | None = None) -> None:
        """Registers `component`, stepped every `interval_s` (or sooner when `wakeup` is set)."""
        self._loops[component.name] = _Loop(
            component, interval_s, wakeup or threading.Event(), ComponentHealth(component.name)
        )

    def start(self) -> None:
        """Starts one thread per component."""
        for loop in self._loops.values():
            loop.thread = threading.Thread(
                target=self._run, args=(loop,), name=loop.component.name, daemon=True
            )
            loop.thread.start()

    def stop(self) -> None:
        """Stops every loop and waits for the threads."""
        self._stop.set()
        for loop in self._loops.values():
            loop.wakeup.set()
        for loop in self._loops.values():
            if loop.thread is not None:
                loop.thread.join()
                loop.thread = None

    def health(self) -> dict[str, ComponentHealth]:
        """Each component's health, by name."""
        return {name: loop.health for name, loop in self._loops.items()}

    def failures(self) -> dict[str, str]:
        """Why each stopped component stopped."""
        return {n: h.failure for n, h in self.health().items() if h.failure is not None}

    def step_once(self, name: str) -> None:
        """Runs one supervised step of `name` on the caller's thread (tests, start-up)."""
        self._supervised_step(self._loops[name])

    def _run(self, loop: _Loop) -> None:
        while not self._stop.is_set() and loop.health.running:
            self._supervised_step(loop)
            wait = max(loop.interval_s, loop.backoff_s)
            loop.wakeup.wait(wait)
            loop.wakeup.clear()
        loop.health.running = False

    def _supervised_step(self, loop: _Loop) -> None:
        health = loop.health
        if not health.running:
            return
        try:
            loop.component.step()
        except ZkpipeError as err:
            self._act(loop, err)
            return
        except Exception as exc:  # why: an unexpected error is a bug: stop, loudly
            logger.exception("event=component_failed component=%s", health.name)
            health.running, health.failure = False, repr(exc)
            return
        health.retries, loop.backoff_s = 0, 0.0

    def _act(self, loop: _Loop, err: ZkpipeError) -> None:
        health = loop.health
        health.last_error = f"{err.code}: {err.message}"
        severity = err.severity
        logger.warning(
            "event=component_error component=%s severity=%s code=%s message=%s",
            health.name, severity, err.code, err.message,
        )  # fmt: skip
        if severity is Severity.TEMPORARY:
            health.retries += 1
            loop.backoff_s = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, loop.backoff_s * 2))
            return
        if severity is Severity.REJECTED:
            health.rejected += 1
            reject = getattr(loop.component, "reject", None)
            if reject is not None:
                self._hook(loop, reject, err)
                return
        if severity is Severity.RESET:
            health.resets += 1
            reset = getattr(loop.component, "reset", None)
            if reset is not None:
                self._hook(loop, reset, err)
                return
        logger.error("event=component_stopped component=%s code=%s", health.name, err.code)
        health.running, health.failure = False, f"{err.code}: {err.message}"

    def _hook(self, loop: _Loop, hook: Callable[[ZkpipeError], None], err: ZkpipeError) -> None:
        """Runs a component's reject/reset hook; a failing hook stops the component."""
        try:
            hook(err)
        except ZkpipeError as failed:
            logger.error("event=component_stopped component=%s code=%s", loop.health.name, failed.code)
            loop.health.running, loop.health.failure = False, f"{failed.code}: {failed.message}"
        except Exception as exc:
            logger.exception("event=component_hook_failed component=%s", loop.health.name)
            loop.health.running, loop.health.failure = False, repr(exc)
