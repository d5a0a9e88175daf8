# SPDX-License-Identifier: Apache-2.0
# The front door. `make demo` runs berth, `make check` tests it; both install what they need.
BUILD      ?= build
ASAN_BUILD ?= build-asan
BUILD_TYPE ?= Release
PREFIX     ?= /usr/local
CTEST_ARGS ?=
# Paths relative to the checkout in ccache keys, so a fresh clone reuses an earlier build's cache.
export CCACHE_BASEDIR := $(CURDIR)

.PHONY: all deps configure build test-images demo lint check check-unit check-integration check-e2e \
        check-asan bench install clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD)/build.ninja

build: $(BUILD)/build.ninja
	cmake --build $(BUILD)

test-images: build
	bash scripts/make-test-images.sh $(BUILD)

demo: deps build test-images
	bash scripts/demo.sh $(BUILD)

# Everything: unit + integration + e2e on the normal build, then unit tests under ASan+UBSan.
check: deps lint build test-images
	bash tests/cleanup/cleanup.sh
	cd $(BUILD) && ctest --output-on-failure -j2 $(CTEST_ARGS)
	bash tests/cleanup/cleanup.sh
	$(MAKE) --no-print-directory check-asan

# Static checks that need no build: the include graph follows docs/architecture.md.
lint:
	python3 tools/check-layering.py

check-unit: deps lint build
	cd $(BUILD) && ctest --output-on-failure -j2 -L unit $(CTEST_ARGS)

check-integration: deps build test-images
	cd $(BUILD) && ctest --output-on-failure -L integration $(CTEST_ARGS)
	bash tests/cleanup/cleanup.sh

check-e2e: deps build test-images
	cd $(BUILD) && ctest --output-on-failure -L e2e $(CTEST_ARGS)
	bash tests/cleanup/cleanup.sh

check-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON \
	      -DBERTH_TESTS_ONLY_UNIT=ON
	cmake --build $(ASAN_BUILD)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j2 -L unit $(CTEST_ARGS)

bench: deps build test-images
	bash bench/run-all.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
