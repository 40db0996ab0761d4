"""The shared profile loader (ozon_async.profiles): file location, parsing, permissions, and the
precedence of arguments, profiles and the environment."""

from __future__ import annotations

import os
import stat
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
allow_custom_base_url = true
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
        tmp_path / "c.toml",
        '[profiles.sb]\nclient_id = "1"\nbase_url = "http://x"\nallow_custom_base_url = true\n',
        0o644,
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


# ------------------------------------------------------------------ who controls the file (#25)
EVIL = '[profiles.evil]\nbase_url = "http://127.0.0.1:18099"\nallow_custom_base_url = true\n'


def _another_user(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> None:
    """Make ``paths`` belong to a user other than the one running the test: a real chown when
    the tests run as root (root's own files are trusted), else a different effective uid."""
    if os.geteuid() == 0:
        for p in paths:
            os.chown(p, 65534, 65534)
    else:
        me = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: me + 1)


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o664, 0o622])
def test_a_file_others_can_write_is_refused_even_without_keys(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "c.toml", 'default_profile = "evil"\n' + EVIL, mode=mode)
    with pytest.raises(ConfigurationError) as err:
        resolve_profile(path=path)
    assert "can be changed by other users" in str(err.value)
    assert f"chmod 600 {path}" in str(err.value)


def test_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ozon-async"
    path = write(folder / "config.toml", EVIL, mode=0o644)
    folder.chmod(0o777)
    with pytest.raises(ConfigurationError) as err:
        load_profiles(path)
    assert f"chmod 700 {folder}" in str(err.value) and "mode 0777" in str(err.value)
    folder.chmod(0o1777)  # sticky, like /tmp: others cannot replace our file
    assert load_profiles(path)["evil"].base_url == "http://127.0.0.1:18099"
    folder.chmod(0o755)
    assert load_profiles(path)


def test_a_symlinked_file_is_checked_where_it_really_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    real = write(shared / "config.toml", EVIL, mode=0o644)
    shared.chmod(0o777)
    (tmp_path / "mine").mkdir()
    link = tmp_path / "mine" / "config.toml"
    link.symlink_to(real)
    with pytest.raises(ConfigurationError, match=f"chmod 700 {shared}"):
        load_profiles(link)


def test_a_file_another_user_owns_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "c.toml", EVIL, mode=0o644)
    _another_user(monkeypatch, path)
    with pytest.raises(ConfigurationError) as err:
        load_profiles(path)
    assert "not you" in str(err.value) and "cp " in str(err.value)


def test_a_directory_another_user_owns_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "theirs"
    path = write(folder / "config.toml", EVIL)
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)
    else:  # the file stays ours; only the directory is someone else's
        me = os.geteuid()
        real_stat = Path.stat

        def fake_stat(self: Path, **kw: bool) -> os.stat_result:
            st = real_stat(self, **kw)
            if self == folder:
                return os.stat_result((st.st_mode, *st[1:4], me + 1, *st[5:]))
            return st

        monkeypatch.setattr(Path, "stat", fake_stat)
    with pytest.raises(ConfigurationError) as err:
        load_profiles(path)
    assert f"is in {folder}, which belongs to" in str(err.value)


# ------------------------------------------------------------------ base_url opt-in (#25)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:18099",
        "https://api-seller.ozon.ru.evil.example",
        "https://evil.example/api-seller.ozon.ru",
        "http://api-seller.ozon.ru",
        "https://user@api-seller.ozon.ru",
    ],
)
def test_a_base_url_that_is_not_ozons_needs_the_opt_in(tmp_path: Path, url: str) -> None:
    text = f'[profiles.p]\nclient_id = "1"\napi_key = "{KEY}"\nbase_url = "{url}"\n'
    with pytest.raises(ConfigurationError) as err:
        load_profiles(write(tmp_path / "c.toml", text))
    assert "allow_custom_base_url = true" in str(err.value) and "[profiles.p]" in str(err.value)
    assert KEY not in str(err.value)
    allowed = load_profiles(write(tmp_path / "c.toml", text + "allow_custom_base_url = true\n"))
    assert allowed["p"].base_url == url and allowed["p"].custom_base_url


