"""Waiting for Ozon's background tasks: product imports, reports, warehouse operations...

An operation with ``x-ozon-task`` starts a task that another operation reports on.
``await client.product.import_v3.and_wait(items=[...])`` starts it, then asks the status operation
with growing pauses (from the spec's suggested interval, up to six times it) until the task is
done or failed, or the timeout passes. Waits use the client's clock, so tests advance time
instead of sleeping. Status checks are reads: the client retries their transient failures.

A call that starts several tasks at once (FBS labels: one task per label size) is waited for
task by task within one timeout; the result lists them in ``.tasks``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ozon_async._exceptions import OzonError
from ozon_async._operation import Operation, Task
from ozon_async._path import dig

if TYPE_CHECKING:
    from ozon_async._download import Progress
    from ozon_async._runtime import Host

__all__ = [
    "TaskError",
    "TaskFailedError",
    "TaskResult",
    "TaskTimeoutError",
    "wait_started",
    "wait_task",
]

R = TypeVar("R")
S = TypeVar("S")

#: The waiter's pause grows by this factor after each check, up to ``MAX_INTERVAL_FACTOR``
#: times the suggested interval.
BACKOFF_FACTOR = 1.5
MAX_INTERVAL_FACTOR = 6.0


class TaskError(OzonError):
    """A problem with a background task; ``task_id`` and ``operation`` say which."""

    def __init__(self, message: str, *, task_id: Any = None, operation: str = "") -> None:
        self.task_id = task_id
        self.operation = operation
        super().__init__(f"{operation}: task {task_id}: {message}" if operation else message)


class TaskTimeoutError(TaskError):
    """The task was still running when the timeout passed; ``last_status`` is the last status
    answer. Resume with ``.wait(task_id)`` on the same method."""

    def __init__(self, message: str, *, task_id: Any, operation: str, last_status: Any) -> None:
        self.last_status = last_status
        super().__init__(message, task_id=task_id, operation=operation)


class TaskFailedError(TaskError):
    """Raised by :meth:`TaskResult.raise_for_failed` and when downloading the file of a task
    that failed; ``result`` is the task's final :class:`TaskResult`."""

    def __init__(self, result: TaskResult[Any, Any]) -> None:
        self.result = result
        why = result.error or f"state {result.state!r}"
        if result.failed_items:
            n = len(result.failed_items)
            why += f"; {n} item{'' if n == 1 else 's'} failed"
        super().__init__(f"failed: {why}", task_id=result.task_id, operation=result.operation)


@dataclass
class TaskResult(Generic[R, S]):
    """The end of a background task.

    Attributes:
        task_id: the id the status operation takes (task id, report code, operation id...).
        operation: ``"METHOD /path"`` of the operation that started it.
        ok: ``True`` when it ended in a done state (for per-item tasks: no item failed).
        state: the final task state; for per-item tasks ``"done"`` or ``"failed"``.
        status: the last answer of the status operation (the typed model).
        started: the answer of the call that started the task (``None`` with ``.wait(id)``).
        items: per-item entries of the status (imports), each with its state and errors.
        failed_items: the entries whose state is a failed state.
        file_url: the URL of the file the task produced (reports), if any.
        error: the task-level error message, if Ozon gave one.
        checks: how many times the status was asked.
        elapsed: seconds spent waiting (by the client's clock).
        kind: what tells this task apart from the others the same call started (a label
            size: ``"big_label"``, ``"small_label"``), if the call starts several.
        tasks: for a call that starts several tasks, the result of each, in the order of
            Ozon's answer. The result itself then sums them up: ``task_id`` is the tuple of
            their ids, ``ok`` is true when every task ended well, ``status`` is the first
            task's last status, ``error`` joins their errors, and ``file_url`` is set only when
            there is one task (take each file from ``.tasks`` or :meth:`task`).
    """

    task_id: Any
    operation: str
    ok: bool
    state: str | None
    status: S
    started: R | None
    items: list[Any] = field(default_factory=list)
    failed_items: list[Any] = field(default_factory=list)
    file_url: str | None = None
    error: str | None = None
    checks: int = 0
    elapsed: float = 0.0
    kind: str | None = None
    tasks: list[TaskResult[R, S]] = field(default_factory=list)
    _client: Host | None = field(default=None, repr=False, compare=False)

    def task(self, kind: str) -> TaskResult[R, S]:
        """The result of the task of this ``kind`` among :attr:`tasks` (``"small_label"``)."""
        for t in self.tasks:
            if t.kind == kind:
                return t
        kinds = ", ".join(str(t.kind) for t in self.tasks) or "none"
        raise TaskError(
            f"no {kind!r} task among those started (kinds: {kinds})",
            task_id=self.task_id,
            operation=self.operation,
        )

    def raise_for_failed(self) -> None:
        """Raise :class:`TaskFailedError` unless the task ended well."""
        if not self.ok:
            raise TaskFailedError(self)

    @overload
    async def download(self, path: None = None, *, progress: Progress | None = None) -> bytes: ...

    @overload
    async def download(self, path: str | Path, *, progress: Progress | None = None) -> Path: ...

    async def download(
        self, path: str | Path | None = None, *, progress: Progress | None = None
    ) -> bytes | Path:
        """Download the file the task produced (a report): to ``path``, or as bytes.

        Downloaded as :meth:`OzonClient.download` does: no Ozon credentials are sent to the
        file's host. Raises :class:`TaskFailedError` when the task failed, :class:`TaskError` when it
        produced no file.
        """
        if not self.ok:
            raise TaskFailedError(self)
        if not self.file_url and len(self.tasks) > 1:
            kinds = ", ".join(str(t.kind) for t in self.tasks)
            raise TaskError(
                f"the call started {len(self.tasks)} tasks ({kinds}), each with its own file: "
                "download one of .tasks, e.g. .task(kind).download()",
                task_id=self.task_id,
                operation=self.operation,
            )
        if not self.file_url:
            raise TaskError(
                "the task produced no file URL", task_id=self.task_id, operation=self.operation
            )
        if self._client is None:
            raise TaskError("this result is not bound to a client", task_id=self.task_id)
        from ozon_async._download import download

        return await download(self._client.runtime, self.file_url, to=path, progress=progress)


