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

test: deps
	swift test
