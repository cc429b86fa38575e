# The two commands of the README: `make run` and `make test`.
# Both install missing Debian packages first (as root), then build with CMake.

PACKAGES := build-essential cmake pkg-config libpcre2-dev libyaml-dev \
            libsqlite3-dev libuv1-dev libjansson-dev libutf8proc-dev \
            libssl-dev libcmocka-dev clang-format sqlite3
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
VIGIA := $(BUILD)/vigia

.PHONY: all deps build build-asan run test test-release test-asan clean bench format

all: build

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVG_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVG_WERROR=ON -DVG_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	rm -f vigia.db vigia.db-wal vigia.db-shm
	$(VIGIA) screen examples/records.ndjson; test $$? -le 4
	$(VIGIA) queue

test: test-release test-asan

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

bench: build
	bench/run

format:
	clang-format -i engine/*.[ch] adapters/*.[ch] cli/*.[ch] tests/*.[ch] tests/fuzz/*.c bench/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