def task_id_of(op: Operation, started: Any, arguments: Mapping[str, Any]) -> Any:
    """The task id from the starting call's answer (or its arguments)."""
    t = op.task
    assert t is not None
    if t.tasks is not None:
        raise TaskError(
            "the call starts several tasks (one per "
            + (t.kind or "entry")
            + "): wait for them with .and_wait() (wait_started), or for one with .wait(task_id)",
            operation=op.key,
        )
    if t.id_from_request is not None:
        value = arguments.get(t.id_from_request)
        if value is not None and value != "":
            return value
    for path in t.id:
        value = dig(started, path)
        if value is not None and value != "" and value != 0:
            return value
    raise TaskError("Ozon's answer carries no task id", operation=op.key)


def started_tasks(op: Operation, started: Any) -> list[tuple[Any, str | None]]:
    """(task id, kind) of every task in the starting answer of an operation that starts several
    (``tasks`` in its ``x-ozon-task``)."""
    t = op.task
    assert t is not None and t.tasks is not None
    out: list[tuple[Any, str | None]] = []
    for entry in dig(started, t.tasks) or ():
        task_id = next(
            (
                v
                for v in (dig(entry, path) for path in t.id)
                if v is not None and v != "" and v != 0
            ),
            None,
        )
        if task_id is None:
            raise TaskError(f"a task in Ozon's answer carries no id: {entry!r}", operation=op.key)
        kind = dig(entry, (t.kind,)) if t.kind else None
        out.append((task_id, None if kind is None else str(kind)))
    if not out:
        raise TaskError("Ozon's answer lists no task", operation=op.key)
    return out


async def wait_started(
    client: Host,
    op: Operation,
    started: Any,
    arguments: Mapping[str, Any],
    *,
    timeout: float | None = None,
    interval: float | None = None,
    on_check: Callable[[Any], object] | None = None,
    check: Callable[..., Awaitable[Any]] | None = None,
) -> TaskResult[Any, Any]:
    """Wait for what the call that answered ``started`` began: its task, or each of its tasks in
    turn (``tasks`` in ``x-ozon-task``) within one ``timeout`` in all. ``check`` as for
    :func:`wait_task`."""
    t = op.task
    assert t is not None
    if t.tasks is None:
        return await wait_task(
            client,
            op,
            task_id_of(op, started, arguments),
            started=started,
            timeout=timeout,
            interval=interval,
            on_check=on_check,
            check=check,
        )
    ids = started_tasks(op, started)
    limit = t.timeout if timeout is None else timeout
    clock = client.runtime.clock
    begin = clock.now()
    results: list[TaskResult[Any, Any]] = []
    for n, (task_id, kind) in enumerate(ids):
        left = max(0.0, limit - (clock.now() - begin))
        result = await wait_task(
            client,
            op,
            task_id,
            started=started,
            timeout=left,
            interval=interval,
            # the first waits its interval; the others ran meanwhile: check them at once
            first_check_after=None if n == 0 else 0.0,
            on_check=on_check,
            check=check,
        )
        result.kind = kind
        results.append(result)
    failed = [r for r in results if not r.ok]
    errors = [f"{r.kind or r.task_id}: {r.error}" for r in results if r.error]
    return TaskResult(
        task_id=tuple(task_id for task_id, _ in ids),
        operation=op.key,
        ok=not failed,
        state="failed" if failed else "done",
        status=results[0].status,
        started=started,
        file_url=results[0].file_url if len(results) == 1 else None,
        error="; ".join(errors) or None,
        checks=sum(r.checks for r in results),
        elapsed=clock.now() - begin,
        tasks=results,
        _client=client,
    )


