"""The probe: which layers work, the refusal message, the operator's settings."""

from __future__ import annotations

import resource

import pytest

from grader.sandbox import Sandbox, SandboxSettings, SettingsError, Tier
from grader.sandbox.commands import limit_args
from grader.sandbox.probe import REQUIRED


def test_the_probe_reports_every_layer_and_the_strict_tier_here(sandbox):
    report = sandbox.probe()
    data = report.to_dict()
    assert data["tier"] == "strict"
    assert set(data["layers"]) == {"interpreter", "bwrap", "namespaces", "uid_drop", "rlimits", "seccomp",
                                   "landlock", "cgroups"}
    for name in REQUIRED[Tier.STRICT]:
        assert data["layers"][name]["ok"], (name, data["layers"][name])
    assert report.seconds < 5
    assert sandbox.probe() is report  # cached


def test_a_missing_layer_is_named_with_its_fix():
    report = Sandbox(SandboxSettings(bwrap="streamgrade-no-bwrap")).probe()
    assert report.tier is None
    assert not report.layer("bwrap").ok and "apt-get install -y bubblewrap" in report.layer("bwrap").fix
    message = report.refusal()
    assert "missing bwrap, namespaces" in message and "STREAMGRADE_SANDBOX_TIER=weak" in message


def test_opting_into_the_weak_tier_is_explicit_and_warned(weak_sandbox):
    report = weak_sandbox.probe()
    assert report.tier is Tier.WEAK
    assert any("WEAK SANDBOX TIER" in w for w in report.warnings)


def test_settings_come_from_the_environment_with_clear_errors():
    settings = SandboxSettings.from_env({"STREAMGRADE_SANDBOX_TIER": "Weak", "STREAMGRADE_SANDBOX_SLOTS": "4",
                                         "STREAMGRADE_SANDBOX_MEMORY_MB": "512", "STREAMGRADE_SANDBOX_CGROUPS": "0"})
    assert settings.tier is Tier.WEAK and settings.slots == 4 and settings.memory_bytes == 512 << 20
    assert settings.use_cgroups is False
    assert SandboxSettings.from_env({}) == SandboxSettings()
    with pytest.raises(SettingsError, match="STREAMGRADE_SANDBOX_TIER='none'"):
        SandboxSettings.from_env({"STREAMGRADE_SANDBOX_TIER": "none"})
    with pytest.raises(SettingsError, match="STREAMGRADE_SANDBOX_SLOTS='many'"):
        SandboxSettings.from_env({"STREAMGRADE_SANDBOX_SLOTS": "many"})


def test_the_stack_limit_is_the_setting_unless_the_host_caps_it_lower(monkeypatch):
    settings = SandboxSettings(stack_bytes=8 << 20)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (8 << 20, resource.RLIM_INFINITY))
    assert settings.stack_limit == 8 << 20 and f"--stack={8 << 20}" in limit_args(settings)
    monkeypatch.setattr(resource, "getrlimit", lambda which: (2 << 20, 2 << 20))
    assert settings.stack_limit == 2 << 20 and f"--stack={2 << 20}" in limit_args(settings)
