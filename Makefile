# bldgwatch: `make demo` runs the whole system, `make test` runs every test.
# Both install what is missing first (Debian/Ubuntu packages through apt, a virtualenv with the project).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian package -> a file it installs; missing files mean the package is installed.
SYSTEM_PACKAGES := mosquitto:/usr/sbin/mosquitto mosquitto-clients:/usr/bin/mosquitto_passwd \
                   influxdb:/usr/bin/influxd postgresql:/usr/lib/postgresql \
                   socat:/usr/bin/socat mbpoll:/usr/bin/mbpoll openssl:/usr/bin/openssl \
                   chromium:/usr/bin/chromium nodejs:/usr/bin/node npm:/usr/bin/npm \
                   fonts-noto-cjk:/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
                   influxdb-client:/usr/bin/influx iproute2:/usr/sbin/ip

# The console's browser application (console/web): npm packages from the registry, built by
# Vite into console/web/dist (never committed), its API client generated from the OpenAPI
# document of the Python API (`bldgwatch openapi`).
WEB        := console/web
WEB_BUILT  := $(WEB)/dist/index.html
WEB_INPUTS := $(shell find $(WEB)/src $(WEB)/public -type f -not -name schema.d.ts 2>/dev/null) \
              $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json $(WEB)/shell/sw.js
API_INPUTS := $(shell find console core rules maintenance -name '*.py' 2>/dev/null)

.PHONY: demo test lint typecheck webcheck pycache web wheel unit bench system venv clean help

help:
	@echo "make demo   - run the whole system on loopback (console on http://127.0.0.1:8080)"
	@echo "make test   - lint, type-check and run every test on real servers"
	@echo "make bench  - run the benchmarks in bench/ (prints key=value figures)"
	@echo "make wheel  - build the installable wheel into dist/ (console included)"

system:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do \
	  pkg=$${entry%%:*}; path=$${entry#*:}; [ -e "$$path" ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml $(WEB)/package.json $(WEB)/package-lock.json
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# the Python and the npm packages download side by side; either failing fails the step
	(cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error) & npm=$$!; \
	$(BIN)/python -m pip install -q -e '.[dev]'; pip=$$?; \
	wait $$npm && [ $$pip = 0 ]
	@touch $(STAMP)

$(WEB)/openapi.json: $(STAMP) $(API_INPUTS)
	$(BIN)/bldgwatch openapi --output $@

$(WEB_BUILT): $(STAMP) $(WEB)/openapi.json $(WEB_INPUTS)
	cd $(WEB) && npm run --silent build

web: $(WEB_BUILT)

venv: $(STAMP) web

# Lint (eslint: Vue + TypeScript rules, no bare text in templates), type-check (vue-tsc) and
# component tests (vitest) of the browser application.
webcheck: web
	cd $(WEB) && npm run --silent lint && npm run --silent typecheck && npm run --silent test

# The installable wheel (with the console's built web application) in dist/.
wheel: venv
	rm -rf build
	$(BIN)/python -m build --wheel --outdir dist .

demo: system venv
	$(BIN)/bldgwatch demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

# The suite runs on TEST_WORKERS pytest-xdist workers (each starts its own Mosquitto, InfluxDB
# and PostgreSQL on free loopback ports); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 4

# The test run writes compiled modules (into __pycache__, which git ignores) whatever
# PYTHONDONTWRITEBYTECODE the environment sets: each worker, and each service a test starts,
# would otherwise compile the project again, and pytest rewrite and compile every test module
# again (13 s of CPU a worker out of 23 s of collecting). `pycache` fills the cache once,
# beside the checks, by collecting the suite without running it; the workers load it.
test pycache: export PYTHONDONTWRITEBYTECODE :=

pycache: venv
	@log=$$(mktemp) && trap 'rm -f "$$log"' EXIT && \
	  $(BIN)/pytest -q -p no:cacheprovider --collect-only >"$$log" || { cat "$$log"; exit 1; }

# The checks run side by side (mypy is single-threaded, vitest and eslint mostly wait on
# one core too); the suite starts when all of them passed.
# --durations: the slowest 30 set-ups, calls and tear-downs printed after the summary, so every
# run (CI's too) shows where the suite's time goes.
test: system venv
	$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck webcheck pycache
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal --durations=30

bench: system venv
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	find . -name __pycache__ -not -path './.venv/*' -not -path './$(WEB)/node_modules/*' -prune -exec rm -rf {} +
	rm -rf var .pytest_cache .mypy_cache .ruff_cache $(WEB)/dist $(WEB)/openapi.json $(WEB)/src/api/schema.d.ts
