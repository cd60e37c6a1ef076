# ftps-operator. `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

# Tool versions, pinned. Every tool is built from the Go module proxy into bin/.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION    ?= v2.15.0
K8S_VERSION              ?= 1.37.2
ETCD_VERSION             ?= 3.7.3

LOCALBIN       ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT  ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
ENVTEST_DIR    ?= $(LOCALBIN)/k8s/$(K8S_VERSION)
# envtest (sigs.k8s.io/controller-runtime/pkg/envtest) finds kube-apiserver
# and etcd here.
export KUBEBUILDER_ASSETS := $(ENVTEST_DIR)

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
manifests: $(CONTROLLER_GEN) ## Generate the CRDs (config/crd/bases) and the RBAC role (config/rbac) from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="{./api/...,./controllers/...}" output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the deepcopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

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
	@git diff --exit-code -- go.mod go.sum api config || { echo "generated files are stale: run 'make manifests generate' and 'go mod tidy', then commit"; exit 1; }
	@test -z "$$(git status --porcelain -- api config)" || { echo "untracked generated files:"; git status --porcelain -- api config; exit 1; }

.PHONY: test
test: deps manifests generate envtest ## Run every test (unit, envtest, real FTPS clients) with the race detector.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: fuzz
fuzz: ## Run every Go fuzz target briefly (FUZZ_TIME=10s each by default).
	hack/fuzz.sh

.PHONY: deps
deps: ## Install the Debian packages the tests use (curl, lftp, python3, openssl), if missing.
	hack/install-deps.sh

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd, kube-controller-manager and kubectl from the Go module proxy into bin/k8s (cached).
	K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) ENVTEST_DIR=$(ENVTEST_DIR) hack/build-envtest.sh kube-apiserver etcd kube-controller-manager kubectl

.PHONY: demo
demo: deps manifests envtest ## The whole stack on this machine with config/samples applied; prints how to connect. Ctrl-C stops it.
	go run ./hack/demo

##@ Build

.PHONY: build
build: generate ## Build bin/manager and bin/ftpsd.
	go build -o $(LOCALBIN)/manager .
	go build -o $(LOCALBIN)/ftpsd ./ftpsd/cmd/ftpsd

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

$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $@

$(GOLANGCI_LINT):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $@
