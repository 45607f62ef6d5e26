# The two commands of README.md: `make run` and `make test`. Each creates .venv on a fresh
# machine and installs the pinned dependencies it needs, once (re-installs when a
# requirements file changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
PORT ?= 8501

.PHONY: run test lint bench samples notebook clean test-faketime

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RUNTIME): requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(DEV): requirements.txt requirements-dev.txt $(RUNTIME)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(RUNTIME)
	$(PY) -m sms_core run --port $(PORT)

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# The suite (browser test aside) with the system clock shifted to FAKETIME_AT: by default
# 23:30 Japan time on a month's last day (issue 11). Needs the Debian package faketime.
FAKETIME_AT ?= 2026-11-30 23:30:00 +0900
test-faketime: $(DEV)
	PY=$(PY) .ci/test-faketime "$(FAKETIME_AT)"

lint: $(DEV)
	$(PY) -m ruff check .

bench: $(DEV)
	$(PY) benchmarks/preview.py
	$(PY) benchmarks/phones.py
	$(PY) benchmarks/quota.py
	$(PY) benchmarks/reports.py
	$(PY) benchmarks/dispatch.py
	$(PY) benchmarks/redirects.py
	$(PY) benchmarks/dashboard.py

samples: $(RUNTIME)
	$(PY) data/make_samples.py

# The analysts' notebook over the dashboard's reports (SMS_DATABASE_URL, else data/sms.db).
# Jupyter refuses to start as root without --allow-root (as on the project's machines).
notebook: $(DEV)
	$(PY) -m notebook $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/send_history.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis artifacts
