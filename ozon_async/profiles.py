"""Named credentials ("profiles") from a TOML config file, shared by the command line and servers.

The file (``config_path()``: ``$OZON_ASYNC_CONFIG``, else ``$XDG_CONFIG_HOME/ozon-async/config.toml``,
else ``~/.config/ozon-async/config.toml``)::

    default_profile = "main"

    [profiles.main]
    client_id = "123456"
    api_key = "..."

    [profiles.sandbox]
    client_id = "1"
    api_key = "test"
    base_url = "http://127.0.0.1:8080"

    [profiles.app]            # an app from Ozon's marketplace, with an OAuth token
    access_token = "..."

    [profiles.ads]            # the Performance (advertising) API, beside or instead of the above
    performance_client_id = "12345678-1700000000000@advertising.performance.ozon.ru"
    performance_client_secret = "..."

A file that holds a key or a token must be readable by its owner only (``chmod 600``); otherwise
it is refused, as ssh refuses a private key others can read. Unknown keys are refused too, so a
misspelt ``api-key`` is reported instead of silently ignored.

:func:`resolve_profile` combines the sources: arguments given explicitly, then the named profile
(or ``$OZON_PROFILE``, or the file's ``default_profile``), then the environment (``OZON_CLIENT_ID``,
``OZON_API_KEY``, ``OZON_ACCESS_TOKEN``, ``OZON_BASE_URL``; for the Performance API
``OZON_PERFORMANCE_CLIENT_ID``, ``OZON_PERFORMANCE_CLIENT_SECRET``, ``OZON_PERFORMANCE_ACCESS_TOKEN``,
``OZON_PERFORMANCE_BASE_URL``).

This module imports nothing outside the standard library at import time (``tomli`` on Python 3.10
only when a file is read).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ozon_async._exceptions import ConfigurationError

__all__ = [
    "ENV_ACCESS_TOKEN",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_CLIENT_ID",
    "ENV_CONFIG",
    "ENV_PROFILE",
    "Profile",
    "config_path",
    "load_profiles",
    "resolve_profile",
]

ENV_CONFIG = "OZON_ASYNC_CONFIG"
ENV_PROFILE = "OZON_PROFILE"
ENV_CLIENT_ID = "OZON_CLIENT_ID"
ENV_API_KEY = "OZON_API_KEY"
ENV_ACCESS_TOKEN = "OZON_ACCESS_TOKEN"
ENV_BASE_URL = "OZON_BASE_URL"
ENV_PERFORMANCE_CLIENT_ID = "OZON_PERFORMANCE_CLIENT_ID"
ENV_PERFORMANCE_CLIENT_SECRET = "OZON_PERFORMANCE_CLIENT_SECRET"
ENV_PERFORMANCE_ACCESS_TOKEN = "OZON_PERFORMANCE_ACCESS_TOKEN"
ENV_PERFORMANCE_BASE_URL = "OZON_PERFORMANCE_BASE_URL"

#: The keys of the Performance (advertising) API's credentials, and their variables.
_PERFORMANCE_ENV = {
    "performance_client_id": ENV_PERFORMANCE_CLIENT_ID,
    "performance_client_secret": ENV_PERFORMANCE_CLIENT_SECRET,
    "performance_access_token": ENV_PERFORMANCE_ACCESS_TOKEN,
    "performance_base_url": ENV_PERFORMANCE_BASE_URL,
}
_PROFILE_KEYS = ("client_id", "api_key", "access_token", "base_url", *_PERFORMANCE_ENV)
_SECRET_KEYS = ("api_key", "access_token", "performance_client_secret", "performance_access_token")
_TOP_KEYS = ("default_profile", "profiles")


@dataclass(frozen=True)
class Profile:
    """One set of credentials. ``api_key`` and ``access_token`` never appear in the repr.

    Attributes:
        name: the profile's name (``"<environment>"`` or ``"<arguments>"`` when it was not read
            from the config file).
        client_id: the seller's Client-Id.
        api_key: the API key (sent with the Client-Id).
        access_token: an OAuth access token (apps from Ozon's app marketplace), used instead of the
            Client-Id and key.
        base_url: where to send requests (the sandbox, a proxy); ``None`` for Ozon's API.
        performance_client_id, performance_client_secret: a service account of the
            Performance (advertising) API.
        performance_access_token: an OAuth token for the Performance API instead.
        performance_base_url: where to send Performance API requests (the sandbox's).
    """

    name: str
    client_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    base_url: str | None = None
    performance_client_id: str | None = None
    performance_client_secret: str | None = field(default=None, repr=False)
    performance_access_token: str | None = field(default=None, repr=False)
    performance_base_url: str | None = None

    @property
    def has_performance_credentials(self) -> bool:
        """``True`` when the profile can use the Performance API: a client id with its secret,
        or a token."""
        return bool(self.performance_access_token) or bool(
            self.performance_client_id and self.performance_client_secret
        )

    def performance_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`ozon_async.performance.OzonPerformanceClient` (only
        the settings that are set)."""
        out: dict[str, Any] = {}
        if self.performance_access_token is not None:
            out["access_token"] = self.performance_access_token
            if self.performance_client_id is not None:
                out["client_id"] = self.performance_client_id
        elif self.performance_client_secret is not None:
            out["client_id"] = self.performance_client_id
            out["client_secret"] = self.performance_client_secret
        elif self.performance_client_id is not None:
            out["client_id"] = self.performance_client_id
        if self.performance_base_url is not None:
            out["base_url"] = self.performance_base_url
        return out

    @property
    def has_credentials(self) -> bool:
        """``True`` when the profile can authenticate: a Client-Id with a key, or a token."""
        return bool(self.access_token) or bool(self.client_id and self.api_key)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`ozon_async.OzonClient` (only the settings that are set;
        ``access_token`` only when the profile uses one)."""
        out: dict[str, Any] = {}
        if self.client_id is not None:
            out["client_id"] = self.client_id
        if self.api_key is not None:
            out["api_key"] = self.api_key
        if self.access_token is not None:
            out["access_token"] = self.access_token
        if self.base_url is not None:
            out["base_url"] = self.base_url
        return out


def config_path() -> Path:
    """Where the config file is: ``$OZON_ASYNC_CONFIG``, else
    ``$XDG_CONFIG_HOME/ozon-async/config.toml``, else ``~/.config/ozon-async/config.toml``."""
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "ozon-async" / "config.toml"


def _toml_loads(text: str, path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        try:
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ConfigurationError(
                f"reading {path} on Python 3.10 needs the tomli package: "
                "pip install 'ozon-async[cli]'"
            ) from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    return data


def _check_private(path: Path, st: os.stat_result) -> None:
    """Refuse a secrets file that users other than its owner may read or change (POSIX only)."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise ConfigurationError(
            f"{path} holds API keys or tokens but is accessible by other users "
            f"(mode {mode:04o}); make it private with: chmod 600 {path}"
        )


def _string(value: Any, where: str, *, allow_int: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int) if allow_int else str):
        kind = "a string or an integer" if allow_int else "a string"
        raise ConfigurationError(f"{where} must be {kind}, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ConfigurationError(f"{where} is empty")
    return text


def _parse(data: Mapping[str, Any], path: Path) -> tuple[dict[str, Profile], str | None]:
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown top-level keys {unknown}; expected 'default_profile' and "
            "[profiles.<name>] tables"
        )
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise ConfigurationError(f"{path}: 'profiles' must be a table of [profiles.<name>] tables")
    profiles: dict[str, Profile] = {}
    for name, table in raw_profiles.items():
        where = f"{path}: [profiles.{name}]"
        if not isinstance(table, dict):
            raise ConfigurationError(f"{where} must be a table")
        bad = sorted(set(table) - set(_PROFILE_KEYS))
        if bad:
            raise ConfigurationError(
                f"{where}: unknown keys {bad}; allowed: {', '.join(_PROFILE_KEYS)}"
            )
        values = {
            key: _string(table[key], f"{where} {key}", allow_int=key == "client_id")
            for key in _PROFILE_KEYS
            if key in table
        }
        profiles[name] = Profile(name=name, **values)
    default = data.get("default_profile")
    if default is not None:
        default = _string(default, f"{path}: default_profile")
        if default not in profiles:
            raise ConfigurationError(
                f"{path}: default_profile {default!r} is not one of the profiles "
                f"({', '.join(sorted(profiles)) or 'none defined'})"
            )
    return profiles, default


