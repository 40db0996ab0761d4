"""The shared profile loader (ozon_async.profiles): file location, parsing, permissions, and the
precedence of arguments, profiles and the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ozon_async import ConfigurationError
from ozon_async.profiles import Profile, config_path, load_profiles, resolve_profile

KEY = "key-0123456789abcdef"
TOKEN = "token-fedcba9876543210"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OZON_") or name == "XDG_CONFIG_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


CONFIG = f"""
default_profile = "main"

[profiles.main]
client_id = 123456
api_key = "{KEY}"

[profiles.app]
access_token = "{TOKEN}"
base_url = "http://127.0.0.1:9"
"""


def test_config_path_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert config_path() == tmp_path / "home" / ".config" / "ozon-async" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "ozon-async" / "config.toml"
    monkeypatch.setenv("OZON_ASYNC_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert config_path() == tmp_path / "elsewhere.toml"


def test_load_profiles(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", CONFIG)
    profiles = load_profiles(path)
    assert profiles["main"] == Profile("main", client_id="123456", api_key=KEY)
    assert profiles["app"].access_token == TOKEN
    assert profiles["app"].client_id is None
    assert profiles["app"].has_credentials and profiles["main"].has_credentials
    assert load_profiles(tmp_path / "missing.toml") == {}


def test_secrets_never_in_repr(tmp_path: Path) -> None:
    profiles = load_profiles(write(tmp_path / "c.toml", CONFIG))
    text = repr(profiles) + str(profiles)
    assert KEY not in text and TOKEN not in text
    assert "123456" in text


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_secrets_file_others_can_access_is_refused(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "c.toml", CONFIG, mode=mode)
    with pytest.raises(ConfigurationError) as err:
        load_profiles(path)
    assert str(path) in str(err.value)
    assert f"chmod 600 {path}" in str(err.value)
    assert KEY not in str(err.value)


def test_a_file_without_secrets_may_be_shared(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml", '[profiles.sb]\nclient_id = "1"\nbase_url = "http://x"\n', 0o644
    )
    assert load_profiles(path)["sb"].base_url == "http://x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[profiles.a]\napi-key = "x"\n', "unknown keys ['api-key']"),
        ('profile = "a"\n', "unknown top-level keys ['profile']"),
        ('default_profile = "b"\n[profiles.a]\nclient_id = "1"\n', "'b' is not one of"),
        ("[profiles.a]\nclient_id = true\n", "client_id must be a string or an integer"),
        ("[profiles.a]\napi_key = 5\n", "api_key must be a string"),
        ('[profiles.a]\napi_key = ""\n', "api_key is empty"),
        ("[profiles.a\n", "not valid TOML"),
        ('profiles = "x"\n', "'profiles' must be a table"),
    ],
)
def test_invalid_files_are_refused_naming_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=None) as err:
        load_profiles(write(tmp_path / "c.toml", text))
    assert message in str(err.value)


def test_resolve_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", CONFIG)
    monkeypatch.setenv("OZON_CLIENT_ID", "999")
    monkeypatch.setenv("OZON_API_KEY", "env-key")
    monkeypatch.setenv("OZON_BASE_URL", "http://env")

    # the file's default profile beats the environment
    p = resolve_profile(path=path)
    assert (p.name, p.client_id, p.api_key, p.base_url) == ("main", "123456", KEY, "http://env")

    # explicit arguments beat the profile
    p = resolve_profile("main", client_id=7, base_url="http://arg", path=path)
    assert (p.client_id, p.api_key, p.base_url) == ("7", KEY, "http://arg")

    # a token profile does not pick up the environment's key
    p = resolve_profile("app", path=path)
    assert (p.access_token, p.api_key, p.client_id) == (TOKEN, None, "999")
    assert p.client_kwargs() == {
        "client_id": "999",
        "access_token": TOKEN,
        "base_url": "http://127.0.0.1:9",
    }

    # an explicit token replaces the profile's key as a whole
    p = resolve_profile("main", access_token="t2", path=path)
    assert (p.access_token, p.api_key) == ("t2", None)

    # OZON_PROFILE names the profile when no name is given
    monkeypatch.setenv("OZON_PROFILE", "app")
    assert resolve_profile(path=path).name == "app"


def test_resolve_without_a_file_uses_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "none.toml"
    assert not resolve_profile(path=missing).has_credentials
    monkeypatch.setenv("OZON_CLIENT_ID", "5")
    monkeypatch.setenv("OZON_API_KEY", "k")
    p = resolve_profile(path=missing)
    assert (p.name, p.client_id, p.api_key) == ("<environment>", "5", "k")
    assert resolve_profile(api_key="other", path=missing).name == "<arguments>"
    with pytest.raises(ConfigurationError, match="there is no"):
        resolve_profile("main", path=missing)


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no profile 'x' .*\(profiles: app, main\)"):
        resolve_profile("x", path=write(tmp_path / "c.toml", CONFIG))


def test_resolve_reads_config_path_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path / "home" / ".config" / "ozon-async" / "config.toml", CONFIG)
    assert config_path() == path
    assert resolve_profile().api_key == KEY
