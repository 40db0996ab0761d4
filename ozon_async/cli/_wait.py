"""``ozon call OP --wait [--download FILE]``: start a background task and wait for it.

Every operation with ``x-ozon-task`` (product imports, reports, warehouse operations...) starts a
task that another operation reports on. ``--wait`` sends the call, then checks the task's status
through :func:`ozon_async._tasks.wait_task` (the same waiting as ``.and_wait()`` in Python: the
spec's interval, growing pauses, a bounded wait), shows its state as it goes (a spinner on a
terminal, a line per change with ``--progress`` otherwise), and prints the final status answer
as Ozon sent it. ``--download FILE`` then saves the file the task made (reports) through
:meth:`OzonClient.download`, which sends no credentials to the file's host.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ozon_async._codec import build_request
from ozon_async._exceptions import OzonError
from ozon_async._operation import Operation
from ozon_async._request import Prepared
from ozon_async._runtime import send_prepared
from ozon_async.cli._ops import dotted
from ozon_async.cli._runner import EXIT_API, EXIT_OK, Session

if TYPE_CHECKING:
    from ozon_async._client import OzonClient

__all__ = ["WaitOptions", "task_problem", "wait_for_task"]


@dataclass(frozen=True)
class WaitOptions:
    download: Path | None = None  # "-" is stdout
    max_wait: float | None = None  # seconds in all (default: the spec's timeout)
    interval: float | None = None  # the first pause between checks (default: the spec's)
    progress: bool = False  # a spinner on a terminal, else a line per state change
    pretty: bool | None = None


def task_problem(op: Operation, download: Path | None) -> str | None:
    """Why ``--wait``/``--download`` cannot be used with ``op`` (``None`` when they can)."""
    if op.task is None:
        from ozon_async.resources._registry import OPERATIONS

        starters = sorted(dotted(o) for o in OPERATIONS.values() if o.task is not None)
        return (
            f"{dotted(op)} does not start a background task, so there is nothing to wait for "
            f"(operations that do: {', '.join(starters[:8])}, ...; `ozon ops NAME` tells)"
        )
    if download is not None and op.task.file is None:
        return f"{dotted(op)} starts a task that makes no file; --download needs a report"
    return None


def _arguments(op: Operation, body: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by Python attribute name (where the task id may come from)."""
    if op.request_type is None:
        return {}
    model = build_request(op.key, op.request_type, body)
    return {name: getattr(model, name) for name in model.__struct_fields__}


async def wait_for_task(
    session: Session,
    client: OzonClient,
    op: Operation,
    prepared: Prepared,
    body: dict[str, Any],
    options: WaitOptions,
) -> int:
    """Start the task, wait for it with progress, print its final status, download its file."""
    from ozon_async._tasks import TaskError, TaskTimeoutError, started_tasks, wait_started
    from ozon_async.cli._progress import Spinner
    from ozon_async.resources._registry import OPERATIONS

    task = op.task
    assert task is not None
    status_op = OPERATIONS[task.status]
    status_call = getattr(getattr(client, status_op.group), status_op.name)
    last_raw: list[bytes] = []
    terminal = options.progress and _isatty(sys.stderr)
    lines = options.progress and not terminal

    async def check(**kwargs: Any) -> Any:
        resp = await client.raw(status_call, **kwargs)
        last_raw[:] = [resp.content]
        return resp.parse()

    with Spinner(f"starting {dotted(op)}", enabled=terminal) as spinner:
        try:
            resp = await send_prepared(client, op, prepared)
            started = resp.parse(op.response_type) if op.response_type is not None else None
            arguments = _arguments(op, body)
            if task.tasks is not None:  # several tasks at once (one per label size...)
                task_id = ", ".join(str(i) for i, _ in started_tasks(op, started))
            else:
                from ozon_async._tasks import task_id_of

                task_id = task_id_of(op, started, arguments)
        except OzonError as exc:
            return session.report(exc)
        shown: list[str] = []
        checks = [0]

        def on_check(status: Any) -> None:
            from ozon_async._tasks import evaluate

            checks[0] += 1
            state = evaluate(task, status)[2] or "?"
            text = f"task {task_id}: {state} ({_plural(checks[0], 'check')})"
            spinner.update(f"waiting for {text}")
            if lines and (not shown or shown[-1] != state):
                session.say(f"ozon: {text}")
            shown.append(state)

        spinner.update(f"waiting for task {task_id}")
        if lines:
            session.say(f"ozon: {dotted(op)} started task {task_id}; checking {status_op.key}")
        try:
            result = await wait_started(
                client, op, started, arguments, timeout=options.max_wait,
                interval=options.interval, on_check=on_check, check=check,
            )  # fmt: skip
        except TaskTimeoutError as exc:
            session.say(
                f"ozon: task {exc.task_id} was still running after {_seconds(options, task)}; "
                f"check it later with: ozon call {dotted(status_op)} {task.param}={exc.task_id}"
            )
            return EXIT_API
        except OzonError as exc:
            return session.report(exc)
        saved = ""
        data: bytes | None = None
        if options.download is not None and result.ok:
            spinner.update(f"downloading the file of task {task_id}")
            try:
                saved, data = await _download(result, options.download)
            except (OzonError, TaskError) as exc:
                return session.report(exc)
    _print_outcome(data, last_raw, options)
    session.say(_summary(task_id, result) + (f"; {saved}" if saved else ""))
    return EXIT_OK if result.ok else EXIT_API


async def _download(result: Any, target_file: Path) -> tuple[str, bytes | None]:
    """Download the file(s) of a finished task: (what was written, the bytes for stdout)."""
    from ozon_async._tasks import TaskError

    data: bytes | None = None
    if len(result.tasks) > 1:  # a file per task: FILE-<kind>.ext
        if str(target_file) == "-":
            raise TaskError("several files: --download needs a file name, not -")
        paths = []
        for part in result.tasks:
            target = target_file
            name = f"{target.stem}-{part.kind or part.task_id}{target.suffix}"
            paths.append(await part.download(target.with_name(name)))
        saved = "written: " + ", ".join(f"{p} ({p.stat().st_size:,} bytes)" for p in paths)
    elif str(target_file) == "-":
        data = await result.download()
        saved = f"{len(data):,} bytes written to stdout"
    else:
        path = await result.download(target_file)
        saved = f"{path.stat().st_size:,} bytes written to {path}"
    return saved, data


def _summary(task_id: str, result: Any) -> str:
    """The last line: the task's state, checks, time, failed items and error."""
    summary = (
        f"ozon: task {task_id} {result.state or 'ended'} after "
        f"{_plural(result.checks, 'check')} ({result.elapsed:.0f} s)"
    )
    if result.failed_items:
        summary += f"; {_plural(len(result.failed_items), 'item')} failed"
    if result.error:
        summary += f": {result.error}"
    return summary


def _print_outcome(data: bytes | None, last_raw: list[bytes], options: WaitOptions) -> None:
    """The downloaded bytes (``--download -``), else the task's final status as JSON."""
    from ozon_async.cli._call import print_json, silence_stdout

    if data is not None:
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            silence_stdout()
    else:
        try:
            print_json(
                last_raw[-1] if last_raw else b"null",
                pretty=options.pretty if options.pretty is not None else _isatty(sys.stdout),
            )
        except BrokenPipeError:
            silence_stdout()


def _seconds(options: WaitOptions, task: Any) -> str:
    return f"{options.max_wait if options.max_wait is not None else task.timeout:g} s"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
