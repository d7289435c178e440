# RetailCare commands. Needs only Python 3.11+ and make: uv is installed into .tools/ on first use.
UV_VERSION := 0.13.8
PYTHON ?= python3
UV := .tools/bin/uv
RUN := $(UV) run --frozen --quiet

.PHONY: env run seed token test lint format bench clean help

help:
	@echo "make run      start PostgreSQL, the broker, migrations, 4 services and the gateway"
	@echo "make test     every test (unit, integration, end-to-end) against real PostgreSQL and broker"
	@echo "make seed     [SHOPS=5000] fill the running stack (make run) with a synthetic province, via the gateway"
	@echo "make token ROLE=<role> [MANAGER_ID=<uuid>] [COUNTY=<code>]   a development JWT (1 hour)"
	@echo "make lint     ruff and mypy"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

env: $(UV)
	$(UV) sync --frozen --all-packages --quiet

run: env
	$(RUN) python -m retailcare_shared.devrun

seed: env
	$(RUN) python -m retailcare_shared.devseed --shops $(or $(SHOPS),5000)

token: env
	@$(RUN) python -m retailcare_shared.devtoken --role "$(ROLE)" \
		$(if $(MANAGER_ID),--manager-id "$(MANAGER_ID)") $(if $(COUNTY),--county "$(COUNTY)")

test: env
	$(RUN) pytest $(PYTEST_ARGS)

lint: env
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: env
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

clean:
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache

bench: env
	$(RUN) python -m bench.run $(BENCH)
