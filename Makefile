# Rampart. `make help` lists the targets.
SHELL     := /bin/bash
GO        ?= go
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
TOOLS_DIR := $(CURDIR)/.cache/bin
STATICCHECK_VERSION := 2026.1
export RAMPART_TOOLS_DIR := $(TOOLS_DIR)

.DEFAULT_GOAL := help
.PHONY: help build test unit fuzz bench dos lint generate deps tools demo clean

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build every binary into bin/
	$(GO) build -o bin/ ./cmd/...

demo: ## run the Star Wars scenario on real namespaces (needs root, cgroup v2, eBPF)
	$(GO) build -o bin/ ./cmd/rampart ./cmd/rampart-proxy
	./bin/rampart demo

test: deps tools ## everything CI runs: vet, all tests (root tests too), short fuzz runs
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

unit: ## the tests alone, without installing anything
	$(GO) test -count=1 ./...

fuzz: ## run every Fuzz target for FUZZTIME (default 10s)
	GO=$(GO) bash .ci/fuzz $(FUZZTIME)

bench: ## run the Go benchmarks
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

dos: ## hostile-input suite: Rampart vs nginx and HAProxy side by side (DOS_FLAGS=-duration 5s ...)
	$(GO) run ./test/bench/dos $(DOS_FLAGS)

lint: ## go vet + staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

generate: ## regenerate the eBPF objects (needs clang)
	$(GO) generate ./redirect/...

deps: ## install the Debian packages the tests use (as root; skipped when present)
	@bash .ci/deps

tools: ## build third-party test binaries (kube-apiserver, etcd, SPIRE, ...) into .cache/bin
	@set -e; for s in test/tools/*/build.sh; do [ -f "$$s" ] && bash "$$s" "$(TOOLS_DIR)"; done; true

clean: ## remove built binaries (keeps the tool cache)
	rm -rf bin/
