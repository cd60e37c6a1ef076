# ftps-operator. `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

# Tool versions, pinned. Every tool is built from the Go module proxy into bin/.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION    ?= v2.15.0
K8S_VERSION              ?= 1.37.2
ETCD_VERSION             ?= 3.7.3
HELM_VERSION             ?= v3.22.0
CRD_REF_DOCS_VERSION     ?= v0.3.0

LOCALBIN       ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT  ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
ENVTEST_DIR    ?= $(LOCALBIN)/k8s/$(K8S_VERSION)
# The chart's tests (test/install) run this helm.
export HELM    ?= $(LOCALBIN)/helm-$(HELM_VERSION)
CRD_REF_DOCS   ?= $(LOCALBIN)/crd-ref-docs-$(CRD_REF_DOCS_VERSION)
# envtest (sigs.k8s.io/controller-runtime/pkg/envtest) finds kube-apiserver
# and etcd here.
export KUBEBUILDER_ASSETS := $(ENVTEST_DIR)

# Images and the installer. `make image build-installer VERSION=v0.2.0`.
VERSION   ?= v0.1.0
IMG       ?= ghcr.io/ftps-operator/ftps-operator:$(VERSION)
FTPSD_IMG ?= ghcr.io/ftps-operator/ftpsd:$(VERSION)
GOARCH    ?= $(shell go env GOARCH)
DIST      ?= $(CURDIR)/dist
KUBECTL_LOCAL ?= $(ENVTEST_DIR)/kubectl

GO_TEST_FLAGS ?= -race -count=1
KUBECONFIG    ?= $(HOME)/.kube/config

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) $(CRD_REF_DOCS) ## Generate the CRDs (config/crd/bases), the RBAC role (config/rbac) and the chart's copies of both from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="{./api/...,./controllers/...}" output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	hack/sync-chart.sh
	$(MAKE) --no-print-directory api-docs

.PHONY: api-docs
api-docs: $(CRD_REF_DOCS) ## Generate the API reference (docs/api.md) from the Go types.
	hack/api-docs.sh $(CRD_REF_DOCS) docs/api.md

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the deepcopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="{./api/...,./ftpsd/config/...}"

.PHONY: fmt
fmt: ## go fmt every package.
	go fmt ./...

.PHONY: vet
vet: ## go vet every package.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (pinned, built into bin/).
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: manifests generate ## Fail when generated files or go.mod are stale or code is not gofmt-ed.
	go mod tidy
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "not gofmt-ed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@git diff --exit-code -- go.mod go.sum api config charts docs/api.md || { echo "generated files are stale: run 'make manifests generate' and 'go mod tidy', then commit"; exit 1; }
	@test -z "$$(git status --porcelain -- api config charts docs/api.md)" || { echo "untracked generated files:"; git status --porcelain -- api config charts docs/api.md; exit 1; }

# Test tiers, by package. envtest: a real kube-apiserver + etcd, nothing else.
# e2e: processes: the whole stack, the ftpsd binary (signals, reload), real
# FTPS clients, faults, soak, install, images. unit: everything else (no API
# server, no external process).
ENVTEST_PKGS := ./api/... ./controllers/...
E2E_PKGS     := ./test/... ./ftpsd/clienttest/... ./ftpsd/cmd/ftpsd/... ./hack/image/...
TIERED_PKGS   = $(shell go list $(ENVTEST_PKGS) $(E2E_PKGS))
UNIT_PKGS     = $(filter-out $(TIERED_PKGS),$(shell go list ./...))

.PHONY: test
test: test-unit test-envtest test-e2e ## Run every test (unit, envtest, e2e) with the race detector.

.PHONY: test-unit
test-unit: generate ## Unit tests: no API server, no external process (about 3 min).
	go test $(GO_TEST_FLAGS) $(UNIT_PKGS)

.PHONY: test-envtest
test-envtest: manifests generate envtest ## Tests against a real kube-apiserver + etcd (the CRDs' validation and defaults, the controllers).
	go test $(GO_TEST_FLAGS) $(ENVTEST_PKGS)

.PHONY: test-e2e
test-e2e: deps manifests generate envtest $(HELM) ## The whole stack with real FTPS clients (curl, lftp, ftplib), faults, soak, install, images.
	go test $(GO_TEST_FLAGS) $(E2E_PKGS)

.PHONY: fuzz
fuzz: ## Run every Go fuzz target briefly (FUZZ_TIME=10s each by default).
	hack/fuzz.sh

