# One command each. `make demo` and `make test` install what they need first (as root).
PY := .venv/bin/python

.PHONY: setup demo test lint screenshots bench

setup:
	bash scripts/setup-host

demo:
	bash scripts/demo

test:
	bash scripts/test

lint: setup
	.venv/bin/pip install -q -e ".[bench]"
	.venv/bin/ruff check runtime tui tests bench
	.venv/bin/ruff format --check runtime tui tests bench
	.venv/bin/mypy
	.venv/bin/mypy -p bench

screenshots: setup
	$(PY) -m tui.screenshots screenshots

bench:
	bash scripts/setup-host
	.venv/bin/pip install -q -e ".[bench]"
	$(PY) -m bench
