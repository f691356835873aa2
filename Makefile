# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
API_PORT ?= 8000
UI_PORT ?= 8501
# Test processes (pytest-xdist); a test file stays on one worker, so its module fixtures are built once.
TEST_WORKERS ?= auto

.PHONY: run test install install-dev chromium bench lint clean

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 wird benötigt ($(PYTHON) nicht gefunden)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(PY) requirements.txt constraints.txt
	$(PIP) install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

chromium:
	@{ command -v chromium && command -v pdftotext && test -d /usr/share/fonts/truetype/noto; } >/dev/null || { \
		echo "Installiere Debian-Chromium, Schriften und poppler-utils für die Browser- und PDF-Tests ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core \
			fonts-noto-color-emoji poppler-utils >/dev/null; }

run: install
	$(PY) manage.py db upgrade
	$(PY) manage.py demo seed --size small --if-empty
	@echo "Demo-Anmeldungen (Passwort jeweils demo-passwort-2026): demo.admin, demo.vertriebsleitung,"
	@echo "  demo.vertrieb1..3, demo.marketing, demo.datenschutz, demo.gast – Übersicht im README."
	$(PY) manage.py serve --api-port $(API_PORT) --ui-port $(UI_PORT)

test: install-dev chromium
	mkdir -p test-artifacts
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: install-dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .coverage
