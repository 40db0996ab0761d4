"""``ozon profiles``: list the profiles of the config file, ``add`` one, ``remove`` one.

The file is read and written by :mod:`ozon_async.profiles`: it is refused when another user owns
it or can change it (or its directory), and written as a ``0600`` file (in a ``0700`` directory
when the command creates it). Keys are never printed and never taken from the command line:
``add`` asks for the key (hidden) on a terminal, or reads it from the first line of standard
input (``printenv OZON_API_KEY | ozon profiles add main --client-id 123``).
"""

from __future__ import annotations

import sys

import click

from ozon_async._exceptions import ConfigurationError
from ozon_async.cli._runner import CONTEXT, EXIT_USAGE

__all__ = ["profiles"]


EXAMPLE = """\
default_profile = "main"

[profiles.main]
client_id = "123456"
api_key = "..."

[profiles.sandbox]
client_id = "1"
api_key = "test"
base_url = "http://127.0.0.1:8080"
allow_custom_base_url = true
"""


def _fail(exc: ConfigurationError) -> click.exceptions.Exit:
    click.echo(f"ozon: {exc}", err=True)
    return click.exceptions.Exit(EXIT_USAGE)


@click.group(context_settings=CONTEXT, invoke_without_command=True)
@click.pass_context
def profiles(ctx: click.Context) -> None:
    """List the profiles of the config file (never their keys) and where the file is;
    `add` and `remove` edit it.

    \b
    ozon profiles
    ozon profiles add main --client-id 123456 --default     (asks for the API key)
    ozon profiles add sandbox --client-id 1 --base-url http://127.0.0.1:8080
    ozon profiles remove sandbox
    """
    if ctx.invoked_subcommand is not None:
        return
    from ozon_async.profiles import config_path, default_profile_name, load_profiles

    path = config_path()
    try:
        found = load_profiles(path)
        default = default_profile_name(path)
    except ConfigurationError as exc:
        raise _fail(exc) from None
    if not path.exists():
        click.echo(
            f"no config file at {path}; create one with `ozon profiles add NAME --client-id ID`, "
            f"or write it (then chmod 600 {path}):\n",
            err=True,
        )
        click.echo(EXAMPLE, err=True, nl=False)
        return
    click.echo(f"# {path}", err=True)
    for name, p in found.items():
        auth = "oauth token" if p.access_token else ("api key" if p.api_key else "no secret")
        mark = "  (default)" if name == default else ""
        click.echo(
            f"{name}\tclient_id={p.client_id or '-'}\t{auth}\tbase_url={p.base_url or '-'}{mark}"
        )


def _read_secret(what: str) -> str | None:
    """The secret from a hidden prompt on a terminal, else the first line of stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        value: str = click.prompt(
            f"{what} (hidden; empty for none)", hide_input=True, default="", show_default=False
        )
    else:
        value = sys.stdin.readline() if sys.stdin is not None else ""
    value = value.strip()
    return value or None


@profiles.command(context_settings=CONTEXT)
@click.argument("name")
@click.option("--client-id", metavar="ID", help="The seller's Client-Id.")
@click.option(
    "--token",
    "use_token",
    is_flag=True,
    help="Ask for an OAuth access token (apps from Ozon's marketplace) instead of an API key.",
)
@click.option(
    "--no-secret", is_flag=True, help="Store no key or token (they come from the environment)."
)
@click.option(
    "--base-url",
    metavar="URL",
    help="Where to send requests (the sandbox, a proxy); a URL that is not Ozon's is written "
    "with allow_custom_base_url = true.",
)
@click.option("--default", "make_default", is_flag=True, help="Make it the default profile.")
@click.option("--replace", is_flag=True, help="Replace a profile of the same name.")
def add(
    name: str,
    client_id: str | None,
    use_token: bool,
    no_secret: bool,
    base_url: str | None,
    make_default: bool,
    replace: bool,
) -> None:
    """Add profile NAME to the config file (created 0600, in a 0700 directory).

    The API key (or, with --token, the access token) is asked for on a terminal without echo,
    or read from the first line of standard input; it is never an option, since other users can
    see command lines.
    """
    from ozon_async._config import check_base_url
    from ozon_async.profiles import add_profile, is_ozon_url

    what = "access token" if use_token else "API key"
    if base_url is not None:
        try:
            check_base_url(base_url, allow_insecure=True)
        except ConfigurationError as exc:
            raise _fail(exc) from None
    secret = None if no_secret else _read_secret(what)
    if secret is None and not no_secret:
        click.echo(f"ozon: no {what} given (pass --no-secret to store none)", err=True)
        raise click.exceptions.Exit(EXIT_USAGE)
    try:
        path = add_profile(
            name,
            client_id=client_id,
            api_key=None if use_token else secret,
            access_token=secret if use_token else None,
            base_url=base_url,
            make_default=make_default,
            replace=replace,
        )
    except ConfigurationError as exc:
        raise _fail(exc) from None
    notes = []
    if make_default:
        notes.append("the default")
    if base_url is not None and not is_ozon_url(base_url):
        notes.append(f"sending to {base_url}, not Ozon's API")
    extra = f" ({'; '.join(notes)})" if notes else ""
    click.echo(f"ozon: profile {name!r} saved in {path}{extra}", err=True)


@profiles.command(context_settings=CONTEXT)
@click.argument("name")
def remove(name: str) -> None:
    """Remove profile NAME (and its key) from the config file."""
    from ozon_async.profiles import remove_profile

    try:
        path, was_default = remove_profile(name)
    except ConfigurationError as exc:
        raise _fail(exc) from None
    extra = "; it was the default profile, so there is none now" if was_default else ""
    click.echo(f"ozon: profile {name!r} removed from {path}{extra}", err=True)
