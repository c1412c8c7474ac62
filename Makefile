# The README's two commands: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ruff lint typecheck lambda bench clean

# The venv's modules get their bytecode on first import, also where PYTHONDONTWRITEBYTECODE is set
# (an empty value is off): with --no-compile below, a process that may not write it compiles every
# module it imports from source, each time (boto3's import took 0.9 s instead of 0.3 s and the cold
# start benchmark's baseline with it). demo, bench and test run with this.
WRITE_BYTECODE := PYTHONDONTWRITEBYTECODE=

# --no-compile: pip would compile every installed module to bytecode (botocore, moto, scipy,
# matplotlib, awscli: ~50 of the ~95 s the install took from a clean clone); Python compiles what is
# imported, once, on first use (the tests write __pycache__, see TEST_ENV below).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev,sandbox,report]'
	touch $(STAMP)

# Two sandbox rehearsals of product-service with canary10: a healthy release (exit 0), then one
# with --inject-fault error_rate=0.5 that the alarm catches and CodeDeploy rolls back (exit 1,
# checked). Exits 0 when both end as expected. See sandbox/demo.py.
demo: $(STAMP)
	$(WRITE_BYTECODE) $(BIN)/python -m sandbox.demo

ruff: $(STAMP)
	$(BIN)/ruff check .

lint: ruff
	@if [ -f template.yaml ]; then $(BIN)/cfn-lint template.yaml; fi

typecheck: $(STAMP)
	$(BIN)/mypy

# --dist loadscope: a test module sharing a module-scoped fixture (a sandbox world) runs on one worker,
# which builds it once; every other test is scheduled on its own (tests/conftest.py says why).
# -n 3 on 2 cores: with 2 workers a quarter of the CPU sat idle (vmstat: 27 % over the run; a sandbox
# world waits on its virtual clock, a CLI process on its poll), and a third worker fills it: the same
# 4,033 tests on a quiet 2-core machine took 689 s with -n 2 and 602 s with -n 3 (idle ~5 %).
# Tests marked `solo` burn CPU on purpose (the sandbox must not invent failures on a busy machine):
# run alone, after the others, so they load only themselves. Tests marked `realtime` hold a hook to a
# Lambda deadline of 2 s in real seconds: beside a sandbox world on the other worker a CPU-starved
# moment overran it (a clean clone: 0.61 s late), so they run in that second, quiet phase too.
# Bytecode caches are written even where PYTHONDONTWRITEBYTECODE is set (an empty value is off):
# three pytest processes collect the suite, and without __pycache__ each compiled and
# assertion-rewrote every test module again (6 CPU s each instead of 3), as every subprocess a test
# starts recompiled the project's modules. __pycache__/ is git-ignored; `make clean` removes it.
TEST_ENV := $(WRITE_BYTECODE)
# No cfn-lint step: tests/hooks/test_template.py runs cfn-lint on template.yaml (and fails on any
# output at all, stricter than the exit code `make lint` looks at); running it twice cost ~4 s.
test: $(STAMP) ruff typecheck
	$(TEST_ENV) $(BIN)/pytest -q -n 3 --dist loadscope -m "not solo and not realtime"
	$(TEST_ENV) $(BIN)/pytest -q -m "solo or realtime"

# The Lambda package (hooks/ + orchestrator's pure modules + services.yaml + alarms/) under build/lambda,
# the CodeUri of template.yaml.
lambda: $(STAMP)
	$(BIN)/python scripts/build_lambda.py

# Benchmarks print ratios measured in one run; they are not part of `make test`.
bench: $(STAMP)
	$(WRITE_BYTECODE) $(BIN)/python bench/cli_startup.py
	$(WRITE_BYTECODE) $(BIN)/python bench/hook_cold_start.py
	$(WRITE_BYTECODE) $(BIN)/python bench/exposure.py
	$(WRITE_BYTECODE) $(BIN)/python bench/audit_scale.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
