"""Named credentials ("profiles") from a TOML config file, shared by the CLI and the MCP server.

::

    # ~/.config/ozon-async/config.toml  (chmod 600: the file holds keys)
    default_profile = "main"

    [profiles.main]
    client_id = "123456"
    api_key = "..."

    [profiles.second]
    client_id = "654321"
    api_key = "..."
    base_url = "https://api-seller.ozon.ru"

A file that holds a key or token must not be readable by the group or others: it is refused.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ozon_async._exceptions import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

__all__ = ["Profile", "config_path", "load_profiles", "resolve_profile"]

_FIELDS = ("client_id", "api_key", "access_token", "base_url")
_SECRETS = ("api_key", "access_token")


@dataclass(frozen=True)
class Profile:
    """One shop's credentials. ``api_key`` and ``access_token`` never appear in the repr."""

    name: str
    client_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    base_url: str | None = None


def config_path() -> Path:
    """``$OZON_ASYNC_CONFIG``, else ``$XDG_CONFIG_HOME/ozon-async/config.toml``, else
    ``~/.config/ozon-async/config.toml``."""
    explicit = os.environ.get("OZON_ASYNC_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "ozon-async" / "config.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read the config file {path}: {exc}") from None
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"the config file {path} is not valid TOML: {exc}") from None
    return data


def _check_private(path: Path, profiles: dict[str, Profile]) -> None:
    if os.name != "posix" or not any(getattr(p, s) for p in profiles.values() for s in _SECRETS):
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"the config file {path} holds API keys but others can read it "
            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )


def _load(path: Path) -> tuple[dict[str, Profile], str | None]:
    data = _read(path)
    if not data:
        return {}, None
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        raise ConfigurationError(f"{path}: `profiles` must be a table of [profiles.<name>] tables")
    profiles: dict[str, Profile] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigurationError(f"{path}: [profiles.{name}] must be a table")
        unknown = sorted(set(table) - set(_FIELDS))
        if unknown:
            raise ConfigurationError(
                f"{path}: [profiles.{name}] has unknown keys: {', '.join(unknown)} "
                f"(known: {', '.join(_FIELDS)})"
            )
        values: dict[str, str | None] = {}
        for key in _FIELDS:
            value = table.get(key)
            if value is not None and not isinstance(value, (str, int)):
                raise ConfigurationError(f"{path}: profiles.{name}.{key} must be a string")
            values[key] = None if value is None else str(value)
        profiles[name] = Profile(name=name, **values)
    _check_private(path, profiles)
    default = data.get("default_profile")
    if default is not None and (not isinstance(default, str) or default not in profiles):
        raise ConfigurationError(
            f"{path}: default_profile = {default!r} is not one of the profiles "
            f"({', '.join(sorted(profiles)) or 'none defined'})"
        )
    return profiles, default


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    """Every ``[profiles.<name>]`` of the config file (empty when the file does not exist)."""
    return _load(path or config_path())[0]


def resolve_profile(
    name: str | None = None,
    *,
    client_id: str | None = None,
    api_key: str | None = None,
    access_token: str | None = None,
    base_url: str | None = None,
    path: Path | None = None,
) -> Profile:
    """The credentials to use: explicit values first, then the named profile (or the file's
    ``default_profile``), then ``OZON_CLIENT_ID``, ``OZON_API_KEY``, ``OZON_ACCESS_TOKEN`` and
    ``OZON_BASE_URL``. A ``name`` that the file does not define is an error."""
    profiles, default = _load(path or config_path())
    chosen = name or default
    if chosen is not None and chosen not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(
            f"no profile {chosen!r} in {path or config_path()} (known: {known})"
        )
    base = profiles.get(chosen) if chosen else None
    env = os.environ

    def pick(explicit: str | None, key: str, var: str) -> str | None:
        if explicit is not None:
            return explicit
        if base is not None:
            value: str | None = getattr(base, key)
            return value
        return env.get(var) or None

    return Profile(
        name=chosen or "default",
        client_id=pick(client_id, "client_id", "OZON_CLIENT_ID"),
        api_key=pick(api_key, "api_key", "OZON_API_KEY"),
        access_token=pick(access_token, "access_token", "OZON_ACCESS_TOKEN"),
        base_url=pick(base_url, "base_url", "OZON_BASE_URL"),
    )
