# The two commands of the README: `make run` and `make test`.  Both create .venv on
# first use and install what they need; nothing else has to be on the machine but
# Python 3.11 (and Debian's apt for the sandbox's bubblewrap and the browser test's
# chromium, installed only when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_DSN ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000
APT := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: run test lint bench clean sandbox-deps chromium plantuml

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,beam]'
	touch $@ $(VENV)/.run-deps

# Untrusted Python runs under bubblewrap with Debian's own python3.11 (see
# ../shared/design/SANDBOX.md); both come from apt when they are missing.
sandbox-deps:
	@if ! command -v bwrap >/dev/null || [ ! -x /usr/bin/python3.11 ]; then \
		echo "installing bubblewrap and python3.11 for the sandbox"; \
		$(APT) update -qq && $(APT) install -y -qq bubblewrap python3.11 >/dev/null; fi

# The pages are tested in a real headless browser: Debian's chromium at /usr/bin/chromium,
# driven by Playwright (which is never allowed to download a browser of its own).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium for the browser test"; \
		$(APT) update -qq && $(APT) install -y -qq chromium >/dev/null; fi

# The slide-18 PlantUML is checked (and rendered) by Debian's plantuml, not a structural fallback.
plantuml:
	@if ! command -v plantuml >/dev/null; then \
		echo "installing plantuml for the diagram test"; \
		$(APT) update -qq && $(APT) install -y -qq plantuml >/dev/null; fi

# The README's pictures of the pages (docs/*.png, 1280 and 390 px wide), taken in Debian's
# chromium from a service on a temporary SQLite database; commit them when the pages change.
.PHONY: screenshots
screenshots: $(VENV)/.test-deps chromium
	$(BIN)/python -m tests.grader.web.screenshots --out docs

run: $(VENV)/.run-deps sandbox-deps
	mkdir -p var
	$(BIN)/streamgrade serve --host $(HOST) --port $(PORT) --db sqlite:///$(CURDIR)/var/streamgrade.db

# The suite uses the local PostgreSQL server when it answers (tests that need it say
# clearly when they skip), and runs `streamgrade verify` on the exercise data.
test: $(VENV)/.test-deps sandbox-deps chromium plantuml
	$(BIN)/ruff check .
	@if [ -z "$$STREAMGRADE_PG_DSN" ] && $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_DSN)', connect_timeout=2).close()" 2>/dev/null; then \
		echo "PostgreSQL answers at $(PG_DSN): its tests use it"; \
		export STREAMGRADE_PG_DSN='$(PG_DSN)'; \
	else echo "PostgreSQL: $${STREAMGRADE_PG_DSN:-not reachable at $(PG_DSN); its tests will skip}"; fi; \
	$(BIN)/python -m pytest -q
	$(BIN)/streamgrade verify --variants 200

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .

bench: $(VENV)/.test-deps sandbox-deps
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/grading.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/service.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
