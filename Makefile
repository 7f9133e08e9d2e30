# openclaw-deploy — the two commands a fresh Debian machine needs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/openclaw-deploy

.PHONY: all deps build test demo bench-plan bench-ssh bench-rollout sandbox-up sandbox-down clean

all: build

# Installs every system package and config the build, the tests and the sandbox need (idempotent).
deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

test: build
	scripts/sandbox up
	$(SWIFT) test

demo: build
	scripts/sandbox up
	$(BIN) customer-service -i inventory/sandbox.yaml
	$(BIN) status customer-service -i inventory/sandbox.yaml

bench-plan: build
	scripts/bench-plan

bench-ssh: build
	scripts/bench-ssh

bench-rollout: build
	scripts/bench-rollout

sandbox-up: build
	scripts/sandbox up

sandbox-down:
	scripts/sandbox down

clean:
	rm -rf .build
