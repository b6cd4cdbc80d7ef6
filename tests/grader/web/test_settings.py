"""Service settings: environment first, then the mapping given to create_app."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.web.settings import DEFAULT_DB, PROJECT_DIR, ConfigError, load_settings


def test_defaults_are_safe():
    settings = load_settings(environ={})
    assert settings.db == DEFAULT_DB == f"sqlite:///{PROJECT_DIR / 'var' / 'streamgrade.db'}"
    assert settings.open_registration is False
    assert settings.max_bytes == 256 * 1024
    assert settings.rate_burst > 0 and settings.cookie_secure == "auto"
    # WAL + NORMAL: a commit survives any crash of the service (test_recovery kills a worker);
    # FULL (an fsync per commit) is there for power loss.
    assert settings.sqlite_synchronous == "NORMAL"
    assert load_settings(environ={"STREAMGRADE_SQLITE_SYNCHRONOUS": "full"}).sqlite_synchronous == "FULL"


def test_environment_then_overrides():
    env = {"STREAMGRADE_MAX_BYTES": "1000", "STREAMGRADE_OPEN_REGISTRATION": "yes", "STREAMGRADE_DB": "sqlite:///x.db"}
    settings = load_settings({"STREAMGRADE_MAX_BYTES": 2000, "STREAMGRADE_EXERCISES": Path("/tmp")}, environ=env)
    assert settings.max_bytes == 2000
    assert settings.open_registration is True
    assert settings.db == "sqlite:///x.db"
    assert settings.exercises_dir == Path("/tmp").resolve()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("STREAMGRADE_DB", "mysql://x", "expected sqlite:///PATH or postgresql://"),
    ("STREAMGRADE_MAX_BYTES", "0", "must be positive"),
    ("STREAMGRADE_RATE_BURST", "-1", "must not be negative"),
    ("STREAMGRADE_OPEN_REGISTRATION", "maybe", "expected true or false"),
    ("STREAMGRADE_COOKIE_SECURE", "sometimes", "expected one of auto, always, never"),
])
def test_a_bad_value_names_the_variable(name: str, value: str, message: str):
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(environ={name: value})
    assert name in caught.value.message
    assert caught.value.exit_code == 2


def test_an_unknown_streamgrade_key_is_a_typo():
    with pytest.raises(ConfigError, match="STREAMGRADE_MAX_BYTE: unknown setting"):
        load_settings({"STREAMGRADE_MAX_BYTE": 10}, environ={})
