# The README's two commands: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bluegreen deploy product-service --strategy canary10 --dry-run

lint: $(STAMP)
	$(BIN)/ruff check .
	@if [ -f template.yaml ]; then $(BIN)/cfn-lint template.yaml; fi

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -n 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
