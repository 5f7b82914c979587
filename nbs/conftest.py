"""pytest plugin for executing the book's notebooks with nbval (`make test`).

1. The committed notebooks keep their outputs, but nbdev_clean sets every execution_count to null, and nbval
   then fails each cell that has outputs with "Unrun reference cell has outputs" (in lax mode too). We drop the
   reference outputs from nbval's in-memory copy of each cell, so nbval only executes the cells and reports
   errors; the files on disk are never touched and the kernel runs in the notebook's own folder.
2. Each notebook's wall time is summed over its cells and printed at the end, slowest first. A notebook over
   its budget (GANTEXT_NB_BUDGET_S, default 180 s on the quick profile) fails the session.
"""
import os
import time
from collections import defaultdict

import pytest

BUDGET_S = float(os.environ.get("GANTEXT_NB_BUDGET_S", "180"))
_durations: dict[str, float] = defaultdict(float)
_first_start: dict[str, float] = {}
_last_end: dict[str, float] = {}


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell")


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if _is_nbval_cell(item):
            item.cell.outputs = []  # in memory only: nbval compares nothing, and no "unrun reference" error


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    path = str(item.fspath)
    _first_start.setdefault(path, time.perf_counter())
    yield
    _last_end[path] = time.perf_counter()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _last_end:
        return
    root = str(config.rootpath) + os.sep
    rows = sorted(((_last_end[p] - _first_start[p], p.replace(root, "")) for p in _last_end), reverse=True)
    total = sum(t for t, _ in rows)
    tr = terminalreporter
    tr.section(f"notebook execution times (profile {os.environ.get('GANTEXT_PROFILE', 'default')}, "
               f"budget {BUDGET_S:.0f} s each)")
    for seconds, name in rows:
        flag = "  OVER BUDGET" if seconds > BUDGET_S else ""
        tr.write_line(f"{seconds:8.1f} s  {name}{flag}")
    tr.write_line(f"{total:8.1f} s  total for {len(rows)} notebooks, mean {total / len(rows):.1f} s")


def pytest_sessionfinish(session, exitstatus):
    over = [p for p in _last_end if _last_end[p] - _first_start[p] > BUDGET_S]
    if over and session.exitstatus == 0:
        session.exitstatus = 1
        print(f"\nnotebooks over the {BUDGET_S:.0f} s budget: {', '.join(sorted(over))}")
