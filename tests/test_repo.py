"The repository's invariants: the package is what the notebooks export, and the book lists every notebook."
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT / "nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_export_in_sync(tmp_path):
    "nbdev_export of the notebooks reproduces gantext/ exactly: no file changed, missing or added."
    shutil.copy(ROOT / "settings.ini", tmp_path)
    shutil.copytree(ROOT / "nbs", tmp_path / "nbs", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    nbdev_export = Path(sys.executable).parent / "nbdev_export"
    subprocess.run([str(nbdev_export)], cwd=tmp_path, check=True, capture_output=True, text=True)
    generated = {Path("_modidx.py")}           # nbdev's symbol index: generated, not committed (see .gitignore)
    exported = {p.relative_to(tmp_path / "gantext") for p in (tmp_path / "gantext").rglob("*.py")} - generated
    committed = {p.relative_to(ROOT / "gantext") for p in (ROOT / "gantext").rglob("*.py")} - generated
    assert exported == committed, f"only exported: {sorted(map(str, exported - committed))}; " \
                                  f"only committed: {sorted(map(str, committed - exported))} (run nbdev_export)"
    differ = [str(p) for p in sorted(exported) if not filecmp.cmp(tmp_path / "gantext" / p, ROOT / "gantext" / p, shallow=False)]
    assert not differ, f"gantext/ differs from the notebooks in {differ}: edit the notebooks, then run nbdev_export"


def test_package_compiles_without_warnings():
    "Every module compiles with warnings as errors: e.g. TeX from a page's summary in a docstring must not hold `\\m`."
    import warnings
    for path in sorted((ROOT / "gantext").rglob("*.py")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(path.read_text(encoding="utf-8"), str(path), "exec")


def _toc_files(entries) -> list[str]:
    files = []
    for entry in entries or []:
        if "file" in entry:
            files.append(entry["file"])
        for key in ("sections", "chapters", "parts"):
            files += _toc_files(entry.get(key))
    return files


def test_every_notebook_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc["format"] == "jb-book"
    listed = [toc["root"]] + _toc_files(toc.get("parts")) + _toc_files(toc.get("chapters"))
    assert len(listed) == len(set(listed)), "a file is listed twice in _toc.yml"
    notebooks = {p.relative_to(ROOT).with_suffix("").as_posix() for p in NBS}
    missing = sorted(notebooks - set(listed))
    assert not missing, f"notebooks missing from _toc.yml: {missing}"
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").is_file() for ext in ("", ".ipynb", ".md")), f"_toc.yml lists a missing file: {entry}"


def test_notebooks_are_executed_and_clean():
    "Committed notebooks carry their outputs, and nbdev_clean has been run (no execution counts, no stray metadata)."
    assert NBS, "no notebooks found"
    for path in NBS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        name = path.relative_to(ROOT)
        assert any(c.get("outputs") for c in code), f"{name} has no outputs: execute it before committing"
        assert all(c.get("execution_count") is None for c in code), f"{name} is not cleaned: run nbdev_clean"
        assert not any(o.get("output_type") == "error" for c in code for o in c.get("outputs", [])), f"{name} has an error output"
        assert all(set(c.metadata) <= {"tags"} for c in nb.cells), f"{name} has cell metadata besides tags: run nbdev_clean"


def test_hidden_cells_are_removed_from_the_book():
    "Cells that nbdev hides (#| hide) must also carry the `remove-cell` tag, or Jupyter Book would show them."
    for path in NBS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "#| hide" in cell.source:
                assert "remove-cell" in cell.metadata.get("tags", []), f"{path.name}: hidden cell without remove-cell tag"
