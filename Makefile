# The README's commands. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The native build is cached under target/ between runs.
export CARGO_TARGET_DIR := $(CURDIR)/target
NATIVE_SOURCES := $(shell find native -name '*.rs' -o -name 'Cargo.toml') Cargo.toml pyproject.toml
STAMP := $(VENV)/.zkpipe-installed
# The dashboard's browser test drives Debian's chromium (never a browser download); CI runs as root.
CHROMIUM := /usr/bin/chromium
# The cluster tests put each Ray host in a network namespace: iproute2's `ip` (and util-linux's unshare).
IPROUTE := /usr/sbin/ip

.PHONY: demo test bench lint setup tools clean wrap

setup: $(STAMP) tools wrap

# The wrap's Go program (Groth16 over gnark); its modules come from the Go module proxy, pinned by go.sum.
WRAP_BIN := wrap/zkpipe-wrap
WRAP_SOURCES := $(wildcard wrap/*.go) wrap/go.mod wrap/go.sum

wrap: $(WRAP_BIN)

$(WRAP_BIN): $(WRAP_SOURCES)
	@command -v go >/dev/null || { echo "error: Go is required for the wrap: https://go.dev/dl" >&2; exit 1; }
	cd wrap && GOFLAGS=-mod=readonly go build -trimpath -o zkpipe-wrap .

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install (and so rebuild the extension) whenever a native source or the package metadata changes.
$(STAMP): $(BIN)/python $(NATIVE_SOURCES)
	@command -v cargo >/dev/null || { echo "error: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
	$(BIN)/pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

# anvil (Foundry's Ethereum node) for the JSON-RPC L1: the prebuilt binary npm ships, in tools/.
ANVIL_VERSION := 1.7.1
ANVIL := tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil

tools: $(ANVIL)

$(ANVIL):
	@command -v npm >/dev/null || { echo "error: npm is required to install anvil" >&2; exit 1; }
	npm install --prefix tools --no-save --no-audit --no-fund --loglevel=error @foundry-rs/anvil-linux-amd64@$(ANVIL_VERSION)
	@test -x $(ANVIL) && touch $(ANVIL)

demo: setup
	$(BIN)/zkpipe demo

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "error: the browser test needs Debian's chromium package" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
		|| { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

$(IPROUTE):
	@command -v apt-get >/dev/null || { echo "error: the cluster tests need iproute2 (ip netns)" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2 \
		|| { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2; }

test: setup $(CHROMIUM) $(IPROUTE)
	cargo test --release --manifest-path native/engine/Cargo.toml --quiet
	cd wrap && GOFLAGS=-mod=readonly go test -count=1 ./...
	$(BIN)/pytest

bench: setup
	$(BIN)/zkpipe bench primitives --json

lint: setup
	$(BIN)/ruff check python tests
	$(BIN)/ruff format --check python tests
	$(BIN)/mypy
	cargo clippy --manifest-path native/python/Cargo.toml --release --all-targets --quiet -- -D warnings
	cargo clippy --manifest-path native/engine/Cargo.toml --release --all-targets --quiet -- -D warnings

clean:
	rm -rf $(VENV) target tools $(WRAP_BIN)
