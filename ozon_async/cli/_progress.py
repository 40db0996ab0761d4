"""Progress display of long commands on standard error (Rich), shown only on a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO, Any

__all__ = ["ExportProgress", "Spinner", "wants_progress"]


def wants_progress(choice: bool | None, stream: IO[Any] | None = None) -> bool:
    """``--progress``/``--no-progress`` when given, else whether ``stream`` (stderr) is a
    terminal."""
    if choice is not None:
        return choice
    target = stream if stream is not None else sys.stderr
    try:
        return bool(target.isatty())
    except (AttributeError, ValueError):
        return False


class ExportProgress:
    """Items, pages, rate and elapsed time of an export; a bar once the total is known.

    When disabled, it does nothing (and Rich is not imported).
    """

    def __init__(self, label: str, *, enabled: bool, stream: IO[str] | None = None) -> None:
        self.label = label
        self.enabled = enabled
        self.items = 0
        self.pages = 0
        self.total: int | None = None
        self.started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None
        self._stream = stream

    def __enter__(self) -> ExportProgress:
        self.started = time.monotonic()
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            Task,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        class RateColumn(ProgressColumn):
            """Average items per second since the start."""

            def render(self, task: Task) -> Text:
                elapsed = task.elapsed or 0.0
                rate = task.completed / elapsed if elapsed > 0 else 0.0
                return Text(f"{rate:,.1f} items/s", style="progress.data.speed")

        console = Console(file=self._stream or sys.stderr, stderr=self._stream is None)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}{task.fields[of]} items"),
            TextColumn("{task.fields[pages]:,} pages"),
            RateColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            refresh_per_second=8,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=None, pages=0, of="")
        return self

    def page(self, items: int, total: int | None = None) -> None:
        """One more page with ``items`` items; ``total`` when the answer says how many exist."""
        self.pages += 1
        self.items += items
        if total is not None and total >= self.items:
            self.total = total
        if self._progress is not None:
            self._progress.update(
                self._task,
                completed=self.items,
                total=self.total,
                pages=self.pages,
                of=f" of {self.total:,}" if self.total is not None else "",
            )

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Spinner:
    """A Rich spinner with a status line on stderr (a terminal only)."""

    def __init__(self, text: str, *, enabled: bool) -> None:
        self.text = text
        self.enabled = enabled
        self._status: Any = None

    def __enter__(self) -> Spinner:
        if self.enabled:
            from rich.console import Console

            self._status = Console(stderr=True).status(self.text)
            self._status.start()
        return self

    def update(self, text: str) -> None:
        self.text = text
        if self._status is not None:
            self._status.update(text)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
