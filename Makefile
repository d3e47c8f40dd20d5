# Quick start: `make sandbox` starts everything, `make test` runs the tests. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# the packages under services/ (services/common is svc_common): installed editable with their test
# extras beside the project, so tests import them as installed packages (no sys.path edits)
PACKAGES := $(patsubst %/pyproject.toml,%,$(sort $(wildcard services/*/pyproject.toml)))
PYPROJECTS := pyproject.toml $(addsuffix /pyproject.toml,$(PACKAGES))
STAMP := $(VENV)/.installed-$(shell cat $(PYPROJECTS) | sha256sum | cut -c1-12)

.DEFAULT_GOAL := help
# uv checks TLS against the system's certificate store too (as pip and go do), not only its own
# bundle: needed where the registries sit behind a CA the machine adds, from a shell without SSL_CERT_FILE
export UV_SYSTEM_CERTS ?= 1

help: ## List the make targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

system-deps: ## Install Java, Maven and PostgreSQL from Debian's packages if missing
	@scripts/install-system-deps.sh

$(STAMP): $(PYPROJECTS)
	@command -v $(PYTHON) >/dev/null || scripts/install-system-deps.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || { $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip >/dev/null; $(BIN)/python -m pip install -q uv; }
	$(BIN)/uv pip install -q --compile-bytecode -p $(BIN)/python -e '.[test]' $(foreach p,$(PACKAGES),-e '$(p)[test]')
	@rm -f $(VENV)/.installed-* && touch $@

venv: system-deps $(STAMP) ## Create/update the virtualenv at .venv

tools: ## Build the pinned Go tools (kustomize, kube-score, gitops-validate, lichen, OpenTofu) into .cache/bin
	scripts/install-gitops-tools.sh

sandbox: venv ## Start (or heal) the whole sandbox
	@scripts/install-gitops-tools.sh kustomize tofu >/dev/null
	$(BIN)/sandbox up

down: venv ## Stop the sandbox (no orphan processes)
	$(BIN)/sandbox down

status: venv ## Show each component's state, health and memory
	$(BIN)/sandbox status

doctor: venv ## Check prerequisites and print fixes
	$(BIN)/sandbox doctor

lint: venv ## ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade) over the whole tree, mypy over sandbox/; make test runs it first
	$(BIN)/ruff check .
	$(BIN)/mypy

test: venv lint tools ## Run all tests: lint, unit, then every suite against one real sandbox (scripts/test.sh)
	scripts/test.sh

gitops-check: tools ## kustomize build, offline schema validation and kube-score of gitops/
	scripts/gitops-check.sh

scenarios: venv tools ## End-to-end scenario suites (flows + faults), 2 workers; reports/scenarios.json
	$(BIN)/python -m pytest -n 2 --dist loadgroup scenarios

tf-check: venv ## fmt/validate/test (OpenTofu) and the checkov gate on both roots
	@scripts/install-gitops-tools.sh tofu >/dev/null
	terraform/check.sh

load: venv ## The seed's booking load with Locust (load/locustfile.py, up to 150 users; LOAD_SCALE shortens it); shows the HPA scaling
	scripts/load.sh

load-ui: venv ## Locust's web UI (charts of rate, latency, users) on 127.0.0.1:8089 against the native sandbox
	scripts/load.sh ui

licenses: venv tools ## Licence of every third-party package installed or built (Python, Go, npm, Maven, Debian); reports/licenses.json; fails on non-open ones
	$(BIN)/python scripts/licenses.py --output reports/licenses.json

images: venv ## Build the docker runtime's local stand-in images (cached by input hash)
	@scripts/install-gitops-tools.sh kustomize >/dev/null  # the service list is the rendered overlay's
	$(BIN)/python -m sandbox.images

# the docker runtime's own state dir and ports (+400, as tests/docker): a native sandbox may run
DOCKER_TEST_ENV = SANDBOX_STATE_DIR=$(CURDIR)/.sandbox-docker $(shell $(BIN)/python -c \
	'from sandbox.instances import docker_test_env; print(*(f"{k}={v}" for k, v in docker_test_env().items()))')

test-docker: venv ## Docker runtime: engine, images (cached), tests/docker, then the scenario suites on it
	@scripts/install-gitops-tools.sh kustomize tofu >/dev/null
	scripts/docker-engine.sh
	$(BIN)/python -m sandbox.images
	$(BIN)/python -m pytest tests/docker
	$(DOCKER_TEST_ENV) SCENARIO_TARGET=docker SCENARIO_REPORT=reports/scenarios-docker.json $(BIN)/python -m pytest -n 2 --dist loadgroup scenarios

bench: venv ## Native product numbers, then native vs docker side by side; JSON in reports/bench.json
	@scripts/install-gitops-tools.sh kustomize tofu >/dev/null
	scripts/docker-engine.sh && $(BIN)/python -m sandbox.images || echo "bench: no Docker engine/images; the docker runtime is reported as skipped"
	$(BIN)/python bench/bench_sandbox.py --output reports/bench.json

clean: ## Stop the sandbox and delete its state (keeps downloads in .cache)
	-$(BIN)/sandbox down --wipe

.PHONY: help system-deps venv lint tools sandbox down status doctor test scenarios gitops-check tf-check load load-ui licenses images test-docker bench clean

cluster-tools: ## Build the binaries of a one-node Kubernetes cluster (Kubernetes 1.36, etcd, CoreDNS, metrics-server, ArgoCD, pause) into ~/.cache/cloud-sandbox/cluster
	scripts/install-cluster-tools.sh

observability-tools: ## Build Prometheus (with its UI), promtool, Perses (with its UI and plugins), VictoriaLogs, vlagent, postgres_exporter, the Pushgateway and the log shipper (an OpenTelemetry Collector) into ~/.cache/cloud-sandbox/observability
	scripts/install-observability-tools.sh
	scripts/install-perses.sh

cluster-deps: venv
	@scripts/install-system-deps.sh --cluster
	@scripts/install-gitops-tools.sh kustomize tofu >/dev/null
	scripts/docker-engine.sh
	scripts/install-cluster-tools.sh

sandbox-cluster: cluster-deps ## Start (or heal) the sandbox with the services in a one-node Kubernetes built from source (`sandbox up --cluster`)
	$(BIN)/sandbox up --cluster

# cluster mode's own state dir and ports (+600): the native and docker sandboxes may run beside it
CLUSTER_TEST_ENV = SANDBOX_STATE_DIR=$(CURDIR)/.sandbox-cluster $(shell $(BIN)/python -c \
	'from sandbox.instances import cluster_test_env; print(*(f"{k}={v}" for k, v in cluster_test_env().items()))')

test-cluster: cluster-deps ## Cluster mode: tests/cluster, then `up --cluster` on its own instance, tests/cluster_mode and every scenario suite (SCENARIO_TARGET=cluster) against it, `down`, and a check that nothing stayed
	$(BIN)/python -m pytest tests/cluster
	$(CLUSTER_TEST_ENV) $(BIN)/sandbox up --cluster || { $(CLUSTER_TEST_ENV) $(BIN)/sandbox down; exit 1; }
	$(CLUSTER_TEST_ENV) $(BIN)/python -m pytest tests/cluster_mode --ignore tests/cluster_mode/test_teardown.py; \
	  status=$$?; \
	  $(CLUSTER_TEST_ENV) SCENARIO_TARGET=cluster SCENARIO_KEEP=1 SCENARIO_REPORT=reports/scenarios-cluster.json \
	    $(BIN)/python -m pytest -n 2 --dist loadgroup scenarios || status=1; \
	  $(CLUSTER_TEST_ENV) $(BIN)/sandbox down || status=1; \
	  $(CLUSTER_TEST_ENV) $(BIN)/python -m pytest tests/cluster_mode/test_teardown.py || status=1; exit $$status

.PHONY: cluster-tools observability-tools cluster-deps sandbox-cluster test-cluster
