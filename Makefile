# Eco2 twin. `make demo` and `make test` set up everything they need on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TWIN    := $(BIN)/twin
PYTEST  := $(BIN)/python -m pytest

.PHONY: install demo tui test test-slow lint servers bench twin-up twin-down clean

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)  ## .venv from the lock file, test dependencies included

demo: $(STAMP)  ## the main job on the embedded simulator (no cluster needed)
	$(TWIN) demo

tui: $(STAMP)  ## the terminal UI on Eco2 prod (q quits)
	$(TWIN) tui

# Debian packages of the real servers that drills and calibration tests start on 127.0.0.1
SERVER_PKGS := redis-server redis-sentinel postgresql rabbitmq-server

servers:  ## install the real servers (Redis, Sentinel, PostgreSQL, RabbitMQ) from Debian's packages, as root
	@missing=""; for p in $(SERVER_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null 2>&1; \
	  else echo "servers: missing$$missing (install them with apt-get; tests that need them will skip)"; fi; \
	fi

test: $(STAMP) servers  ## the fast suite (under 10 minutes on two cores)
	$(PYTEST) -q

test-slow: $(STAMP) servers  ## long cases: high-utilisation theory checks, real drills
	$(PYTEST) -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check twin tui tests bench
	$(BIN)/lint-imports --config .importlinter

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

twin-up: $(STAMP)
	$(TWIN) up

twin-down: $(STAMP)
	$(TWIN) down

clean:
	rm -rf $(VENV) out