@pytest.mark.parametrize("url", ["https://api-seller.ozon.ru", "https://api-performance.ozon.ru/"])
def test_ozons_own_hosts_need_no_opt_in(tmp_path: Path, url: str) -> None:
    path = write(tmp_path / "c.toml", f'[profiles.p]\nbase_url = "{url}"\n')
    assert not load_profiles(path)["p"].custom_base_url


def test_the_opt_in_must_be_a_boolean(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", '[profiles.p]\nallow_custom_base_url = "yes"\n')
    with pytest.raises(ConfigurationError, match="must be true or false"):
        load_profiles(path)


def test_resolve_says_where_the_base_url_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "c.toml", CONFIG)
    assert resolve_profile("app", path=path).base_url_from == "app"
    monkeypatch.setenv("OZON_BASE_URL", "http://127.0.0.1:1")
    p = resolve_profile("main", path=path)
    assert (p.base_url_from, p.custom_base_url) == ("<environment>", True)
    assert (
        resolve_profile("main", base_url="https://api-seller.ozon.ru", path=path).custom_base_url
        is False
    )


# ------------------------------------------------------------------ editing the file (#25)
def test_add_creates_a_private_file_in_a_private_directory(tmp_path: Path) -> None:
    from ozon_async.profiles import add_profile

    path = tmp_path / "home" / ".config" / "ozon-async" / "config.toml"
    assert add_profile("main", client_id="123456", api_key=KEY, make_default=True) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    add_profile("sb", client_id="1", api_key="test", base_url="http://127.0.0.1:8080")
    text = path.read_text()
    assert 'base_url = "http://127.0.0.1:8080"\nallow_custom_base_url = true' in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    p = resolve_profile()
    assert (p.name, p.client_id, p.api_key) == ("main", "123456", KEY)
    assert resolve_profile("sb").base_url == "http://127.0.0.1:8080"


def test_add_keeps_comments_refuses_duplicates_and_escapes_values(tmp_path: Path) -> None:
    from ozon_async.profiles import add_profile

    path = write(tmp_path / "c.toml", "# my shops\n" + CONFIG)
    with pytest.raises(ConfigurationError, match="already has a profile 'main'"):
        add_profile("main", client_id="1", api_key="x", path=path)
    add_profile("odd", client_id='1"2', api_key='k\\"\n', path=path)
    assert load_profiles(path)["odd"].client_id == '1"2'
    assert load_profiles(path)["odd"].api_key == 'k\\"'  # the file's values are stripped
    add_profile("main", client_id="9", api_key="new", replace=True, make_default=True, path=path)
    text = path.read_text()
    assert text.startswith("# my shops\n") and text.count("default_profile") == 1
    assert load_profiles(path)["main"].client_id == "9"
    assert load_profiles(path)["app"].access_token == TOKEN
    for bad in ("a b", "x]", ""):
        with pytest.raises(ConfigurationError, match="profile name"):
            add_profile(bad, api_key="k", path=path)


def test_add_refuses_a_directory_others_can_write(tmp_path: Path) -> None:
    from ozon_async.profiles import add_profile

    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(ConfigurationError, match=f"chmod 700 {folder}"):
        add_profile("main", api_key="k", path=folder / "config.toml")
    assert list(folder.iterdir()) == []


def test_remove_drops_the_profile_its_key_and_a_default_naming_it(tmp_path: Path) -> None:
    from ozon_async.profiles import remove_profile

    path = write(tmp_path / "c.toml", "# keep me\n" + CONFIG + "\n[profiles.z]\nclient_id = 3\n")
    assert remove_profile("main", path=path) == (path, True)
    text = path.read_text()
    assert KEY not in text and "default_profile" not in text and "# keep me" in text
    assert sorted(load_profiles(path)) == ["app", "z"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert remove_profile("z", path=path) == (path, False)
    with pytest.raises(ConfigurationError, match="no profile 'z'"):
        remove_profile("z", path=path)


def test_a_file_edited_in_a_way_the_editor_cannot_follow_is_left_alone(tmp_path: Path) -> None:
    from ozon_async.profiles import remove_profile

    text = f'profiles.main.api_key = "{KEY}"\nprofiles.other.client_id = "1"\n'
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigurationError, match="edit it by hand"):
        remove_profile("main", path=path)
    assert path.read_text() == text
