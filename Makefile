# Cutover — every target runs on Node >= 22.19. The machines here ship Node 20,
# so when the system Node is too old we install the npm package node@24 into a
# cache outside the clone and put it first on PATH for every recipe.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CACHE ?= $(HOME)/.cache/cutover
export CUTOVER_CACHE := $(CACHE)
CLUSTER_DIR ?= $(CURDIR)/.cluster
export KUBECONFIG := $(CLUSTER_DIR)/kubeconfig
REPORTS := $(CURDIR)/reports

NODE_OK := $(shell node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' >/dev/null 2>&1 && echo yes)
ifeq ($(NODE_OK),yes)
NODE := $(shell command -v node)
else
NODE24 := $(CACHE)/node24
NODE := $(NODE24)/node_modules/.bin/node
export PATH := $(NODE24)/node_modules/.bin:$(PATH)
endif
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

JEST := node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js


.PHONY: help deps node prometheus postgres lua kstatus helm build lint verify crds generate test-unit test-integration test \
        cluster-up cluster-down cluster-binaries run demo bench clean image image-tools

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

$(NODE):
	@command -v npm >/dev/null || { echo "make: npm not found; install Node.js >= 20 with npm (apt-get install nodejs npm)" >&2; exit 1; }
	@echo "installing Node 24 from the npm package node@24 into $(NODE24)"
	@mkdir -p $(NODE24) && cd $(NODE24) && npm install --no-save --no-audit --no-fund --loglevel=error node@24 >/dev/null \
	  || { echo "make: could not install node@24 from the npm registry (see npm's error above)" >&2; exit 1; }

node: $(NODE) ## make sure Node >= 22.19 is available
	@node --version >/dev/null

node_modules/.install-stamp: package-lock.json | $(NODE)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

prometheus: ## install Debian's prometheus when it is missing (integration tests run it)
	@if ! command -v prometheus >/dev/null && [ ! -x /usr/bin/prometheus ]; then \
	  echo "installing prometheus (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) \
	    || { echo "make: apt-get install prometheus failed; install it by hand (needs root)" >&2; exit 1; }; \
	  systemctl disable --now prometheus >/dev/null 2>&1 || service prometheus stop >/dev/null 2>&1 || true; \
	fi

postgres: ## install Debian's PostgreSQL 15 server when it is missing (integration tests run throwaway clusters)
	@if [ ! -x /usr/lib/postgresql/15/bin/postgres ] && [ -z "$${PG_BIN:-}" ]; then \
	  echo "installing postgresql-15 (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null) \
	    || { echo "make: apt-get install postgresql-15 failed; install it by hand or set PG_BIN" >&2; exit 1; }; \
	  service postgresql stop >/dev/null 2>&1 || true; \
	fi

cluster-binaries: ## build kube-apiserver, controller-manager, scheduler, etcd and KWOK into $(CACHE)
	@bash test/cluster/build.sh all

lua: ## install Debian's lua5.4 when it is missing (the Argo CD health scripts are tested with it)
	@if ! command -v lua5.4 >/dev/null && [ -z "$${LUA_BIN:-}" ]; then \
	  echo "installing lua5.4 (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lua5.4 >/dev/null) \
	    || { echo "make: apt-get install lua5.4 failed; install it by hand (needs root) or set LUA_BIN" >&2; exit 1; }; \
	fi

kstatus: ## build the kstatus checker (sigs.k8s.io/cli-utils) into $(CACHE), for the Flux health tests
	@bash test/kstatus/build.sh >/dev/null

helm: ## build helm (helm.sh/helm/v3) into $(CACHE), for the chart tests
	@bash test/helm/build.sh >/dev/null

image-tools: ## install Debian's mmdebstrap and umoci when missing (make image builds with them, its smoke test unpacks with umoci)
	@if ! command -v mmdebstrap >/dev/null || ! command -v umoci >/dev/null; then \
	  echo "installing mmdebstrap and umoci (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap umoci >/dev/null) \
	    || { echo "make: apt-get install mmdebstrap umoci failed; install them by hand (needs root)" >&2; exit 1; }; \
	fi

image: node_modules/.install-stamp image-tools ## the operator's OCI image, without a container engine, into $(CACHE)/image (docs/image.md)
	@mkdir -p $(CACHE)/image
	@# One build at a time per cache: clones and worktrees on one machine share it.
	@flock $(CACHE)/image/.lock tsx image/build.ts

deps: node node_modules/.install-stamp prometheus postgres lua cluster-binaries kstatus helm image-tools ## install everything the tests need

build: node_modules/.install-stamp ## compile TypeScript to dist/
	tsc -p tsconfig.build.json

lint: node_modules/.install-stamp ## ESLint, Prettier and the type checker
	eslint --max-warnings 0 .
	prettier --check --log-level warn .
	tsc -p tsconfig.json --noEmit

generate crds: node_modules/.install-stamp ## regenerate crds/*.yaml, the API types, the files image/image.json decides and the chart's copies
	tsx operator/api/generate.ts

verify: node_modules/.install-stamp ## fail when generated files are stale
	tsx operator/api/generate.ts --check

test-unit: node_modules/.install-stamp ## unit tests (no cluster)
	@mkdir -p $(REPORTS)
	$(JEST) --selectProjects unit --json --outputFile $(REPORTS)/unit.json

test-integration: node_modules/.install-stamp prometheus postgres lua cluster-up build image ## integration tests against the local cluster, PostgreSQL and Prometheus
	@mkdir -p $(REPORTS)
	$(JEST) --selectProjects integration --runInBand --json --outputFile $(REPORTS)/integration.json

test: lint verify test-unit test-integration ## everything CI runs

cluster-up: node ## start the local cluster (idempotent); kubeconfig in .cluster/kubeconfig
	@CUTOVER_CLUSTER_DIR=$(CLUSTER_DIR) bash test/cluster/up.sh

cluster-down: ## stop every process of the local cluster
	@CUTOVER_CLUSTER_DIR=$(CLUSTER_DIR) bash test/cluster/down.sh

run: build cluster-up ## run the operator against the local cluster (V8 flags as in config/manager)
	node --max-semi-space-size=2 dist/operator/cli.js operator

demo: node_modules/.install-stamp prometheus cluster-up build ## the release story on the local cluster: samples, v1, v2 with migrations and live steps, v3 rolled back, a promotion through gates
	@tsx test/demo.ts

bench: node_modules/.install-stamp cluster-up ## benchmarks under bench/
	@for b in bench/*.ts; do [ -e "$$b" ] || continue; echo "== $$b"; tsx "$$b"; done

clean: ## remove build output (not the caches)
	rm -rf dist reports coverage
