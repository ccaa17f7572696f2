# Set-up and entry points. `make book` and `make test` create a virtual environment in .venv
# (or use the one that is active) and install the pinned dependencies before running.
PROFILE ?= demo
FIGURES ?=
PYTHON ?= python3

ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := .venv
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.analysis-installed

.PHONY: setup book test world clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $@

book: setup  ## execute every notebook under PROFILE and build _build/html
	$(PY) -m analysis book --profile $(PROFILE) $(if $(FIGURES),--figures $(FIGURES))

test: setup  ## run the test suite
	$(PY) -m pytest

world: setup  ## build the demo world only
	$(PY) -m analysis world

clean:  ## remove build outputs (keeps the data home and its cache)
	rm -rf _build
