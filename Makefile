# Everyday targets. Everything runs in a local virtualenv (.venv) that `make` creates on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
export VIRTUAL_ENV := $(abspath $(VENV))

.PHONY: demo test test-rust test-python install format lint stubtest bench bench-rust fuzz clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "maturin>=1.5,<2" "pytest>=8" "hypothesis>=6.100" "pytest-benchmark>=4" \
		"jiter>=0.5" "streaming-json-parser>=0.3" "pydantic>=2.7" "mypy>=1.10" "ruff>=0.5" \
		"openai>=1.66" "rich>=13" "fastapi>=0.110" "httpx>=0.27"
	touch $@

install: $(VENV)/.installed  ## build the extension (release) into .venv
	PIP_QUIET=1 $(VENV)/bin/maturin develop --release -q

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

bench: install  ## pytest-benchmark groups and the bars' ratios, then criterion
	$(PY) -m pytest benches --benchmark-only -q -p no:cacheprovider
	$(PY) benches/ratios.py
	$(PY) benches/partial_ratios.py --skip-instructor
	$(PY) benches/openai_ratios.py
	$(MAKE) bench-rust

bench-rust:
	cargo bench --bench parse

fuzz:  ## long property run: arbitrary bytes in arbitrary chunks
	PROPTEST_CASES=200000 cargo test --release -q fuzz

clean:
	rm -rf $(VENV) target dist
