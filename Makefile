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
                   iproute2:/usr/sbin/ip

.PHONY: demo test lint typecheck unit bench system venv clean help

help:
	@echo "make demo   - run the whole system on loopback (console on http://127.0.0.1:8080)"
	@echo "make test   - lint, type-check and run every test on real servers"
	@echo "make bench  - run the benchmarks in bench/ (prints key=value figures)"

system:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do \
	  pkg=$${entry%%:*}; path=$${entry#*:}; [ -e "$$path" ] || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The console's browser libraries (uPlot) come from the npm registry at install time.
$(STAMP): pyproject.toml console/web/package-lock.json
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	cd console/web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

venv: $(STAMP)

demo: system venv
	$(BIN)/bldgwatch demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

test: system venv lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

bench: system venv
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
