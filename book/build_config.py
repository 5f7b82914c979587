"""Write the Jupyter Book config for one build mode, derived from book/_config.yml.

    python book/build_config.py MODE OUT

MODE is one of
  render   -- `make book`: committed outputs are shown; only notebooks with no outputs at all are executed
              (MyST-NB's `auto` mode alone would re-run every notebook that has one cell without output);
  execute  -- `make book EXECUTE=1`: every notebook is executed through jupyter-cache, which skips unchanged ones;
  check    -- `make test`: nothing is executed.
"""
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent


def notebooks_with_outputs() -> list[str]:
    "Notebooks under nbs/ in which some code cell carries an output."
    found = []
    for path in sorted((ROOT / "nbs").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        if any(c.cell_type == "code" and c.get("outputs") for c in nb.cells):
            found.append(path.relative_to(ROOT).as_posix())
    return found


def main(mode: str, out: str) -> None:
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    execute = config.setdefault("execute", {})
    if mode == "render":
        execute["execute_notebooks"] = "auto"
        execute["exclude_patterns"] = notebooks_with_outputs()
    elif mode == "execute":
        execute["execute_notebooks"] = "cache"
    elif mode == "check":
        execute["execute_notebooks"] = "off"
    else:
        sys.exit(f"build_config.py: MODE must be render, execute or check, got {mode!r}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
