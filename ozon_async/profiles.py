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
    allow_custom_base_url = true   # base_url is not Ozon's API: the file must say it means it

    [profiles.app]            # an app from Ozon's marketplace, with an OAuth token
    access_token = "..."

    [profiles.ads]            # the Performance (advertising) API, beside or instead of the above
    performance_client_id = "12345678-1700000000000@advertising.performance.ozon.ru"
    performance_client_secret = "..."

The file decides where the keys go, so it is checked as ssh checks its files (POSIX): it and its
directory must belong to the user (or root) and be writable by nobody else, whether or not the
file holds keys; a file that holds a key, a secret or a token must also be readable by its owner
only (``chmod 600``). A ``base_url`` or ``performance_base_url`` that is not Ozon's
(``https://…ozon.ru``) is refused unless the same profile sets ``allow_custom_base_url = true``, so
a line added to a profile cannot quietly send a key elsewhere. Unknown keys are refused too, so a
misspelt ``api-key`` is reported instead of silently ignored. :func:`add_profile` and
:func:`remove_profile` edit the file (``0600``, in a ``0700`` directory when they create it).

:func:`resolve_profile` combines the sources: arguments given explicitly, then the named profile
(or ``$OZON_PROFILE``, or the file's ``default_profile``), then the environment (``OZON_CLIENT_ID``,
``OZON_API_KEY``, ``OZON_ACCESS_TOKEN``, ``OZON_BASE_URL``; for the Performance API
``OZON_PERFORMANCE_CLIENT_ID``, ``OZON_PERFORMANCE_CLIENT_SECRET``, ``OZON_PERFORMANCE_ACCESS_TOKEN``,
``OZON_PERFORMANCE_BASE_URL``).

This module imports nothing outside the standard library at import time (``tomli`` on Python 3.10
only when a file is read).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ozon_async._exceptions import ConfigurationError

if TYPE_CHECKING:
    from ozon_async._client import OzonClient

#: A Performance client class (the profile module does not import the Performance package: its
#: client imports this module for ``from_profile``).
C = TypeVar("C")

__all__ = [
    "ALLOW_CUSTOM_BASE_URL",
    "ENV_ACCESS_TOKEN",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_CLIENT_ID",
    "ENV_CONFIG",
    "ENV_PROFILE",
    "Profile",
    "add_profile",
    "config_path",
    "is_ozon_url",
    "load_profiles",
    "performance_client",
    "remove_profile",
    "resolve_profile",
    "seller_client",
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
ALLOW_CUSTOM_BASE_URL = "allow_custom_base_url"
_STRING_KEYS = ("client_id", "api_key", "access_token", "base_url", *_PERFORMANCE_ENV)
_PROFILE_KEYS = (*_STRING_KEYS, ALLOW_CUSTOM_BASE_URL)
_SECRET_KEYS = ("api_key", "access_token", "performance_client_secret", "performance_access_token")
#: The settings that decide where a key goes: a value that is not Ozon's needs the opt-in.
_URL_KEYS = ("base_url", "performance_base_url")
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
        base_url_from: where ``base_url`` came from (a profile's name, ``"<environment>"`` or
            ``"<arguments>"``), for messages; ``None`` without a ``base_url``.
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
    base_url_from: str | None = field(default=None, compare=False)
    performance_client_id: str | None = None
    performance_client_secret: str | None = field(default=None, repr=False)
    performance_access_token: str | None = field(default=None, repr=False)
    performance_base_url: str | None = None

    @property
    def custom_base_url(self) -> bool:
        """``True`` when :attr:`base_url` is set and is not Ozon's API (see :func:`is_ozon_url`)."""
        return self.base_url is not None and not is_ozon_url(self.base_url)

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


def seller_client(profile: Profile, **options: Any) -> OzonClient:
    """The one place a profile becomes an :class:`ozon_async.OzonClient` (the command line and
    the MCP server use it): its OAuth token when it has one (the API key is then not sent),
    otherwise its Client-Id and API key; ``options`` are the client's other arguments
    (``base_url`` overrides the profile's). Raises :class:`ConfigurationError` naming what the
    profile lacks."""
    from ozon_async._client import OzonClient

    kwargs = profile.client_kwargs()
    if profile.access_token:
        kwargs.pop("api_key", None)
    elif not profile.api_key:
        raise ConfigurationError(
            f"profile {profile.name!r} has no credentials: it needs an api_key (with its "
            "client_id) or an access_token"
        )
    elif not profile.client_id:
        raise ConfigurationError(f"profile {profile.name!r} has no client_id")
    return OzonClient(**{**kwargs, **options})


def performance_client(profile: Profile, *, client_class: type[C], **options: Any) -> C:
    """The one place a profile becomes an :class:`ozon_async.performance.OzonPerformanceClient`
    (``client_class``, or a subclass; its ``performance_*`` keys; ``options`` are the client's
    other arguments). Raises :class:`ConfigurationError` when the profile has no Performance
    credentials."""
    if not profile.has_performance_credentials:
        raise ConfigurationError(
            f"profile {profile.name} has no Performance API credentials: set "
            "performance_client_id and performance_client_secret (or "
            "performance_access_token), or OZON_PERFORMANCE_CLIENT_ID and "
            "OZON_PERFORMANCE_CLIENT_SECRET"
        )
    return client_class(**{**profile.performance_kwargs(), **options})


def is_ozon_url(url: str) -> bool:
    """``True`` for an ``https://`` URL on Ozon's domain (``ozon.ru`` or a subdomain, such as
    ``api-seller.ozon.ru``), with no user name or password."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.username is None
        and (host == "ozon.ru" or host.endswith(".ozon.ru"))
    )


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


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _trusted_owner(uid: int) -> bool:
    return uid == os.geteuid() or uid == 0


def _check_directory(directory: Path, file: Path) -> None:
    """Refuse a config file whose directory another user owns or may write to (a sticky
    directory such as /tmp is fine: others cannot replace a file of ours there)."""
    try:
        st = directory.stat()
    except OSError as exc:
        raise ConfigurationError(f"cannot check {directory}: {exc.strerror or exc}") from None
    if not _trusted_owner(st.st_uid):
        raise ConfigurationError(
            f"{file} is in {directory}, which belongs to {_owner_name(st.st_uid)}, not you: that "
            "user could change where your keys go. Move the file to a directory of your own, "
            f"e.g. mkdir -m 700 ~/.config/ozon-async && mv {file} ~/.config/ozon-async/"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022 and not mode & stat.S_ISVTX:
        raise ConfigurationError(
            f"{file} is in {directory}, which other users can write to (mode {mode:04o}): they "
            "could replace the file and send your keys elsewhere. Fix it with: "
            f"chmod 700 {directory}"
        )


def _check_file(path: Path, st: os.stat_result, has_secrets: bool) -> None:
    """Refuse (POSIX only) a config file that another user owns or may change, or, when it holds
    a key or token, may read; and one in a directory that others control."""
    if os.name != "posix":
        return
    if not _trusted_owner(st.st_uid):
        raise ConfigurationError(
            f"{path} belongs to {_owner_name(st.st_uid)}, not you: that user decides where your "
            f"keys go. Make a copy of your own: cp {path} {path}.mine && chmod 600 {path}.mine "
            f"(and point {ENV_CONFIG} at it), or, as root: chown $USER {path}"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise ConfigurationError(
            f"{path} can be changed by other users (mode {mode:04o}): they could send your keys "
            f"to another host. Fix it with: chmod 600 {path}"
        )
    if has_secrets and mode & 0o077:
        raise ConfigurationError(
            f"{path} holds API keys or tokens but is accessible by other users "
            f"(mode {mode:04o}); make it private with: chmod 600 {path}"
        )
    seen: set[Path] = set()
    for directory in (path.absolute().parent, path.resolve().parent):
        if directory not in seen:
            seen.add(directory)
            _check_directory(directory, path)


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
            for key in _STRING_KEYS
            if key in table
        }
        allow = table.get(ALLOW_CUSTOM_BASE_URL, False)
        if not isinstance(allow, bool):
            raise ConfigurationError(
                f"{where} {ALLOW_CUSTOM_BASE_URL} must be true or false, not {type(allow).__name__}"
            )
        for url_key in _URL_KEYS:
            url = values.get(url_key)
            if url is not None and not allow and not is_ozon_url(url):
                raise ConfigurationError(
                    f"{where} {url_key} {url!r} is not Ozon's API, so the profile's key (or the "
                    "environment's) would be sent there. If that is what you want (the sandbox, a "
                    f"proxy of your own), add {ALLOW_CUSTOM_BASE_URL} = true to [profiles.{name}]"
                )
        base_url = values.get("base_url")
        profiles[name] = Profile(
            name=name, base_url_from=name if base_url is not None else None, **values
        )
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
        with open(target, "rb") as f:  # the checks and the read see the same file
            st = os.fstat(f.fileno())
            raw = f.read()
    except FileNotFoundError:
        return target, {}, None, False
    except OSError as exc:
        raise ConfigurationError(f"cannot read {target}: {exc.strerror or exc}") from None
    # Ownership and write access first: a file others control is refused whatever it says.
    _check_file(target, st, has_secrets=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{target}: not UTF-8 text") from None
    data = _toml_loads(text, target)
    tables = data.get("profiles")
    if isinstance(tables, dict) and any(
        isinstance(t, dict) and any(t.get(key) for key in _SECRET_KEYS) for t in tables.values()
    ):
        _check_file(target, st, has_secrets=True)
    profiles, default = _parse(data, target)
    return target, profiles, default, True


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    """The profiles of the config file (``{}`` when the file does not exist).

    Raises :class:`ConfigurationError` for invalid TOML, unknown keys, wrong value types, a
    ``default_profile`` naming no profile, a ``base_url`` that is not Ozon's without
    ``allow_custom_base_url = true``, a file or directory that another user owns or can write, or
    a file holding secrets that other users can read.
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
    profile = _named_profile(name or os.environ.get(ENV_PROFILE) or None, path)
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
    if profile is not None:
        label = profile.name
    elif any(getattr(explicit, attr) for attr in _STRING_KEYS):
        label = explicit.name
    else:
        label = environment.name
    return _merged(label, [s for s in (explicit, profile, environment) if s is not None])


def _named_profile(wanted: str | None, path: Path | None) -> Profile | None:
    """The profile ``wanted`` of the file (else its ``default_profile``, if any)."""
    target, profiles, default, exists = _read(path)
    if wanted is None:
        return profiles[default] if default is not None else None
    if not exists:
        raise ConfigurationError(f"profile {wanted!r} asked for, but there is no {target}")
    profile = profiles.get(wanted)
    if profile is None:
        raise ConfigurationError(
            f"no profile {wanted!r} in {target} (profiles: {', '.join(sorted(profiles)) or 'none'})"
        )
    return profile


def _merged(label: str, sources: list[Profile]) -> Profile:
    """One profile of ``sources`` in order of precedence: each secret whole from the first
    source with one, every other setting from the first source that sets it."""

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
    url_source = next((s for s in sources if s.base_url), None)
    return Profile(
        name=label,
        client_id=first("client_id"),
        api_key=secret_source.api_key if secret_source else None,
        access_token=secret_source.access_token if secret_source else None,
        base_url=url_source.base_url if url_source else None,
        base_url_from=url_source.name if url_source else None,
        performance_client_id=first("performance_client_id"),
        performance_client_secret=perf_source.performance_client_secret if perf_source else None,
        performance_access_token=perf_source.performance_access_token if perf_source else None,
        performance_base_url=first("performance_base_url"),
    )


# ---------------------------------------------------------------------- editing the file
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_TABLE = re.compile(r"^\s*\[")
_DEFAULT_LINE = re.compile(r"^\s*default_profile\s*=")


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _header(line: str) -> str | None:
    """The profile name of a ``[profiles.NAME]`` line (bare or quoted), else ``None``."""
    m = re.match(
        r"""^\s*\[\s*profiles\s*\.\s*(?:([A-Za-z0-9_-]+)|"([^"\\]*)"|'([^']*)')\s*\]""", line
    )
    if m is None:
        return None
    return next(g for g in m.groups() if g is not None)


def _prepare_directory(directory: Path) -> None:
    """Create the config directory (``0700``), or check that an existing one is safe."""
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)  # mkdir's mode is masked by the umask
        return
    if os.name == "posix":
        _check_directory(directory, directory / "config.toml")


def _write_private(target: Path, text: str) -> None:
    """Replace ``target`` with ``text`` atomically, as a ``0600`` file."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _current(target: Path) -> tuple[str, dict[str, Profile], str | None]:
    _, profiles, default, exists = _read(target)
    text = target.read_text(encoding="utf-8") if exists else ""
    return text, profiles, default


def _verify(target: Path, text: str, expect: dict[str, Profile], default: str | None) -> None:
    """Parse the edited text and check that it says exactly what was intended."""
    profiles, new_default = _parse(_toml_loads(text, target), target)
    if profiles != expect or new_default != default:
        raise ConfigurationError(
            f"{target} is written in a way this command cannot edit safely (dotted keys or "
            "inline tables); edit it by hand"
        )


def add_profile(
    name: str,
    *,
    client_id: str | None = None,
    api_key: str | None = None,
    access_token: str | None = None,
    base_url: str | None = None,
    make_default: bool = False,
    replace: bool = False,
    path: Path | None = None,
) -> Path:
    """Add the profile ``name`` to the config file (created when missing) and return its path.

    The file is written atomically with mode ``0600``; a missing directory is created with mode
    ``0700``; an existing one must pass the same checks as when reading. Comments and other
    profiles are kept as they are. A ``base_url`` that is not Ozon's gets
    ``allow_custom_base_url = true`` (asking for it is the opt-in). An existing profile of that
    name is refused unless ``replace``.
    """
    if not _NAME.fullmatch(name):
        raise ConfigurationError(f"profile name {name!r}: use letters, digits, '-' and '_' only")
    if api_key and access_token:
        raise ConfigurationError("a profile has an api_key or an access_token, not both")
    target = path if path is not None else config_path()
    _prepare_directory(target.parent)
    text, profiles, default = _current(target)
    if name in profiles and not replace:
        raise ConfigurationError(
            f"{target} already has a profile {name!r}; remove it first (ozon profiles remove "
            f"{name}) or pass --replace"
        )
    if name in profiles:
        text = _without_profile(text, name)
    values = {"client_id": client_id, "api_key": api_key, "access_token": access_token}
    lines = [f"[profiles.{name}]"]
    for key, value in (*values.items(), ("base_url", base_url)):
        if value is not None:
            lines.append(f"{key} = {_toml_string(str(value))}")
    if base_url is not None and not is_ozon_url(base_url):
        lines.append(f"{ALLOW_CUSTOM_BASE_URL} = true")
    if text and not text.endswith("\n"):
        text += "\n"
    text += ("\n" if text.strip() else "") + "\n".join(lines) + "\n"
    if make_default:
        text = _set_default(text, name)
        default = name
    expect = dict(profiles)
    expect.pop(name, None)
    expect[name] = _parse(_toml_loads("\n".join(lines), target), target)[0][name]
    _verify(target, text, expect, default)
    _write_private(target, text)
    return target


def remove_profile(name: str, *, path: Path | None = None) -> tuple[Path, bool]:
    """Remove the profile ``name`` from the config file; returns (path, whether it was the
    ``default_profile``, which is then removed too). The file is rewritten atomically (``0600``),
    keeping everything else as it was."""
    target = path if path is not None else config_path()
    text, profiles, default = _current(target)
    if name not in profiles:
        raise ConfigurationError(
            f"no profile {name!r} in {target} (profiles: {', '.join(sorted(profiles)) or 'none'})"
        )
    text = _without_profile(text, name)
    was_default = default == name
    if was_default:
        text = "".join(
            line for line in text.splitlines(keepends=True) if not _DEFAULT_LINE.match(line)
        )
        default = None
    expect = {k: v for k, v in profiles.items() if k != name}
    _verify(target, text, expect, default)
    _write_private(target, text)
    return target, was_default


def _without_profile(text: str, name: str) -> str:
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if _TABLE.match(line):
            skipping = _header(line) == name
        if not skipping:
            out.append(line)
    return "".join(out)


def _set_default(text: str, name: str) -> str:
    """Set the top-level ``default_profile`` (before the first table)."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _TABLE.match(line):
            break
        if _DEFAULT_LINE.match(line):
            lines[i] = f"default_profile = {_toml_string(name)}\n"
            return "".join(lines)
    return f"default_profile = {_toml_string(name)}\n" + ("\n" if text.strip() else "") + text
