# Everyday targets. Everything runs in a local virtualenv (.venv) that `make` creates on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
export VIRTUAL_ENV := $(abspath $(VENV))

.PHONY: demo test test-rust test-python install install-pgo install-release pgo-profile wheel sdist format lint \
	stubtest bench bench-rust fuzz clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "maturin>=1.5,<2" "pytest>=8" "hypothesis>=6.100" "pytest-benchmark>=4" \
		"jiter>=0.5" "streaming-json-parser>=0.3" "pydantic>=2.7" "mypy>=1.10" "ruff>=0.5" \
		"openai>=1.66" "rich>=13" "fastapi>=0.110" "httpx>=0.27" "ziglang>=0.13,<0.18" "auditwheel>=6"
	touch $@

install: $(VENV)/.installed  ## build the extension (release) into .venv
	PIP_QUIET=1 $(VENV)/bin/maturin develop --release -q

# Release builds are profile-guided (PGO): an instrumented build runs benches/pgo_workload.py, and the
# extension is built again with that profile (~5% off `feed` + `value` per token, see CHANGELOG).
# Merging the profile takes an llvm-profdata that reads the raw format of rustc's LLVM (22 here): LLVM
# 19's does, Debian bookworm's default 14 does not (`apt-get install llvm-19`). Set PROFDATA to choose
# one. Without one, `make wheel` and `make bench` build without the profile, and say so.
PGO := target/pgo
ifeq ($(origin PROFDATA),undefined)
PROFDATA := $(shell for p in $$(rustc --print sysroot)/lib/rustlib/*/bin/llvm-profdata \
	$$(ls -d /usr/lib/llvm-*/bin/llvm-profdata 2>/dev/null | sort -V -r) $$(command -v llvm-profdata); do \
	v=$$("$$p" --version 2>/dev/null | grep -oE 'LLVM version [0-9]+' | grep -oE '[0-9]+$$'); \
	[ "$${v:-0}" -ge 19 ] && echo "$$p" && break; done)
endif
NO_PROFDATA := no llvm-profdata from LLVM 19 or later (apt-get install llvm-19, or set PROFDATA)

pgo-profile: $(VENV)/.installed  ## train the profile for a PGO build (leaves .venv with an instrumented build)
	@test -n "$(PROFDATA)" || { echo "$(NO_PROFDATA)"; exit 1; }
	rm -rf $(PGO)/raw
	RUSTFLAGS="-Cprofile-generate=$(abspath $(PGO))/raw" PIP_QUIET=1 \
		$(VENV)/bin/maturin develop --release -q --target-dir $(PGO)/target-generate
	# The build scripts ran instrumented too: keep only the workload's profile.
	rm -rf $(PGO)/raw
	$(PY) benches/pgo_workload.py
	$(PROFDATA) merge -o $(PGO)/merged.profdata $(PGO)/raw

install-pgo: pgo-profile  ## build the extension (release, profile-guided) into .venv
	RUSTFLAGS="-Cprofile-use=$(abspath $(PGO))/merged.profdata" PIP_QUIET=1 \
		$(VENV)/bin/maturin develop --release -q --target-dir $(PGO)/target-use

install-release: $(VENV)/.installed  ## the release build into .venv: profile-guided if it can be
	@if [ -n "$(PROFDATA)" ]; then $(MAKE) --no-print-directory install-pgo; else \
		echo "warning: $(NO_PROFDATA): building without the profile"; $(MAKE) --no-print-directory install; fi

# The release wheel links with zig (the `ziglang` package in .venv, which maturin finds on PATH) against
# glibc 2.17, so it installs on any Linux with glibc >= 2.17 (manylinux2014). The profile only changes
# how rustc compiles; zig is only the linker, so the two combine.
RELEASE := --release -q --zig --compatibility manylinux2014 --out dist
wheel: install-release  ## the release wheel into dist/ (manylinux2014; profile-guided if it can be)
	rm -rf dist
	if [ -n "$(PROFDATA)" ]; then \
		PATH="$(abspath $(VENV))/bin:$$PATH" RUSTFLAGS="-Cprofile-use=$(abspath $(PGO))/merged.profdata" \
		$(VENV)/bin/maturin build $(RELEASE) --target-dir $(PGO)/target-use; \
	else PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/maturin build $(RELEASE); fi

sdist: $(VENV)/.installed  ## the source distribution into dist/
	$(VENV)/bin/maturin sdist --out dist

demo: install  ## stream a JSON document and watch its partial value grow
	$(VENV)/bin/unspool demo

test: install test-rust  ## all tests: Rust unit/property tests, then pytest
	$(PY) -m pytest -q

test-rust:
	cargo test -q

format:
	cargo fmt
	$(VENV)/bin/ruff format python tests benches
	$(VENV)/bin/ruff check --fix python tests benches

lint: install
	cargo fmt --check
	cargo clippy -q --all-targets -- -D warnings
	cargo clippy -q --features python -- -D warnings
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/ruff format --check python tests benches
	$(VENV)/bin/mypy
	$(MAKE) stubtest

stubtest: install  ## the hand-written _core.pyi must match the compiled module
	$(PY) -m mypy.stubtest unspool._core

bench: install-release  ## pytest-benchmark groups and the bars' ratios (release build), then criterion
	$(PY) -m pytest benches --benchmark-only -q -p no:cacheprovider
	$(PY) benches/ratios.py
	$(PY) benches/partial_ratios.py --skip-instructor
	$(PY) benches/openai_ratios.py
	$(PY) benches/wire_reader.py
	$(MAKE) bench-rust

bench-rust:
	cargo bench --bench parse
	cargo bench --bench wire

fuzz:  ## long property run: arbitrary bytes in arbitrary chunks
	PROPTEST_CASES=200000 cargo test --release -q fuzz

clean:
	rm -rf $(VENV) target dist
