"""Settings: file, environment, secret files, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.settings import SettingsError, load_settings

SECRETS = '[secrets]\ndata_keys = ["k1:AAAA"]\ncookie_keys = ["cookie-key-0123456789"]\n'
# The default transport is the outbox: outside dev mode it needs the explicit override.
OUTBOX_OVERRIDE = "[delivery]\nallow_outbox = true\n"


def write(tmp_path: Path, text: str, secrets: bool = True) -> Path:
    """A config file; production settings need their secrets, so add them unless told not."""
    path = tmp_path / "idp.toml"
    path.write_text(text + "\n" + (SECRETS if secrets and "[secrets]" not in text else "")
                    + ("" if "[delivery" in text else OUTBOX_OVERRIDE))
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config/idp.toml here
    monkeypatch.setenv("IDP_SERVER__DEV", "true")
    settings = load_settings()
    assert settings.store.url == "sqlite:///var/nidan.sqlite3"
    assert settings.passwords.argon2_memory_kib == 19_456
    assert settings.limits.code_tries == 5
    assert set(settings.methods) == {"totp", "sms", "voice"}


def test_the_shipped_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_SERVER__DEV", "true")
    settings = load_settings(Path(__file__).parents[1] / "config" / "idp.toml")
    assert settings.delivery.transports["outbox"]["path"] == "var/outbox.jsonl"


def test_environment_beats_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[store]\nurl = "sqlite:///from-file.db"\nprefix = "f:"\n')
    monkeypatch.setenv("IDP_STORE__URL", "redis://127.0.0.1:6379/0")
    settings = load_settings(path)
    assert settings.store.url == "redis://127.0.0.1:6379/0"
    assert settings.store.prefix == "f:"


def test_secret_from_file_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys"
    keys.write_text("k2:AAAA\n\nk1:BBBB\n")
    monkeypatch.setenv("IDP_SECRETS__DATA_KEYS_FILE", str(keys))
    settings = load_settings(write(tmp_path, '[secrets]\ncookie_keys = ["c-0123456789abcdef"]'))
    assert [k.get_secret_value() for k in settings.secrets.data_keys] == ["k2:AAAA", "k1:BBBB"]
    assert "AAAA" not in repr(settings)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[store]\nurl = "foo://x"', "store.url (given 'foo://x'): expected a URL starting with"),
        ("[store]\ncolour = 3", "store.colour: unknown setting"),
        ("[nonsense]\na = 1", "nonsense: unknown setting"),
        ('[server]\nport = "eighty"', "server.port (given 'eighty'): Input should be a valid"),
        ('[server]\nissuer = "http://id.example.com"',
         "server.issuer: an http issuer is allowed only on loopback or in dev mode"),
        ("[store\nurl=1", "not valid TOML"),
        ('[secrets]\ndata_keys_file = "/nonexistent/keys"',
         "secrets.data_keys_file: cannot read '/nonexistent/keys'"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, toml))
    assert expected in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_secret_value_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, '[store]\npassword = ["hunter2-secret"]'))
    assert "store.password" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_unknown_environment_variable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_STROE__URL", "sqlite:///x")
    with pytest.raises(SettingsError, match="IDP_STROE__URL: unknown setting"):
        load_settings(write(tmp_path, ""))


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such config file"):
        load_settings(tmp_path / "nope.toml")


def test_dev_mode_allows_an_http_issuer(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nissuer = "http://id.example.test"\ndev = true\n')
    assert load_settings(path).server.issuer == "http://id.example.test"


def test_production_needs_its_secrets(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, "", secrets=False))
    assert "secrets.data_keys and secrets.cookie_keys: required outside dev mode" in str(
        caught.value
    )


def test_every_source_in_its_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The order, later winning: defaults < the TOML file < IDP_* environment < overrides
    # given in code. Each key below is set by every source from the file on, so each level
    # shows whether the next one beats it.
    path = write(tmp_path, '[server]\nport = 8001\nhost = "127.0.0.2"\nworkers = 3\n')
    monkeypatch.setenv("IDP_SERVER__PORT", "9000")
    monkeypatch.setenv("IDP_SERVER__HOST", "127.0.0.3")
    settings = load_settings(path, server={"port": 8002})
    assert settings.server.port == 8002  # code beats environment and file
    assert settings.server.host == "127.0.0.3"  # environment beats file
    assert settings.server.workers == 3  # file beats defaults
    assert settings.limits.code_tries == 5  # the default, where nothing else speaks


def test_a_secret_file_beats_the_value_from_any_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``x_file`` wins over ``x`` wherever each was given (see ConfigModel).
    keys = tmp_path / "keys"
    keys.write_text("from-file-0123456789\n")
    monkeypatch.setenv("IDP_SECRETS__COOKIE_KEYS_FILE", str(keys))
    settings = load_settings(write(tmp_path, ""), secrets={
        "data_keys": ["k1:AAAA"], "cookie_keys": ["from-code-0123456789"],
    })
    assert [k.get_secret_value() for k in settings.secrets.cookie_keys] == [
        "from-file-0123456789"
    ]


@pytest.mark.parametrize("text", [
    "",
    '[delivery]\nsms = ["file"]\nvoice = ["file"]\n[delivery.transports.file]\ntype = "outbox"',
])
def test_the_outbox_is_refused_outside_dev_mode(tmp_path: Path, text: str) -> None:
    # It writes codes in clear to a file: never by default on a real deployment.
    path = tmp_path / "idp.toml"
    path.write_text(SECRETS + text)
    with pytest.raises(SettingsError, match=r"outbox transport .* refused outside dev"):
        load_settings(path)


@pytest.mark.parametrize("mode", ["server.dev", "server.conformance", "delivery.allow_outbox"])
def test_the_outbox_is_allowed_in_dev_conformance_or_by_override(
    tmp_path: Path, mode: str
) -> None:
    section, key = mode.split(".")
    extra = "" if section == "delivery" else "\n[delivery]"
    settings = load_settings(write(tmp_path, f"[{section}]\n{key} = true{extra}"))
    assert settings.delivery.sms == ["outbox"]
