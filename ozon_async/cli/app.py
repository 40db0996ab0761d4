"""The ``ozon`` command (Click): ``ops``, ``call``, ``sandbox``, ``completion`` here, and one
command group per module: ``profiles`` (:mod:`~ozon_async.cli._profiles`), ``stocks``
(:mod:`~ozon_async.cli._stocks`), ``prices`` (:mod:`~ozon_async.cli._prices`; both push CSV
rows through :mod:`~ozon_async.cli._rows`), ``report`` (:mod:`~ozon_async.cli._report`),
``mcp`` (:mod:`~ozon_async.cli._mcp`), ``perf`` (:mod:`~ozon_async.cli._perf`) and ``push``
(:mod:`~ozon_async.cli.push`).

Adding a command group means writing a ``click.Group`` in its own module of this
package, decorating its commands with :func:`~ozon_async.cli._runner.connection_options`, using
:class:`~ozon_async.cli._runner.Session` for credentials, errors and exit codes,
:func:`~ozon_async.cli._runner.run_async` for the clean Ctrl-C stop,
:class:`~ozon_async.cli._progress.ExportProgress` (or a Rich spinner) for progress and
:mod:`~ozon_async.cli._output` for CSV/JSON Lines, then ``cli.add_command(group)`` at the end of
this module.

Exit codes: 0 success, 1 an API or network error (Ozon's message, code and trace id on stderr),
2 a usage or validation error (nothing sent), 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem

from ozon_async._exceptions import RequestValidationError
from ozon_async._version import __version__
from ozon_async.cli import _ops
from ozon_async.cli._input import BodyError, parse_body
from ozon_async.cli._runner import (
    CONTEXT,
    EXIT_OK,
    EXIT_USAGE,
    Connection,
    Session,
    connection_options,
    run_async,
)

if TYPE_CHECKING:
    from ozon_async._operation import Operation
    from ozon_async._request import Prepared

__all__ = ["cli"]


def _complete_operation(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of operation names (``group.method``, or paths)."""
    return [CompletionItem(name, help=summary) for name, summary in _ops.complete(incomplete)]


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="ozon")
def cli() -> None:
    """The Ozon Seller API from the command line (ozon_async).

    \b
    ozon ops stock                           find operations
    ozon ops posting.fbs_list_v4             parameters, limits, pagination
    ozon call warehouse.list_v2 limit:=100   call one
    ozon call posting.fbs_list_v4 --all --format csv --out postings.csv \\
        filter.since=2026-01-01T00:00:00Z filter.to=2026-02-01T00:00:00Z limit:=100
    ozon stocks push stocks.csv --report failed.csv
    ozon prices push prices.csv
    ozon report postings --since 2026-01-01 --to 2026-01-31 --out postings.csv
    ozon sandbox --port 8080                 a local mock of the API
    ozon mcp --sandbox                       the MCP server for AI assistants

    Credentials: --profile NAME (config file, see `ozon profiles`), --client-id/--api-key, or
    OZON_CLIENT_ID/OZON_API_KEY. Exit codes: 0 ok, 1 API error, 2 usage or validation error,
    130 interrupted.
    """


# ---------------------------------------------------------------------- ops
@cli.command(context_settings=CONTEXT)
@click.argument("text", nargs=-1, shell_complete=_complete_operation)
@click.option("-g", "--group", metavar="GROUP", help="Only operations of this group.")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
@click.option(
    "--all",
    "include_removed",
    is_flag=True,
    help="Also operations Ozon's reference no longer lists (removed).",
)
def ops(text: tuple[str, ...], group: str | None, as_json: bool, include_removed: bool) -> None:
    """Search operations by name, path, English summary, Chinese or Russian title; with an
    exact name, show its documentation.

    \b
    ozon ops                       every current operation (--all: removed ones too)
    ozon ops fbs list              words in any order, all must match
    ozon ops 库存                  Chinese titles
    ozon ops остатки               Russian titles and words, any case or form
    ozon ops -g posting
    ozon ops posting.fbs_list_v4   parameters, limits, pagination
    """
    query = " ".join(text)
    if group is not None and group.replace("-", "_") not in _ops.groups():
        wanted = group.replace("-", "_")
        if wanted + "_" not in _ops.groups():
            raise click.BadParameter(
                f"unknown group {group!r}; groups: {', '.join(_ops.groups())}",
                param_hint="--group",
            )
    if query and group is None and not as_json:
        try:
            op = _ops.find_operation(query)
        except _ops.UnknownOperation:
            pass
        else:
            click.echo(_ops.describe(op))
            return
    found = _ops.search(query, group, include_removed)
    if as_json:
        _print_ops_json(found)
        return
    if not found:
        hidden = [] if include_removed else _ops.search(query, group, include_removed=True)
        hint = f" ({len(hidden)} removed operations match; add --all)" if hidden else ""
        click.echo(f"ozon: no operation matches {query!r}{hint}", err=True)
        raise click.exceptions.Exit(1)
    if sys.stdout.isatty():
        _print_ops_table(found)
        return
    for o in found:
        flag = " (deprecated)" if o.deprecated and "deprecated" not in o.summary else ""
        if o.removed:
            flag = " (removed)"
        kind = "read" if o.safe else "write"
        click.echo(f"{_ops.dotted(o)}\t{o.key}\t{kind}\t{o.summary}{flag}")


