"Shared fixtures: tests run offline, on the CPU, in the quick profile."
import pytest


@pytest.fixture(autouse=True)
def _offline_cpu(monkeypatch):
    monkeypatch.setenv("GANTEXT_OFFLINE", "1")
    monkeypatch.setenv("GANTEXT_DEVICE", "cpu")
    monkeypatch.setenv("GANTEXT_PROFILE", "quick")
