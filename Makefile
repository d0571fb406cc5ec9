# w2st — build, test, lint. `make help` lists the targets.
GO        ?= go
BIN       ?= bin/w2st
REV       := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS   := -X main.revision=$(REV)
STATICCHECK_VERSION := v0.8.2
# The pure-Go CPU backend with unlimited goroutines (the default pool deadlocks on 2 cores).
export GOMLX_BACKEND ?= go:parallelism=-1
export GOMLX_NO_AUTO_INSTALL ?= 1

.PHONY: demo-quick gpu-bundle help build build-purego test test-short lint fmt vet staticcheck ci fixtures demo bench clean

help:
	@echo "make build        cgo build with CPU + XLA/PJRT backends -> $(BIN)"
	@echo "make build-purego CGO_ENABLED=0 -tags noxla build (CPU only) -> bin/w2st-purego"
	@echo "make test         go test ./... (CPU)"
	@echo "make lint         gofmt check, go vet (both builds), staticcheck"
	@echo "make ci           everything CI runs"
	@echo "make fixtures     regenerate test fixtures (needs /usr/bin/python3 with torch, node)"
	@echo "make demo         the one-command W2S demo on synthetic data"
	@echo "make bench        benchmarks"

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/w2st

build-purego:
	CGO_ENABLED=0 $(GO) build -tags noxla -ldflags "$(LDFLAGS)" -o bin/w2st-purego ./cmd/w2st

test:
	$(GO) test -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short -count=1 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet -tags noxla ./...

staticcheck:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

ci: build build-purego lint test demo-quick

fixtures:
	bash scripts/fixtures.sh

# What scripts/gpu/smoke.sh needs on a GPU machine without Go.
gpu-bundle: build
	$(GO) test -c -o bin/neox.test ./accel/neox

demo: build
	./$(BIN) demo

# The demo's small CI setting, end to end through the binary, into a fresh folder.
demo-quick: build
	d=$$(mktemp -d) && ./$(BIN) demo --quick --out "$$d" && test -s "$$d/report/report.md" && rm -rf "$$d"

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin
