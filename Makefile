# openclaw-deploy — the two commands a fresh Debian machine needs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/openclaw-deploy

.PHONY: all deps build test demo install check-install check-ci-example doc-examples bench-plan bench-ssh bench-rollout bench-fanout sandbox-up sandbox-down sandbox-status sandbox-reset clean

all: build

# Installs every system package and config the build, the tests and the sandbox need (idempotent).
deps:
	scripts/install-deps

build: deps
	$(SWIFT) build

# The unit and integration suites (SSH included) in parallel, then the end-to-end suite, which drives the sandbox
# hosts for minutes: on podman, and its runtime cases again on Docker Engine, side by side on the sandbox and on
# E2E_LANES copies of it in namespaces of their own (scripts/test-e2e, scripts/lane; docs/sandbox.md); then the CI
# example of docs/plans-and-ci.md and the installed tool are checked (one release build for both).
# No test asserts wall-clock time, so load cannot fail one. scripts/test-all runs the phases and prints how long
# each took at the end, also when one fails.
E2E_LANES ?= 3
test: build
	SWIFT='$(SWIFT)' DOCKER_E2E='$(DOCKER_E2E)' E2E_LANES='$(E2E_LANES)' scripts/test-all

# The end-to-end cases run again with the sandbox on Docker Engine and docker-compose v1 (docs/runtimes.md):
# rollouts, status, logs, exec, the environment and its secrets.
DOCKER_E2E := RolloutEndToEndTests/(aGoodDeployPutsEveryHost|theShorthandDeploys|aBrokenReleaseIsRolledBack|statusShowsEachContainer|aStoppedContainerIsNotHealthy|logsTail|logsFollowStreams|logsSinceIsRefused|execRuns|aSecretFromTheEnvironment|changingOnlyASecret|aFailedGateAfterAnEnvironmentChange|aFailingBeforeUp|aSecretInAHealthBody|aSecondCtrlC|rollbackNames|pruneAfterFiveReleases)

# The binary (release, Swift runtime linked in), its man page and bash/zsh/fish completions under
# $(DESTDIR)$(PREFIX); README.md, "Install".
PREFIX ?= /usr/local
install: build
	scripts/install-tool $(DESTDIR)$(PREFIX)

# Installs under a temporary prefix and checks the result without the Swift toolchain (part of `make test`).
check-install: build
	scripts/check-install

# Rewrites the examples marked in README.md and docs/*.md from real runs against the sandbox (a test checks
# them: `scripts/doc-examples --check`).
doc-examples: build
	scripts/doc-examples

# Runs the GitHub Actions example of docs/plans-and-ci.md in a fresh clone, step by step (part of `make test`).
check-ci-example: deps
	scripts/check-ci-example

# The sandbox hosts start (or are put back) on release v1, so the deploy has v2 to roll out. The last
# step shows what each app was started with: customer-service's key digest matches the demo key's.
demo: build
	scripts/sandbox up
	scripts/sandbox reset
	$(BIN) customer-service -i inventory/sandbox.yaml
	$(BIN) status customer-service -i inventory/sandbox.yaml
	scripts/sandbox config

bench-plan: build
	scripts/bench-plan

bench-ssh: build
	scripts/bench-ssh

bench-rollout: build
	scripts/bench-rollout

# N loopback hosts (default 50; `make bench-fanout N=100`): status, plan --check and a no-change deploy
# beside parallel-ssh and ssh | xargs -P. Runs as root; see docs/performance.md.
N ?= 50
bench-fanout: deps
	scripts/bench-fanout $(N)

# Local sandbox hosts (docs/sandbox.md); they need the system packages, not the build.
sandbox-up: deps
	scripts/sandbox up

sandbox-status:
	scripts/sandbox status

sandbox-reset: deps
	scripts/sandbox reset

# The sandbox and the lanes `make test` adds beside it (scripts/lane).
sandbox-down:
	for lane in $$(ls /var/lib/openclaw-lanes 2>/dev/null); do scripts/lane down $$lane; done
	scripts/sandbox down

clean:
	rm -rf .build