.PHONY: deps
deps: ## Install the Debian packages the tests use (curl, lftp, python3, openssl), if missing.
	hack/install-deps.sh

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd, kube-controller-manager and kubectl from the Go module proxy into bin/k8s (cached).
	K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) ENVTEST_DIR=$(ENVTEST_DIR) hack/build-envtest.sh kube-apiserver etcd kube-controller-manager kubectl

.PHONY: bench
bench: deps envtest ## Benchmarks (ftpsd vs vsftpd/ProFTPD/Pure-FTPd, the operator at scale, certificate rotation, micro-benchmarks); about 20 min, loopback, prints one table.
	bash bench/run.sh

SOAK_SESSIONS ?= 500
SOAK_DURATION ?= 5m
.PHONY: soak
soak: ## Soak ftpsd on loopback: SOAK_SESSIONS FTPS sessions for SOAK_DURATION, every file checked by SHA-256, RSS and goroutines watched; summary in bin/reliability/.
	go run ./test/soak/cmd/soak -sessions $(SOAK_SESSIONS) -duration $(SOAK_DURATION) -out $(LOCALBIN)/reliability

FUZZ_LONG_TIME ?= 10m
.PHONY: reliability
reliability: ## The long runs of docs/reliability.md: every fuzz target for FUZZ_LONG_TIME, then the soak; about an hour; summaries in bin/reliability/.
	FUZZ_TIME=$(FUZZ_LONG_TIME) hack/fuzz.sh
	$(MAKE) soak

.PHONY: demo
demo: deps manifests envtest ## The whole stack on this machine with config/samples applied; prints how to connect. Ctrl-C stops it.
	go run ./hack/demo

##@ Build

.PHONY: build
build: generate ## Build bin/manager and bin/ftpsd.
	go build -o $(LOCALBIN)/manager .
	go build -o $(LOCALBIN)/ftpsd ./ftpsd/cmd/ftpsd

.PHONY: image
image: ## Build the manager and ftpsd OCI images without Docker into bin/image/{manager,ftpsd} (OCI layout) and .tar (docker load).
	@mkdir -p $(LOCALBIN)/linux_$(GOARCH)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -trimpath -o $(LOCALBIN)/linux_$(GOARCH)/manager .
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -trimpath -o $(LOCALBIN)/linux_$(GOARCH)/ftpsd ./ftpsd/cmd/ftpsd
	go run ./hack/image -binary $(LOCALBIN)/linux_$(GOARCH)/manager -entrypoint /manager -arch $(GOARCH) -tag $(IMG) -out $(LOCALBIN)/image/manager
	go run ./hack/image -binary $(LOCALBIN)/linux_$(GOARCH)/ftpsd -entrypoint /ftpsd -arch $(GOARCH) -tag $(FTPSD_IMG) -out $(LOCALBIN)/image/ftpsd

.PHONY: build-installer
build-installer: manifests $(KUBECTL_LOCAL) ## Write dist/install.yaml (namespace, CRDs, RBAC, manager, metrics Service) for IMG and FTPSD_IMG.
	IMG=$(IMG) FTPSD_IMG=$(FTPSD_IMG) KUBECTL=$(KUBECTL_LOCAL) DIST=$(DIST) hack/build-installer.sh

.PHONY: deploy
deploy: build-installer ## Install the operator into the current kubeconfig's cluster (IMG=..., FTPSD_IMG=...; push the images first).
	kubectl apply --server-side -f $(DIST)/install.yaml

.PHONY: undeploy
undeploy: build-installer ## Remove the operator, its CRDs and every FTPS object from the current kubeconfig's cluster.
	kubectl delete --ignore-not-found -f $(DIST)/install.yaml

.PHONY: run
run: manifests generate ## Run the manager on this machine against the current kubeconfig's cluster.
	go run . --leader-elect=false

.PHONY: install
install: manifests ## Install the CRDs into the current kubeconfig's cluster.
	kubectl apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs (and every FTPS object) from the current kubeconfig's cluster.
	kubectl delete --ignore-not-found -k config/crd

##@ Tools

.PHONY: helm
helm: $(HELM) ## Build the pinned helm into bin/.
$(HELM):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/helm $@

$(CRD_REF_DOCS):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/elastic/crd-ref-docs@$(CRD_REF_DOCS_VERSION)
	mv $(LOCALBIN)/crd-ref-docs $@

$(KUBECTL_LOCAL):
	K8S_VERSION=$(K8S_VERSION) ENVTEST_DIR=$(ENVTEST_DIR) hack/build-envtest.sh kubectl

$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $@

$(GOLANGCI_LINT):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $@
