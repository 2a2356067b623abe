# One obvious entry point. `make test` and `make demo` do all set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/tools/bin:$(PATH)

.PHONY: setup test demo lint lint-only bench clean docs

setup: $(STAMP) tools/bin/helm4 .system-packages

$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

tools/bin/helm4:
	scripts/fetch-tools.sh

.system-packages: scripts/install-system-packages.sh
	scripts/install-system-packages.sh
	touch $@

test: setup lint-only
	CILIUM_TUNE_REQUIRE_ALL=$${CI:+1} $(PY) -m pytest -n 3 --dist loadscope --no-loadscope-reorder

demo: setup
	scripts/demo.sh

lint: setup lint-only

# ruff and mypy --strict are part of `make test` (a few seconds): style and types are checked in CI too.
lint-only:
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/mypy

docs: setup
	$(VENV)/bin/cilium-tune docs --write

bench: setup
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) tools .system-packages
