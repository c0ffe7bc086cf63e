"""What `up` learns while it waits for a stack: progress, stalls and components that failed.

On a loaded machine a service can take a minute to start, and a component whose gate
(wait_for.py) gave up is restarted by supervisord and then starts fine. So `up` does not give
up at a fixed deadline while things move: :class:`StartWatch` records *progress* (a component
became healthy; supervisord changed a waiting component's state or pid; a waiting component
wrote to its log) and `up` gives up only when nothing progressed for the stall timeout, or at
the overall timeout, or when a component failed for good:

- supervisord gave it up (``FATAL``, ``UNKNOWN``), or a one-shot exited non-zero (but not
  with 75: supervisord runs it again);
- it crashed ``MAX_CRASHES`` times: a restart, unless its previous run was wait_for giving
  up on a gate (exit ``75``, or its "wait_for: gave up" line in the component's log:
  supervisord resets the exit status when it spawns the next run), which is waiting, not
  crashing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: wait_for.py's exit status when a dependency was still unhealthy at its timeout.
GATE_TIMEOUT_EXIT = 75
#: A component that crashed this often while `up` waited is crash-looping.
MAX_CRASHES = 3
GIVEN_UP_STATES = {"FATAL", "UNKNOWN"}


@dataclass(frozen=True)
class Seen:
    """One look at a component: supervisord's ``state``, ``pid`` (0: none), ``exitstatus``
    of its last exit, the size of its log in bytes, and whether what the log gained since the
    last look says that wait_for gave up on a gate."""

    state: str
    pid: int
    exitstatus: int
    log_size: int
    gate_gave_up: bool = False


@dataclass
class _Component:
    last: Seen | None = None
    last_pid: int = 0  # the last pid seen, across looks that saw none
    gate_gave_up: bool = False  # since ``last_pid`` started
    crashes: int = 0
    healthy: bool = False
    reason: str = "not checked yet"


@dataclass
class StartWatch:
    """Progress of the components ``names`` since ``started`` (monotonic seconds)."""

    names: list[str]
    started: float
    oneshots: frozenset[str] = frozenset()
    _components: dict[str, _Component] = field(default_factory=dict)
    last_progress: float = 0.0

    def __post_init__(self) -> None:
        self._components = {name: _Component() for name in self.names}
        self.last_progress = self.started

    def observe(self, name: str, seen: Seen, now: float) -> str | None:
        """Record a look at ``name``; returns why it failed for good, else None."""
        comp = self._components[name]
        before = comp.last
        comp.last = seen
        comp.gate_gave_up = comp.gate_gave_up or seen.gate_gave_up or seen.exitstatus == GATE_TIMEOUT_EXIT
        if seen.pid and comp.last_pid and seen.pid != comp.last_pid:
            if not comp.gate_gave_up:
                comp.crashes += 1
            comp.gate_gave_up = seen.gate_gave_up
        comp.last_pid = seen.pid or comp.last_pid
        if not comp.healthy and (
            before is None
            or (seen.state, seen.pid) != (before.state, before.pid)
            or seen.log_size > before.log_size
        ):
            self.last_progress = now
        if seen.state in GIVEN_UP_STATES:
            return f"supervisord state {seen.state}"
        if name in self.oneshots and seen.state == "EXITED" and seen.exitstatus not in (0, GATE_TIMEOUT_EXIT):
            return f"exited with status {seen.exitstatus}"
        if comp.crashes >= MAX_CRASHES:
            return f"crashed {comp.crashes} times (last exit status {seen.exitstatus})"
        return None

    def probed(self, name: str, reason: str | None, now: float) -> bool:
        """Record a health probe's answer (None: healthy); True when it just became healthy."""
        comp = self._components[name]
        if reason is None and not comp.healthy:
            comp.healthy = True
            self.last_progress = now
            return True
        if reason is not None:
            comp.reason = reason
        return False

    def pending(self) -> list[str]:
        return [name for name in self.names if not self._components[name].healthy]

    def healthy_count(self) -> int:
        return len(self.names) - len(self.pending())

    def stalled_for(self, now: float) -> float:
        """Seconds since the last progress."""
        return now - self.last_progress

    def describe(self, name: str) -> str:
        """``STATE: last probe answer`` of a component still starting."""
        comp = self._components[name]
        state = comp.last.state if comp.last else "?"
        crashes = f", {comp.crashes} crashes" if comp.crashes else ""
        return f"{state}{crashes}: {comp.reason}"

    def _brief(self, name: str) -> str:
        """The short form for progress lines: the probe's last words, and the state unless RUNNING."""
        comp = self._components[name]
        state = comp.last.state if comp.last else "?"
        words = comp.reason.rsplit(": ", 1)[-1]
        crashes = f", {comp.crashes} crashes" if comp.crashes else ""
        return f"{words}{crashes}" if state == "RUNNING" else f"{state}{crashes}, {words}"

    def report(self, now: float) -> str:
        """One line: how many are healthy, and which are still starting and why (briefly)."""
        pending = self.pending()
        waiting = ", ".join(f"{name} ({self._brief(name)})" for name in pending)
        return (
            f"  ...     {now - self.started:5.0f}s: {self.healthy_count()}/{len(self.names)} healthy; "
            f"still starting: {waiting}"
        )