def evaluate(t: Task, status: Any) -> tuple[bool, bool, str | None, list[Any], list[Any]]:
    """(finished, ok, state, items, failed items) of one status answer."""
    if t.items is not None:
        assert t.item_state is not None
        items = list(dig(status, t.items) or ())
        states = [dig(e, (t.item_state,)) for e in items]
        ended = set(t.done) | set(t.failed)
        failed = [e for e, s in zip(items, states, strict=True) if s in t.failed]
        finished = bool(items) and all(s in ended for s in states)
        state = ("failed" if failed else "done") if finished else "running"
        return finished, finished and not failed, state, items, failed
    assert t.state is not None
    state = dig(status, t.state)
    text = None if state is None else str(state)
    if text in t.done:
        return True, True, text, [], []
    if text in t.failed:
        return True, False, text, [], []
    return False, False, text, [], []


async def wait_task(
    client: Host,
    op: Operation,
    task_id: Any,
    *,
    started: Any = None,
    timeout: float | None = None,
    interval: float | None = None,
    first_check_after: float | None = None,
    on_check: Callable[[Any], object] | None = None,
    check: Callable[..., Awaitable[Any]] | None = None,
) -> TaskResult[Any, Any]:
    """Ask the status operation of ``op``'s task until it ends or ``timeout`` seconds pass.

    Args:
        timeout: seconds to wait in all (default: the spec's ``timeout``); ``0`` checks once.
        interval: first pause between checks (default: the spec's ``interval``); it grows by
            half after each check, up to six times the first.
        first_check_after: pause before the first check (default: ``interval``; ``0`` checks at
            once, as when resuming a task started earlier).
        on_check: called with each status answer (progress reporting).
        check: the status call, given the task id as its keyword argument (default: the
            client's typed method of the status operation); the command line passes one that
            also keeps the answer as Ozon sent it.
    """
    t = op.task
    if t is None:
        raise TypeError(f"{op.key} does not start a task")
    limit = t.timeout if timeout is None else timeout
    pause = t.interval if interval is None else interval
    if limit < 0 or pause <= 0:
        raise ValueError("timeout must not be negative and interval must be positive")
    status_op = client.runtime.operations[t.status]
    if check is None:
        check = getattr(getattr(client, status_op.group), status_op.name)
    fixed = dict(t.status_args)
    clock = client.runtime.clock
    begin = clock.now()
    delay = pause if first_check_after is None else first_check_after
    cap = pause * MAX_INTERVAL_FACTOR
    step = pause
    checks = 0
    while True:
        elapsed = clock.now() - begin
        delay = min(delay, max(0.0, limit - elapsed))  # the last check falls on the deadline
        if delay > 0:
            await clock.sleep(delay)
        status = await check(**fixed, **{t.param: task_id})
        checks += 1
        if on_check is not None:
            on_check(status)
        finished, ok, state, items, failed = evaluate(t, status)
        elapsed = clock.now() - begin
        if finished:
            error = dig(status, t.error) if t.error else None
            return TaskResult(
                task_id=task_id,
                operation=op.key,
                ok=ok,
                state=state,
                status=status,
                started=started,
                items=items,
                failed_items=failed,
                file_url=(dig(status, t.file) or None) if t.file else None,
                error=(str(error) or None) if error is not None else None,
                checks=checks,
                elapsed=elapsed,
                _client=client,
            )
        if elapsed >= limit:
            raise TaskTimeoutError(
                f"still {state or 'running'} after {elapsed:g} s "
                f"({checks} check{'' if checks == 1 else 's'})",
                task_id=task_id,
                operation=op.key,
                last_status=status,
            )
        delay = step
        step = min(cap, step * BACKOFF_FACTOR)
