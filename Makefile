# The README's two commands are `go run ./cmd/medmd run` and `make test`.
# `make test` installs what the tests compare against (reference tools from
# Debian, interop clients from npm) and then runs every Go test.

APT_PACKAGES := python3-numpy python3-pydicom python3-gdcm python3-nibabel \
	python3-scipy python3-skimage python3-lxml python3-nltk dcm2niix dcmtk libdeflate0 chromium libopenjp2-tools

export GOMLX_BACKEND ?= go:parallelism=-1

# bash for pipefail: `go test`'s status survives the report pipe.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

# apt waits this long for a lock another apt holds (unattended upgrades).
APT_LOCK_TIMEOUT ?= 300

.PHONY: test deps deps-apt deps-npm build fuzz

# The report prints what `go test` prints, then every skipped test with its
# reason (e.g. a reference tool apt could not install).
test: deps
	go vet ./...
	go test -json -timeout 40m ./... | go run ./internal/testreport

build:
	go build -o medmd ./cmd/medmd

# Each fuzz target for FUZZTIME (not part of `make test`: fuzzing is open
# ended). Targets are listed by `go test -list` at make time, so a new one
# is picked up; `go test -fuzz` takes one package and one target per run.
# A failing input lands in its package's testdata/fuzz/; the failures are
# listed at the end. Go before 1.27 may end a run whose -fuzztime expires
# mid-execution with a bare "context deadline exceeded" and no input
# written (go.dev/issue/75804): such a run is listed as a flake, not a
# failure.
FUZZTIME ?= 10s

fuzz:
	@targets=$$(go test -list '^Fuzz' ./... | awk '/^Fuzz/ { t[n++] = $$1; next } /^ok/ { for (i = 0; i < n; i++) print $$2, t[i] } { n = 0 }') || exit 1; \
	failed=; flaked=; while read -r pkg target; do \
		echo "== $$pkg $$target"; \
		dir=$$(go list -f '{{.Dir}}' "$$pkg")/testdata/fuzz/$$target; \
		before=$$(ls "$$dir" 2>/dev/null | wc -l); \
		out=$$(mktemp); \
		if ! go test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime=5s "$$pkg" 2>&1 | tee "$$out"; then \
			if grep -q 'context deadline exceeded' "$$out" && [ "$$(ls "$$dir" 2>/dev/null | wc -l)" = "$$before" ]; then \
				flaked="$$flaked $$pkg.$$target"; else failed="$$failed $$pkg.$$target"; fi; \
		fi; \
		rm -f "$$out"; \
	done <<< "$$targets"; \
	if [ -n "$$flaked" ]; then echo "fuzz runs ended by the deadline race, no input written:$$flaked"; fi; \
	if [ -n "$$failed" ]; then echo "fuzz failures:$$failed"; exit 1; fi

deps: deps-apt deps-npm

# Reference tools for golden tests. Skipped when they are all present, or
# when apt is unavailable (the tests that need them then say so and skip).
deps-apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
		echo "installing: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		{ $$SUDO apt-get -o DPkg::Lock::Timeout=$(APT_LOCK_TIMEOUT) update -qq && \
		  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=$(APT_LOCK_TIMEOUT) install -y -qq $$missing >/dev/null; } \
			|| echo "warning: could not install $$missing; the tests that compare against them skip and are listed at the end"; \
	fi

# DuckDB, Polars and apache-arrow for the shard interop test; Azurite (the
# Azure Storage emulator) for the azblob:// tests.
deps-npm:
	@if [ -f interop/package-lock.json ]; then npm ci --prefix interop --no-audit --no-fund --silent \
		|| echo "warning: npm ci failed; the shard interop test will say so and skip"; fi
