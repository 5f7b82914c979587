# gantext: `make book` renders the book; `make test` runs every check. Both create or refresh .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXECUTE ?=
# Tests and CI: the quick profile, on the CPU, with no downloads.
TEST_ENV := GANTEXT_PROFILE=quick GANTEXT_OFFLINE=1 GANTEXT_DEVICE=cpu MPLBACKEND=Agg PYDEVD_DISABLE_FILE_VALIDATION=1
JB_BUILD := $(BIN)/jupyter-book build . --toc _toc.yml --path-output book

.PHONY: book test venv export clean

venv: $(STAMP)

$(STAMP): setup.py settings.ini
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

# Render book/_build/html from the committed, executed notebooks. EXECUTE=1 re-executes every notebook first,
# in the current profile, through jupyter-cache (unchanged notebooks are not re-run on the next build).
book: $(STAMP)
	@$(BIN)/python book/build_config.py $(if $(EXECUTE),execute,render) book/_build/config.yml
	$(JB_BUILD) --config book/_build/config.yml
	@echo "Book: $(abspath book/_build/html/index.html)"

# Every check, timed: (a) gantext/ is what nbdev_export makes of the notebooks and (b) the unit tests, both in
# tests/; (c) every notebook executes in the quick profile (nbval); (d) the book builds with warnings as errors.
test: $(STAMP)
	@set -euo pipefail; t0=$$(date +%s); \
	echo "== [1/3] pytest tests/: export in sync, toc, notebooks clean, unit tests"; \
	$(TEST_ENV) $(BIN)/python -m pytest tests -q -p no:cacheprovider; t1=$$(date +%s); \
	echo "== [2/3] nbval: every notebook in the quick profile"; \
	$(TEST_ENV) $(BIN)/python -m pytest nbs --nbval-lax --nbval-current-env -q -p no:cacheprovider; t2=$$(date +%s); \
	echo "== [3/3] jupyter-book build of the committed notebooks, no execution, warnings as errors"; \
	$(BIN)/python book/build_config.py check book/_build/config.check.yml; \
	$(JB_BUILD) --config book/_build/config.check.yml -W --keep-going > book/_build/check.log 2>&1 \
	  || { tail -n 40 book/_build/check.log; exit 1; }; t3=$$(date +%s); \
	echo "== make test passed: unit tests $$((t1 - t0)) s, notebooks $$((t2 - t1)) s, book $$((t3 - t2)) s, total $$((t3 - t0)) s"

# After editing notebooks: write gantext/ and clean the notebooks' metadata.
export: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean

clean:
	rm -rf book/_build .pytest_cache
