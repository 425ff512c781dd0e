# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$p; break; fi; done)

.PHONY: install demo serve test test-production test-clocks lint debian-packages clean embed messages

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 is required (pyenv install 3.12)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# What the tests need from Debian: Chromium (browser tests, required), gettext (the translation
# catalogues' check) and nginx (the reference proxy cache, deploy/nginx.conf; its tests skip
# without it). Installed when missing, as root.
debian-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v msgmerge >/dev/null 2>&1 || missing="$$missing gettext"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  elif ! command -v chromium >/dev/null 2>&1; then \
	    echo "Browser tests need Debian's chromium at /usr/bin/chromium: sudo apt-get install$$missing" >&2; exit 1; \
	  else \
	    echo "The nginx tests will skip: sudo apt-get install nginx-light" >&2; \
	  fi; \
	fi

demo: install
	$(BIN)/python manage.py demo

# The production configuration under granian (README "Production"): refuses without
# SECRET_KEY, MERCHANT_ENCRYPTION_KEYS and ALLOWED_HOSTS; LOCAL=1 tries it over plain HTTP.
serve: install
	$(BIN)/python -m devtools.production $(if $(filter 1,$(LOCAL)),--local)

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

# What /embed.js serves, built from static/embed/embed.js (committed: deployments need no Node).
# Writes embed.min.js and embed.min.js.br.
static/embed/embed.min.js: static/embed/embed.js devtools/minify-embed.mjs node_modules/.installed
	node devtools/minify-embed.mjs

embed: static/embed/embed.min.js

test: install debian-packages node_modules/.installed embed
	$(BIN)/python -m pytest

# The production configuration: PostgreSQL and Redis on this machine.
test-production: install debian-packages node_modules/.installed embed
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/python -m pytest

# The date-dependent tests (-m dates) once per moment, with the clock of every process pinned
# there (tests/clock.py): a year end at 23:30 UTC, a month end, and the eve of the US, EU and
# Australian clock changes in the venues' zones.
CLOCKS ?= 2026-12-31T23:30:00Z 2027-02-28T23:30:00Z 2027-03-14T06:30:00Z \
	2027-03-28T00:30:00Z 2027-04-03T15:30:00Z

test-clocks: install debian-packages node_modules/.installed
	@failed=""; for clock in $(CLOCKS); do \
	  echo "=== clock pinned to $$clock"; \
	  $(BIN)/python -m pytest -m dates --clock=$$clock || failed="$$failed $$clock"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-clocks failed at:$$failed" >&2; exit 1; fi

# The translation catalogues (locale/): the strings marked since, then compiled. The suite checks
# that none is missing, untranslated or fuzzy (tests/test_languages.py).
messages: install
	$(BIN)/python -m devtools.messages

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var
