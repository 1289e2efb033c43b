# Kuelik: `make run` serves the demo, `make test` runs every check. Both set themselves up.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo election is the 2022 referendum: by default the demo server's clock starts inside its
# issue window. `make run DEMO_CLOCK=2022-06-05T09:00:00+05:00` starts on voting day instead, and
# `make run DEMO_CLOCK=` runs on the real clock. `make run DEMO_ELECTION=ref2026` adds the 15 March
# 2026 referendum and starts inside its window.
DEMO_ELECTION ?= ref2022
ifeq ($(DEMO_ELECTION),ref2026)
DEMO_CLOCK ?= 2026-03-01T10:00:00+05:00
else
DEMO_CLOCK ?= 2022-05-25T10:00:00+06:00
endif
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test lint typecheck pytest bench clean translations system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when the requirements change.
$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Compiled catalogs are build output; the .po files are the source.
translations: $(VENV)/.runtime-installed
	$(BIN)/pybabel -q compile -d translations

# Debian's pdftoppm (documents to PNG) and chromium (browser tests; never a downloaded build),
# installed when missing and we are root.
system-deps:
	@if ! command -v pdftoppm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; \
	  else echo "note: pdftoppm missing (poppler-utils); document image tests will skip"; fi; \
	fi
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium missing; browser tests will skip (they fail under CI=true)"; fi; \
	fi

run: $(VENV)/.runtime-installed translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@if [ "$(DEMO_ELECTION)" != ref2022 ]; then $(BIN)/flask seed-demo --election $(DEMO_ELECTION); fi
	@echo "Kuelik is serving on http://$(HOST):$(PORT)/ (clock starts at: $(or $(DEMO_CLOCK),now))"
	KUELIK_CLOCK_START="$(DEMO_CLOCK)" $(BIN)/gunicorn --workers 2 --threads 4 --bind $(HOST):$(PORT) 'app:create_app()'

test: $(VENV)/.dev-installed system-deps translations lint typecheck pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed
	$(BIN)/pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.bench_workflow
	$(BIN)/python -m bench.bench_pdf
	$(BIN)/python -m bench.bench_api
	$(BIN)/python -m bench.bench_setup --quick
	$(BIN)/python -m bench.bench_load --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
