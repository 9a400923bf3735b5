# Coffer: the README's commands. CMake does the building; this wraps it.
#   make          build into build/ (binaries in build/bin/)
#   make test     every test through ctest, then again under ASan+UBSan
#   make bench    the benchmarks (figures in docs/PERFORMANCE.md)
#   make demo     the trust model, played end to end
#   make install  install into PREFIX (default /usr/local)

PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure --timeout 600

.PHONY: all deps build test test-fast test-asan test-valgrind style bench demo install fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

style:
	@scripts/check-style.sh

test-fast: build
	cd $(BUILD) && ctest -j $(JOBS) $(CTEST_FLAGS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCOFFER_SANITIZE=ON -DCOFFER_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest -j $(JOBS) $(CTEST_FLAGS)

# The cmocka unit tests once more under valgrind (STYLE.md): it sees what
# ASan does not (uninitialised reads) in the release build.
test-valgrind: build
	@scripts/valgrind-unit.sh $(BUILD)

test: style test-fast test-valgrind test-asan
	@echo "make test: all suites passed (release, valgrind and ASan+UBSan builds)"

bench: build
	@if [ -x scripts/bench.sh ]; then scripts/bench.sh $(BUILD); else echo "no benchmarks yet"; fi

fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOFFER_FUZZ=ON -DCOFFER_BENCH=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers
	@echo "libFuzzer targets in build-fuzz/fuzz/*_fuzz; corpora in tests/fuzz/corpus/"

demo: build
	@if [ -x scripts/demo.sh ]; then scripts/demo.sh $(BUILD); else echo "demo: not built yet"; exit 2; fi

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
