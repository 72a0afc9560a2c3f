# Two commands do all the set-up on a fresh machine:
#   make demo   the main job on the bundled example and the local registries
#   make test   the whole test suite: engine, registries, lint, types, unit and integration tests
#
# The real components and how they start:
#   Docker Engine + BuildKit + buildx + compose v2 + QEMU   scripts/engine.sh (installs on Debian
#                                                           as root, else checks and reports)
#   registry:2 and the offline two-platform base image      scripts/test-images.sh
#   the registries (ghcr, hub, private)                     docker-compose.test.yml: pytest-docker
#                                                           for the tests, `make registries` here
#   a fresh runner (a throwaway second daemon)              scripts/fresh-runner.sh, through
#                                                           scripts/second-daemon.sh (as root)
#
# Nothing here prunes or removes what it did not create: `make demo` adds the example's layers to
# this engine's build cache, and its fresh runner is a daemon of its own, removed afterwards.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_COMPOSE := docker compose -f docker-compose.test.yml -p buildcache-demo
DEMO_PORTS := BUILDCACHE_GHCR_PORT=5000 BUILDCACHE_HUB_PORT=5001 BUILDCACHE_PRIVATE_PORT=5002
DEMO_BASE := 127.0.0.1:5000/base/busybox:1

.PHONY: help install engine lint unit integration test fuzz demo registries registries-down bench clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/buildcache: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/buildcache ## a virtualenv in .venv with buildcache and the test tools

engine: ## make sure a Docker engine with buildx, compose, QEMU and the test images is there
	scripts/engine.sh
	scripts/test-images.sh prepare

lint: install ## ruff (lint and format) and mypy
	$(BIN)/ruff check buildcache tests bench
	$(BIN)/ruff format --check buildcache tests bench
	$(BIN)/mypy

unit: install ## the unit tests (no engine needed)
	$(BIN)/pytest tests/unit -q

integration: install engine ## the integration tests on the real engine and registries
	BUILDCACHE_REQUIRE_ENGINE=1 $(BIN)/pytest tests/integration -q

test: install engine lint ## everything: lint, types, unit and integration tests
	BUILDCACHE_REQUIRE_ENGINE=1 $(BIN)/pytest -q

fuzz: install engine ## the long mode: 1000 inputs per property, 200 fault seeds on publishing, 10 release races
	BUILDCACHE_FUZZ=1000 $(BIN)/pytest tests/reliability -q
	@# two halves of the seeds side by side, each on registries of its own: a seed reads every
	@# tag of its registries, so one long run slows as the tags pile up
	pids=""; for first in 1 101; do \
		BUILDCACHE_REQUIRE_ENGINE=1 BUILDCACHE_FAULT_SEED=$$first BUILDCACHE_FAULT_SEEDS=100 \
			$(BIN)/pytest tests/integration/test_publish_faults.py -q -s -k seeded & pids="$$pids $$!"; \
	done; fail=0; for pid in $$pids; do wait $$pid || fail=1; done; exit $$fail
	BUILDCACHE_REQUIRE_ENGINE=1 BUILDCACHE_RACES=10 \
		$(BIN)/pytest tests/integration/test_publish_faults.py -q -k releases

registries: engine ## start the local registries on 127.0.0.1:5000 (ghcr), :5001 (hub), :5002 (login)
	$(DEMO_PORTS) $(DEMO_COMPOSE) up -d --wait
	scripts/test-images.sh push-base $(DEMO_BASE)

registries-down: ## stop the local registries and drop their data
	$(DEMO_PORTS) $(DEMO_COMPOSE) down -v
	@# the engine kept the base image `registries` pushed (docker driver): untag it with them
	-@docker image rm $(DEMO_BASE) >/dev/null 2>&1

demo: install registries ## build the example's two variants for amd64+arm64, push, then reuse the cache
	@echo "== the plan for the bundled example (buildcache.toml)"
	$(BIN)/buildcache plan --version 1.0.0
	@echo "== first release: two variants x two platforms, pushed to two registries, cache written"
	$(BIN)/buildcache build --push --version 1.0.0
	@echo "== a source-only change, then the next release on a fresh runner (a throwaway daemon with"
	@echo "== no build cache): the dependency layers come from the registry cache, only the source step runs"
	date > example/src/DEMO_CHANGE
	scripts/fresh-runner.sh $(BIN)/buildcache build --push --version 1.0.1 --min-cache-hit 0.5; status=$$?; rm -f example/src/DEMO_CHANGE; exit $$status
	@echo "== in the registries now:"
	@for r in 5000 5001; do curl -fsS http://127.0.0.1:$$r/v2/acme/widget/tags/list; echo; done
	@curl -fsS http://127.0.0.1:5000/v2/acme/widget-cache/tags/list; echo
	@echo "(make registries-down stops the registries)"

bench: install registries ## the benchmark: buildcache against plain docker buildx, side by side
	$(BIN)/python -m bench

clean: registries-down
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
