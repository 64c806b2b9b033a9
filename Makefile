# Folio: the two set-up commands of the README, runnable on a fresh Debian
# machine with the Swift 6.3 toolchain (as root, or with sudo available).
#
#   make run    builds and runs the main job: folio-load's default comparison of
#               every strategy and two baselines on hammer and zipf (well under a minute)
#   make test   builds and runs the whole test suite
#
# Both install liblz4-dev and libxxhash-dev (and pkg-config) first when they are missing.

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test deps

deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists liblz4 || ! pkg-config --exists libxxhash; then \
		echo "installing liblz4-dev, libxxhash-dev and pkg-config"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblz4-dev libxxhash-dev pkg-config; \
	fi

run: deps
	swift run -c release folio-load

# --no-parallel: one test at a time. The concurrency suites oversubscribe the
# 2 cores on purpose (8 threads and more); Swift Testing's default runs every
# suite at once, and then they spin against each other (measured 2026-12-02:
# 755 s wall, 10 minutes of it system time, and the async and service suites
# starved of the 2-thread cooperative pool until one timed out after 300 s).
test: deps
	swift test --no-parallel
