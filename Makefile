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
NSTAMP := $(VENV)/.narratives-installed

.PHONY: setup narratives-tools book test world clean

# The lpp and paper profiles read Narratives too, whose derivatives come through DataLad
# (the package's `narratives` extra) and git-annex (a system package).
setup: $(STAMP) $(if $(filter lpp paper,$(PROFILE)),narratives-tools)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $@

$(NSTAMP): $(STAMP)
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev,narratives]"
	@touch $@

narratives-tools: $(NSTAMP)  ## DataLad (pinned) and git-annex, for `fetch narratives`
	@command -v git-annex >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -qq git-annex; \
	  elif [ -n "$$CONDA_PREFIX" ] && command -v conda >/dev/null; then \
	    conda install -y -q -c conda-forge git-annex; \
	  else \
	    echo "error: git-annex is missing (the Narratives derivatives are fetched with" \
	         "DataLad, which needs it): install it with 'sudo apt-get install git-annex'," \
	         "'brew install git-annex' or 'conda install -c conda-forge git-annex'," \
	         "then run make again." >&2; exit 1; \
	  fi; }

book: setup  ## execute every notebook under PROFILE and build _build/html
	$(PY) -m analysis book --profile $(PROFILE) $(if $(FIGURES),--figures $(FIGURES))

test: setup  ## run the test suite
	$(PY) -m pytest

world: setup  ## build the demo world only
	$(PY) -m analysis world

clean:  ## remove build outputs (keeps the data home and its cache)
	rm -rf _build
