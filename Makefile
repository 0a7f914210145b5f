# Rampart. `make help` lists the targets.
SHELL     := /bin/bash
GO        ?= go
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
TOOLS_DIR := $(CURDIR)/.cache/bin
STATICCHECK_VERSION := 2026.1
export RAMPART_TOOLS_DIR := $(TOOLS_DIR)
# envtest waits 20 s for kube-apiserver by default; a loaded 2-core CI machine can need more.
export KUBEBUILDER_CONTROLPLANE_START_TIMEOUT ?= 120s
# The version every binary reports and every image is tagged with (cmd/internal/version).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
# Every timestamp inside the images: the commit time, so a commit always builds the same digests.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
VERSION_PKG := github.com/rampart-mesh/rampart/cmd/internal/version
LDFLAGS   := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).revision=$(REVISION)
IMAGES_DIR := $(CURDIR)/.cache/images
REGISTRY  ?=

.DEFAULT_GOAL := help
.PHONY: help build images push test race unit fuzz bench dos lint generate deps tools demo clean cluster cluster-down

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build every binary into bin/, stamped with VERSION
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

images: ## build the OCI images (proxy, injector, node, demo, pause) into .cache/images, no Docker needed
	$(GO) run ./cmd/rampart-images build -out $(IMAGES_DIR) -version $(VERSION) -revision $(REVISION) -epoch $(SOURCE_DATE_EPOCH)

push: images ## push the images to REGISTRY=host:port[/path] (plain HTTP only to loopback)
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=host:port" >&2; exit 2; }
	$(GO) run ./cmd/rampart-images push -out $(IMAGES_DIR) -registry $(REGISTRY)

demo: ## run the Star Wars scenario on real namespaces (needs root, cgroup v2, eBPF)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/rampart ./cmd/rampart-proxy
	./bin/rampart demo

cluster: images ## start a single-node Kubernetes cluster with Rampart installed from the images; Ctrl-C removes it
	@set -e; for t in kube containerd coredns registry; do bash test/tools/$$t/build.sh "$(TOOLS_DIR)"; done
	$(GO) run ./test/cluster/cmd/cluster up -images $(IMAGES_DIR)

cluster-down: ## remove every cluster of make cluster and the tests, also what a killed run left behind
	$(GO) run ./test/cluster/cmd/cluster down

# The packages whose code runs goroutines: `make test` runs their tests under the race
# detector, instead of a plain run, and the other packages' tests plainly.
RACE_PKGS := ./sidecar/... ./rego/... ./identity/... ./redirect/agent/... ./injector/... ./cmd/rampart-proxy/...

test: deps tools ## everything CI runs: vet, all tests (root tests too; goroutine packages under -race), short fuzz runs
	GO=$(GO) bash .ci/test $(FUZZTIME) $(RACE_PKGS)

race: ## the tests of the goroutine packages (RACE_PKGS) under the race detector
	$(GO) test -race -count=1 -timeout 60m $(RACE_PKGS)

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

tools: ## build third-party test binaries (kube-apiserver, etcd, SPIRE, registry, ...) into .cache/bin
	@bash test/tools/build.sh "$(TOOLS_DIR)"

clean: ## remove built binaries and images (keeps the tool cache)
	rm -rf bin/ $(IMAGES_DIR)