def _read(path: Path | None) -> tuple[Path, dict[str, Profile], str | None, bool]:
    """(path, profiles, default profile, whether the file exists)."""
    target = path if path is not None else config_path()
    try:
        st = target.stat()
        raw = target.read_bytes()
    except FileNotFoundError:
        return target, {}, None, False
    except OSError as exc:
        raise ConfigurationError(f"cannot read {target}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{target}: not UTF-8 text") from None
    data = _toml_loads(text, target)
    profiles, default = _parse(data, target)
    if any(getattr(p, key) for p in profiles.values() for key in _SECRET_KEYS):
        _check_private(target, st)
    return target, profiles, default, True


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    """The profiles of the config file (``{}`` when the file does not exist).

    Raises :class:`ConfigurationError` for invalid TOML, unknown keys, wrong value types, a
    ``default_profile`` naming no profile, or a file holding secrets that other users can access.
    """
    return _read(path)[1]


def default_profile_name(path: Path | None = None) -> str | None:
    """The file's ``default_profile``, if it sets one."""
    return _read(path)[2]


def resolve_profile(
    name: str | None = None,
    *,
    client_id: str | int | None = None,
    api_key: str | None = None,
    access_token: str | None = None,
    base_url: str | None = None,
    path: Path | None = None,
) -> Profile:
    """The settings to use, from the highest-priority source that has each.

    Precedence: the explicit arguments, then the profile ``name`` (or, without a name,
    ``$OZON_PROFILE``, then the file's ``default_profile``), then the environment
    (``OZON_CLIENT_ID``, ``OZON_API_KEY``, ``OZON_ACCESS_TOKEN``, ``OZON_BASE_URL``).

    The secret (an API key or an access token) comes as a whole from the first source that has
    one: a token given on the command line is not combined with a key from the environment.
    ``client_id`` and ``base_url`` are taken from the first source that sets them.

    Raises :class:`ConfigurationError` when ``name`` is not a profile of the file (or the file is
    invalid or readable by others). The result may lack credentials; check
    :attr:`Profile.has_credentials`.
    """
    wanted = name or os.environ.get(ENV_PROFILE) or None
    target, profiles, default, exists = _read(path)
    profile: Profile | None = None
    if wanted is not None:
        if not exists:
            raise ConfigurationError(f"profile {wanted!r} asked for, but there is no {target}")
        profile = profiles.get(wanted)
        if profile is None:
            raise ConfigurationError(
                f"no profile {wanted!r} in {target} "
                f"(profiles: {', '.join(sorted(profiles)) or 'none'})"
            )
    elif default is not None:
        profile = profiles[default]

    env = os.environ
    explicit = Profile(
        name="<arguments>",
        client_id=str(client_id).strip() if client_id is not None else None,
        api_key=api_key,
        access_token=access_token,
        base_url=base_url,
    )
    environment = Profile(
        name="<environment>",
        client_id=env.get(ENV_CLIENT_ID) or None,
        api_key=env.get(ENV_API_KEY) or None,
        access_token=env.get(ENV_ACCESS_TOKEN) or None,
        base_url=env.get(ENV_BASE_URL) or None,
        **{key: env.get(var) or None for key, var in _PERFORMANCE_ENV.items()},
    )
    sources = [s for s in (explicit, profile, environment) if s is not None]

    def first(attr: str) -> str | None:
        for s in sources:
            value = getattr(s, attr)
            if value:
                return str(value)
        return None

    secret_source = next((s for s in sources if s.api_key or s.access_token), None)
    perf_source = next(
        (s for s in sources if s.performance_client_secret or s.performance_access_token), None
    )
    if profile is not None:
        label = profile.name
    elif any(getattr(explicit, attr) for attr in _PROFILE_KEYS):
        label = explicit.name
    else:
        label = environment.name
    return Profile(
        name=label,
        client_id=first("client_id"),
        api_key=secret_source.api_key if secret_source else None,
        access_token=secret_source.access_token if secret_source else None,
        base_url=first("base_url"),
        performance_client_id=first("performance_client_id"),
        performance_client_secret=perf_source.performance_client_secret if perf_source else None,
        performance_access_token=perf_source.performance_access_token if perf_source else None,
        performance_base_url=first("performance_base_url"),
    )
