# The two commands of README.md: `make run` and `make test`. Each creates .venv on a fresh
# machine and installs the locked dependencies it needs, once (re-installs when a lock file
# changes). requirements*.txt name what the project uses; requirements*.lock (`make lock`)
# pin those and everything they pull in, with hashes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
PORT ?= 8501
# pytest-xdist worker processes. More than the 2 cores: many tests wait on subprocesses,
# servers and sleeps rather than compute.
JOBS ?= 4
# --dist loadgroup: each group of tests that must not run beside one another (the process
# races, the browser; see SERIAL_GROUPS in tests/conftest.py) runs in a single worker.
PYTEST_PARALLEL := -n $(JOBS) --dist loadgroup
# Python writes its bytecode caches (__pycache__/, ignored by git) even where the machine
# says not to: a test run starts about a thousand Python processes, and without the caches
# each compiles the product again, and each pytest process rewrites every test module
# again (4 of its 12 s of CPU to collect the suite).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast test-faketime test-faketime-all lint typecheck lock bench samples notebook clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements.lock | $(PY)
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	touch $@

$(DEV): requirements-dev.lock $(RUNTIME)
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	touch $@

run: $(RUNTIME)
	$(PY) -m sms_core run --port $(PORT)

# Every check runs even when an earlier one fails, so one run shows all that is wrong; the
# target fails if any did. pytest exits 5 when it collected no test: a failure here, never
# a pass.
test: $(DEV)
	@failed=""; \
	$(PY) -m ruff check . || failed="$$failed ruff-check"; \
	$(PY) -m ruff format --check . || failed="$$failed ruff-format"; \
	$(PY) -m mypy || failed="$$failed mypy"; \
	$(PY) -m pytest $(PYTEST_PARALLEL); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	[ $$rc -eq 0 ] || failed="$$failed pytest"; \
	if [ -n "$$failed" ]; then echo "make test: failed:$$failed" >&2; exit 1; fi

# The inner loop: the unit and AppTest layers in parallel, without the million-row cases
# (marked slow; `make test` runs them).
test-fast: $(DEV)
	$(PY) -m pytest $(PYTEST_PARALLEL) -m "not slow" tests/unit tests/app; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-fast: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

# The suite (browser test aside) with the system clock shifted to FAKETIME_AT: by default
# 23:30 Japan time on a month's last day (issue 11). Needs the Debian package faketime.
FAKETIME_AT ?= 2026-11-30 23:30:00 +0900
test-faketime: $(DEV)
	PY=$(PY) JOBS=$(JOBS) .ci/test-faketime "$(FAKETIME_AT)"

# The whole unit, integration and app layers under the shifted clock (about as long as
# make test).
test-faketime-all: $(DEV)
	PY=$(PY) JOBS=$(JOBS) .ci/test-faketime "$(FAKETIME_AT)" tests/unit tests/integration tests/app

lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(DEV)
	$(PY) -m mypy

# Resolve requirements*.txt into the lock files, with the hashes of every file of each
# version (so any platform's wheel installs). Pins already in a lock file are kept while
# they still fit; `make lock LOCK_UPGRADE=--upgrade` moves everything to the newest that
# fits. The dev lock is constrained by the runtime lock, so both pin every shared package
# to the same version. Needs the package index.
LOCK_UPGRADE ?=
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_UPGRADE)
lock: $(DEV)
	$(PY) -m piptools compile $(LOCK_FLAGS) -o requirements.lock requirements.txt
	$(PY) -m piptools compile $(LOCK_FLAGS) -c requirements.lock \
		-o requirements-dev.lock requirements-dev.txt

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
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis artifacts
