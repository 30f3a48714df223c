# Thin aliases; the scripts are the source of truth.
.PHONY: check test run fmt lock

check:  ## format check, lint, mypy strict, pytest (needs .venv)
	bash scripts/check

test:  ## create .venv if missing, install with dev extras, then check
	bash scripts/test

run:  ## the whole system locally: Tansu, SecantusDB, consumer and API
	bash scripts/run

fmt:  ## rewrite formatting and apply safe lint fixes
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

lock:  ## regenerate the hashed dependency locks under requirements/ from pyproject.toml
	bash scripts/lock