def _print_ops_json(found: list[Operation]) -> None:
    """``ozon ops --json``: one object per operation."""
    import json

    rows = [
        {
            "name": _ops.dotted(o),
            "method": o.method,
            "path": o.path,
            "operation_id": o.operation_id,
            "summary": o.summary,
            "title_zh": _ops.title_zh(o),
            "title_ru": o.title_ru,
            "safe": o.safe,
            "deprecated": o.deprecated,
            "removed": o.removed,
            "paginated": o.pagination is not None,
            "subscription": list(o.subscription.any_of) if o.subscription else None,
        }
        for o in found
    ]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


def _print_ops_table(found: list[Operation]) -> None:
    """``ozon ops`` on a terminal: a table."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("operation", style="cyan", no_wrap=True)
    table.add_column("method and path", no_wrap=True)
    table.add_column("kind")
    table.add_column("summary")
    for o in found:
        summary = escape(o.summary)
        if o.removed:
            summary += " [dim](removed)[/dim]"
        elif o.deprecated and "deprecated" not in o.summary:
            summary += " [dim](deprecated)[/dim]"
        table.add_row(_ops.dotted(o), o.key, "read" if o.safe else "write", summary)
    Console().print(table)


# ---------------------------------------------------------------------- call
def _load_json_object(text: str, option: str) -> dict[str, Any]:
    """``--extra-body``: a JSON object as text or @file (:class:`BodyError` when unusable)."""
    from ozon_async._codec import InputError, decode_input_json

    raw: bytes | str
    if text.startswith("@"):
        try:
            raw = Path(text[1:]).expanduser().read_bytes()
        except OSError as exc:
            raise BodyError(f"{option}: cannot read {text[1:]}: {exc.strerror}") from None
    else:
        raw = text
    try:
        value = decode_input_json(raw)
    except InputError as exc:
        raise BodyError(f"{option}: {exc}") from None
    if not isinstance(value, dict):
        raise BodyError(f"{option}: must be a JSON object")
    return value


@cli.command(context_settings=CONTEXT)
@click.argument("operation", shell_complete=_complete_operation)
@click.argument("pairs", nargs=-1, metavar="[KEY=VALUE | KEY:=JSON]...")
@click.option(
    "--json",
    "json_body",
    metavar="JSON|@FILE|-",
    help="The request body: a JSON object, @file.json, or - for stdin (a piped stdin is read "
    "when no body is given). KEY=VALUE pairs are applied on top.",
)
@click.option(
    "--extra-body",
    metavar="JSON|@FILE",
    help="Top-level fields the spec lacks, added to the validated body as they are.",
)
@click.option("--all", "all_pages", is_flag=True, help="Walk every page; write the items.")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["json", "jsonl", "csv"]),
    help="json (one answer; default), or with --all: jsonl (default) or csv.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout (needed for binary answers such as PDF labels).",
)
@click.option(
    "--csv-sample",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    metavar="N",
    help="CSV columns come from the first N items; later new fields go to the _extra column.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress on stderr with --all and --wait (default: when stderr is a terminal).",
)
@click.option(
    "--pretty/--compact",
    default=None,
    help="Indented JSON (default on a terminal, with colour) or one line (default when piped).",
)
@click.option(
    "--dry-run", is_flag=True, help="Validate and print the body that would be sent; send nothing."
)
@click.option(
    "--wait",
    "wait_task",
    is_flag=True,
    help="For an operation that starts a background task (an import, a report): wait until "
    "it ends, showing its state, and print its final status.",
)
@click.option(
    "--download",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    metavar="FILE",
    help="With --wait: save the file the task made (a report) to FILE (- for stdout).",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="With --wait: how long to wait in all (default: the operation's own, from the spec).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="With --wait: the first pause between status checks; it grows by half after each "
    "(default: the operation's own).",
)
@connection_options
def call(
    operation: str,
    pairs: tuple[str, ...],
    json_body: str | None,
    extra_body: str | None,
    all_pages: bool,
    fmt: str | None,
    out: Path | None,
    csv_sample: int,
    progress: bool | None,
    pretty: bool | None,
    dry_run: bool,
    wait_task: bool,
    download: Path | None,
    max_wait: float | None,
    interval: float | None,
    conn: Connection,
) -> None:
    """Call OPERATION (group.method, "POST /v4/posting/fbs/list" or a path) and print the answer.

    \b
    ozon call warehouse.list_v2 limit:=100
    ozon call posting.fbs_list_v4 --json @body.json
    echo '{"limit": 100}' | ozon call warehouse.list_v2
    ozon call posting.fbs_list_v4 limit:=100 filter.since=2026-01-01T00:00:00Z \\
        filter.to=2026-01-31T23:59:59Z 'filter.statuses:=["delivered"]'
    ozon call posting.fbs_list_v4 --all --format csv --out postings.csv ...
    ozon call posting.fbs_package_label_v2 'posting_number:=["1-2-3"]' --out labels.pdf
    ozon call product.import_v3 --json @items.json --wait
    ozon call report.stocks_create_v1 --wait --download stocks.xlsx

    KEY=VALUE sets a string, KEY:=JSON any JSON value; KEY is a dotted path (filter.since),
    with [N] for list items (stocks[0].offer_id). The body is validated like a typed call: an
    invalid field is named and nothing is sent (exit code 2). Input must be UTF-8 text and may
    nest at most 200 levels deep.
    """
    try:
        op = _ops.find_operation(operation)
    except _ops.UnknownOperation as exc:
        raise click.BadParameter(str(exc), param_hint="OPERATION") from None
    _check_wait(op, wait_task, download, max_wait, interval, all_pages, out)
    fmt = _output_format(op, all_pages, fmt)

    session = Session.open(conn)
    try:
        body = parse_body(json_body, pairs, sys.stdin)
        extra = _load_json_object(extra_body, "--extra-body") if extra_body is not None else None
    except BodyError as exc:
        session.fail(EXIT_USAGE, f"ozon: {exc} (nothing was sent)")

    from ozon_async.cli._call import ExportOptions, call_once, export_all, prepare_body

    try:
        prepared = prepare_body(op, body, extra)
    except RequestValidationError as exc:
        session.exit(session.report(exc))
    if dry_run:
        _show_dry_run(session, op, prepared, pretty)
        session.exit(EXIT_OK)
    _refuse_binary_on_a_terminal(session, op, all_pages, out)
    client = session.client()

    async def work() -> int:
        async with client:
            if wait_task:
                from ozon_async.cli._wait import WaitOptions, wait_for_task

                waiting = WaitOptions(
                    download, max_wait, interval, _wants_progress(progress), pretty
                )
                return await wait_for_task(session, client, op, prepared, body or {}, waiting)
            if all_pages:
                options = ExportOptions(fmt, out, csv_sample, _wants_progress(progress))
                return await export_all(session, client, op, body, options, extra)
            return await call_once(session, client, op, prepared, out=out, pretty=pretty)

    session.exit(run_async(work))


def _check_wait(
    op: Operation,
    wait_task: bool,
    download: Path | None,
    max_wait: float | None,
    interval: float | None,
    all_pages: bool,
    out: Path | None,
) -> None:
    """``ozon call --wait``: its options go together, and only with an operation that starts a
    task."""
    if (download is not None or max_wait is not None or interval is not None) and not wait_task:
        raise click.UsageError("--download, --max-wait and --interval go with --wait")
    if wait_task:
        from ozon_async.cli._wait import task_problem

        problem = task_problem(op, download)
        if problem is not None:
            raise click.UsageError(problem)
        if all_pages or out is not None:
            raise click.UsageError("--wait prints the task's final status; use --download FILE")


def _refuse_binary_on_a_terminal(
    session: Session, op: Operation, all_pages: bool, out: Path | None
) -> None:
    """A binary answer (a PDF label) never goes to a terminal: it needs ``--out`` or a pipe."""
    binary = op.response_content_type != "application/json"
    if binary and not all_pages and out is None and sys.stdout.isatty():
        session.fail(
            EXIT_USAGE,
            f"ozon: {_ops.dotted(op)} answers {op.response_content_type}; save it with "
            "--out FILE (or pipe it)",
        )


def _output_format(op: Operation, all_pages: bool, fmt: str | None) -> str:
    """The ``--format`` of ``ozon call``: json for one answer; jsonl or csv with ``--all``."""
    if all_pages:
        if op.pagination is None:
            raise click.UsageError(
                f"{_ops.dotted(op)} is not paginated; --all needs a list operation "
                "(ozon ops NAME shows whether it is)"
            )
        fmt = fmt or "jsonl"
        if fmt == "json":
            raise click.BadParameter("with --all, use jsonl or csv", param_hint="--format")
        return fmt
    fmt = fmt or "json"
    if fmt != "json":
        raise click.BadParameter(f"{fmt} needs --all", param_hint="--format")
    return fmt


def _show_dry_run(session: Session, op: Operation, prepared: Prepared, pretty: bool | None) -> None:
    """``ozon call --dry-run``: what would be sent (the body on stdout)."""
    from ozon_async.cli._call import describe_body, print_json

    target = f"{op.method} {prepared.path}"
    if prepared.body is None:
        session.say(f"ozon: dry run: {target} would be sent with no body; nothing was sent")
    elif prepared.content_type is not None:
        session.say(
            f"ozon: dry run: {target} would be sent as {describe_body(prepared)}; nothing was sent"
        )
    else:
        session.say(f"ozon: dry run: {target} would be sent with this body; nothing was sent")
        print_json(prepared.body, pretty=True if pretty is None else pretty)


def _wants_progress(choice: bool | None) -> bool:
    from ozon_async.cli._progress import wants_progress

    return wants_progress(choice)


# ---------------------------------------------------------------------- sandbox
def _sandbox_command() -> list[str]:
    return [sys.executable, "-m", "ozon_async.testing"]


@cli.command(context_settings={**CONTEXT, "ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--host", metavar="HOST", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default 8080; 0: a free one).")
@click.option("--seed", type=int, help="Seed of the sandbox's generated data.")
@click.option("--speed", type=float, help="How fast the sandbox's clock runs.")
@click.pass_context
def sandbox(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    seed: int | None,
    speed: float | None,
) -> None:
    """Serve the local sandbox: a mock of the Ozon Seller API that touches no shop.

    It prints the Client-Id and Api-Key it accepts (--client-id/--api-key choose them,
    --any-key accepts any); point a client at it with --base-url. Other options are passed to
    `python -m ozon_async.testing` as they are (see its --help).
    """
    values = {"host": host, "port": port, "seed": seed, "speed": speed}
    argv: list[str] = []
    for name, value in values.items():
        if value is not None:
            argv += [f"--{name}", str(value)]
    argv += list(ctx.args)
    command = [*_sandbox_command(), *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**os.environ, "OZON_SANDBOX_PROG": "ozon sandbox"}
    if os.name == "posix":  # become the sandbox: signals and the exit code are its own
        os.execve(sys.executable, command, env)
    import subprocess

    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 130
    raise click.exceptions.Exit(code)


# ---------------------------------------------------------------------- profiles
# `ozon profiles [add|remove]`: ozon_async/cli/_profiles.py
def _add_profiles() -> None:
    from ozon_async.cli._profiles import profiles

    cli.add_command(profiles)


_add_profiles()


# ---------------------------------------------------------------------- completion
@cli.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script (operation names complete too).

    \b
    bash:  eval "$(ozon completion bash)"      (e.g. in ~/.bashrc)
    zsh:   eval "$(ozon completion zsh)"       (e.g. in ~/.zshrc)
    fish:  ozon completion fish > ~/.config/fish/completions/ozon.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "ozon", "_OZON_COMPLETE").source())


# ---------------------------------------------------------------------- workflows
def _add_workflows() -> None:
    from ozon_async.cli._mcp import mcp
    from ozon_async.cli._prices import prices
    from ozon_async.cli._report import report
    from ozon_async.cli._stocks import stocks

    for command in (stocks, prices, report, mcp):
        cli.add_command(command)
    from ozon_async.cli import _perf  # the Performance (advertising) API

    cli.add_command(_perf.perf)


_add_workflows()


def _add_push() -> None:
    from ozon_async.cli.push import push

    cli.add_command(push)


_add_push()
