"Shared fixtures: tests run offline, on the CPU, in the quick profile."
import pytest


@pytest.fixture(autouse=True)
def _offline_cpu(monkeypatch):
    monkeypatch.setenv("GANTEXT_OFFLINE", "1")
    monkeypatch.setenv("GANTEXT_DEVICE", "cpu")
    monkeypatch.setenv("GANTEXT_PROFILE", "quick")


@pytest.fixture
def benchmark_script():
    "A loader of the scripts in benchmarks/ as modules: `benchmark_script('mode_collapse').merge`."
    import importlib.util
    from pathlib import Path

    def load(name: str):
        path = Path(__file__).resolve().parent.parent / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
