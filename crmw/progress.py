"""Progress of a Dagster run on the terminal: one line per step with its elapsed time.

On a terminal the running steps show live (a spinner, assets and checks done so far, the time);
each finished step leaves one line. Elsewhere (a log, CI) only the finished steps' lines are
printed. Lines never run past the console's width: step names are clipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

STEP_START = "STEP_START"
STEP_SUCCESS = "STEP_SUCCESS"
STEP_FAILURE = "STEP_FAILURE"
STEP_SKIPPED = "STEP_SKIPPED"
MATERIALIZED = "ASSET_MATERIALIZATION"
CHECKED = "ASSET_CHECK_EVALUATION"
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@dataclass
class Step:
    key: str
    started: float
    assets: int = 0
    checks: int = 0
    failed_checks: int = 0
    ended: float | None = None
    outcome: str = "running"

    def seconds(self, now: float) -> float:
        return (self.ended or now) - self.started

    def detail(self) -> str:
        parts = []
        if self.assets:
            parts.append(f"{self.assets} asset{'s' if self.assets != 1 else ''}")
        if self.checks:
            failed = f", {self.failed_checks} not passed" if self.failed_checks else ""
            parts.append(f"{self.checks} check{'s' if self.checks != 1 else ''}{failed}")
        return ", ".join(parts)


class RunProgress:
    """Receives a run's events (DagsterInstance.add_event_listener) and shows its steps.

    Use as a context manager around the run; `on_event` is the listener."""

    def __init__(self, console: Console, title: str = "") -> None:
        self.console = console
        self.title = title
        self.steps: dict[str, Step] = {}
        self.live = console.is_terminal
        self._display: Live | None = None

    def __enter__(self) -> RunProgress:
        if self.title:
            self.console.print(self.title, markup=False, highlight=False)
        if self.live:
            self._display = Live(
                console=self.console, get_renderable=self._render, refresh_per_second=4, transient=True
            )
            self._display.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._display is not None:
            self._display.__exit__(*exc)
            self._display = None

    # ------------------------------------------------------------------ events
    def on_event(self, entry) -> None:
        event = getattr(entry, "dagster_event", None)
        if event is None or not event.step_key:
            return
        kind = event.event_type_value
        now = time.monotonic()
        step = self.steps.get(event.step_key)
        if kind == STEP_START:
            self.steps[event.step_key] = Step(event.step_key, now)
        elif step is None:
            return
        elif kind == MATERIALIZED:
            step.assets += 1
        elif kind == CHECKED:
            step.checks += 1
            data = event.event_specific_data
            step.failed_checks += 0 if getattr(data, "passed", True) else 1
        elif kind in (STEP_SUCCESS, STEP_FAILURE, STEP_SKIPPED):
            step.ended = now
            step.outcome = {STEP_SUCCESS: "done", STEP_FAILURE: "FAILED", STEP_SKIPPED: "skipped"}[kind]
            self._finished(step)

    # ------------------------------------------------------------------ drawing
    def _line(self, step: Step, now: float, mark: str) -> Text:
        width = max(20, self.console.width)
        detail = step.detail()
        tail = f"  {detail}  {step.seconds(now):6.1f}s" if detail else f"  {step.seconds(now):6.1f}s"
        name_room = max(8, width - len(tail) - 2)
        name = step.key if len(step.key) <= name_room else step.key[: name_room - 1] + "…"
        style = {"FAILED": "red", "skipped": "yellow"}.get(step.outcome, "")
        text = Text(f"{mark} {name}", style=style)
        text.append(tail)
        return text

    def _finished(self, step: Step) -> None:
        mark = {"done": "✓", "FAILED": "✗", "skipped": "-"}[step.outcome]
        line = self._line(step, time.monotonic(), mark)
        if self._display is not None:
            self._display.console.print(line)
        else:
            self.console.print(line, soft_wrap=False, overflow="crop")

    def _render(self) -> Table:
        now = time.monotonic()
        grid = Table.grid()
        frame = SPINNER[int(now * 8) % len(SPINNER)]
        for step in list(self.steps.values()):  # the listener adds steps meanwhile
            if step.outcome == "running":
                grid.add_row(self._line(step, now, frame))
        return grid


class Working:
    """One live line for a long step that is not a Dagster run (dbt build, models, a report):
    its title, what it has done so far, the elapsed time; a final line when it ends."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self._display: Live | None = None

    def __enter__(self) -> Working:
        if self.console.is_terminal:
            self._display = Live(
                console=self.console, get_renderable=self._line, refresh_per_second=4, transient=True
            )
            self._display.__enter__()
        return self

    def node(self, name: str, status: str) -> None:
        """dbt's callback: one model, seed or test finished."""
        self.done += 1
        self.failed += status in ("error", "fail", "runtime error")

    def _line(self, mark: str | None = None) -> Text:
        elapsed = time.monotonic() - self.started
        frame = mark or SPINNER[int(elapsed * 8) % len(SPINNER)]
        detail = (
            f"  {self.done} done" + (f", {self.failed} failed" if self.failed else "") if self.done else ""
        )
        return Text(f"{frame} {self.title}{detail}  {elapsed:6.1f}s", style="red" if self.failed else "")

    def __exit__(self, kind, value, traceback) -> None:
        if self._display is not None:
            self._display.__exit__(kind, value, traceback)
            self._display = None
        if kind is None:  # on an error, its message is what the reader needs, and it follows
            self.console.print(self._line("✗" if self.failed else "✓"), soft_wrap=False, overflow="crop")
