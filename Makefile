# The verbs of the project. Every target sets up what it needs, from nothing but python3 and cargo.
PY      ?= python3
VENV    ?= .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.deps-stamp
# ccxt pins urllib3==2.8.0 and lighter-sdk needs urllib3<2.1: they cannot share an environment.
# The ccxt oracle tests and the benchmarks that time ccxt run in a second one, made here; it sees
# this checkout's hedgekit (the extension that build-prod compiles into python/) through a .pth.
CCXT_VENV  ?= .venv-ccxt
CCXT_PY    := $(CCXT_VENV)/bin/python
CCXT_STAMP := $(CCXT_VENV)/.deps-stamp

.PHONY: test test-rust test-python test-ccxt build-dev build-prod lint bench bench-gate stubtest clean demo sweep soak docs wheel

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet "maturin>=1.7,<2" "pytest>=8" "hypothesis>=6.100" "mypy>=1.10" "pytest-timeout>=2.3" \
		"pytest-benchmark>=4" "sortedcontainers>=2.4" "orjson>=3.9" "msgspec>=0.19" "numpy>=1.26" "prometheus-client>=0.20" "matplotlib>=3.8" \
		"psycopg[binary]>=3.2" "pgserver>=0.1.4" "pdoc>=14" "rich>=13" "uvloop>=0.19" "ruff>=0.17,<0.18" \
		"aiohttp>=3.9" "picows>=2.3,<2.4" "hyperliquid-python-sdk==0.24.0" "lighter-sdk==1.1.8" "cython>=3.1,<4" "setuptools"
	touch $(STAMP)

$(CCXT_STAMP): pyproject.toml
	$(PY) -m venv $(CCXT_VENV)
	$(CCXT_PY) -m pip install --quiet --upgrade pip
	$(CCXT_PY) -m pip install --quiet "ccxt==4.5.90" "hyperliquid-python-sdk==0.24.0" "orjson>=3.9" "msgspec>=0.19" \
		"numpy>=1.26" "sortedcontainers>=2.4" "aiohttp>=3.9" "picows>=2.3,<2.4" "pytest>=8" "hypothesis>=6.100" "pytest-timeout>=2.3" "uvloop>=0.19"
	echo "$(abspath python)" > "$$($(CCXT_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/hedgekit-checkout.pth"
	touch $(CCXT_STAMP)

## build-prod: build the extension in release mode into the virtual environment, then the Cython
## WebSocket listener in place beside ws.py (build_ext.py: Cython, setuptools, picows' .pxd)
build-prod: $(STAMP)
	$(VENV)/bin/maturin develop --release --quiet
	$(VPY) build_ext.py

## build-dev: a debug build (faster to compile, slow to run; never benchmark it)
build-dev: $(STAMP)
	$(VENV)/bin/maturin develop --quiet
	$(VPY) build_ext.py

## wheel: the distributable wheel and sdist into target/wheels/: one abi3 wheel (CPython 3.11 and
## later), manylinux_2_28, linked by zig (maturin and ziglang come from PyPI, nothing else needed).
## The wheel also carries the Cython WebSocket listener compiled for $(VPY)'s CPython (rebuilt
## first, so no module of another interpreter is packed); other CPythons use the Python listener
## (docs/decisions.md). The sdist carries its .pyx, which a build from the sdist does not compile.
## Its own cargo target dir (no lock or rebuild fights with build-prod), one build at a time
## (flock: concurrent maturin builds in one target dir break each other), moved in when complete.
WHEEL_BUILD := $(abspath target/wheel-build)
wheel: $(STAMP)
	$(VPY) -m pip install --quiet "maturin>=1.9,<2" "ziglang>=0.13"
	mkdir -p $(WHEEL_BUILD) target/wheels
	rm -f python/hedgekit/venues/transport/_wslistener.*.so
	$(VPY) build_ext.py
	flock $(WHEEL_BUILD).lock sh -ec '\
		rm -rf $(WHEEL_BUILD)/out; \
		PATH="$(abspath $(VENV))/bin:$$PATH" CARGO_TARGET_DIR=$(WHEEL_BUILD) $(VENV)/bin/maturin build \
			--release --zig --compatibility manylinux_2_28 --interpreter $(VPY) --out $(WHEEL_BUILD)/out; \
		CARGO_TARGET_DIR=$(WHEEL_BUILD) $(VENV)/bin/maturin sdist --out $(WHEEL_BUILD)/out; \
		rm -f target/wheels/hedgekit-*.whl target/wheels/hedgekit-*.tar.gz; \
		mv $(WHEEL_BUILD)/out/* target/wheels/'
	$(VPY) -m zipfile -l target/wheels/hedgekit-*.whl | grep -q 'venues/transport/_wslistener\.cpython' \
		|| { echo "the wheel lacks the compiled WebSocket listener"; exit 1; }
	ls -l target/wheels/

## demo: the funding-arbitrage demo on simulated venues (an hour of venue time in seconds)
demo: build-prod
	$(VPY) -m hedgekit demo --out hedgekit-demo

## test: every test — Rust unit and property tests, the stub check, then pytest on the release build,
## the benchmarks' smoke run and ratio gate, the sweep
test: lint test-rust build-prod stubtest docs test-python test-ccxt bench-gate sweep

test-rust:
	cargo test --workspace

stubtest: $(STAMP)
	$(VPY) -m mypy.stubtest hedgekit._core --allowlist .stubtest-allowlist
	$(VPY) -m mypy.stubtest hedgekit.venues.transport._wslistener
	$(VPY) -m mypy --strict python/hedgekit

## docs: the HTML API reference (pdoc, offline) of the public modules into target/docs/;
## built from the docstrings and python/hedgekit/_core.pyi, every pdoc warning an error
docs: build-prod
	$(VPY) docs/api/build.py target/docs

test-python: $(STAMP)
	$(VPY) -m pytest tests -q

## test-ccxt: ccxt (the Aster oracle, and the peer the benchmarks time) against our fakes, in the
## ccxt environment: tests/ccxt holds what needs it (the main run leaves that folder to this one)
test-ccxt: $(CCXT_STAMP) build-prod
	$(CCXT_PY) -m pytest tests/ccxt -q

## sweep: 6,000 seeded random scenarios under injected faults, checked against the venues' truth
## (every open plan × hedge timing gets over 500 of them)
## (failing scenarios go to .sweep-failures/, each replayable with `hedgekit simulate FILE`)
sweep: build-prod
	$(VPY) -m hedgekit sweep --seeds 6000 --jobs 2 --out .sweep-failures

## soak: the same sweep over 50,000 seeds
soak: build-prod
	$(VPY) -m hedgekit sweep --seeds 50000 --jobs 2 --out .sweep-failures

## bench: the benchmarks (release build), peers side by side where installed; every figure goes
## into benches/results.json, from which the tables of BENCHMARKS.md are regenerated at the end
RESULTS := benches/results.json
bench: build-prod $(CCXT_STAMP)
	$(VPY) -m pip install --quiet "nautilus-trader==1.221.0" || echo "nautilus-trader unavailable: its peer benchmarks are skipped"
	mkdir -p target/bench
	$(VPY) -m pytest benches -q --benchmark-only --benchmark-columns=median,mean,stddev,rounds --benchmark-sort=name \
		--benchmark-json=target/bench/pytest-benchmark.json
	$(VPY) benches/results.py pytest-benchmark target/bench/pytest-benchmark.json --json $(RESULTS)
	$(VPY) benches/callfloor.py --json $(RESULTS)
	$(VPY) benches/gate.py --json $(RESULTS) || echo "the ratio gate failed: see its table (make bench goes on)"
	$(VPY) benches/reaction.py --runs 500 > target/bench/reaction.md && cat target/bench/reaction.md
	$(VPY) benches/results.py reaction target/bench/reaction.md --json $(RESULTS)
	$(VPY) benches/reaction.py --runs 500 --idle-ms 50 --venues null --policies immediate-ioc > target/bench/reaction-idle.md && cat target/bench/reaction-idle.md
	$(VPY) benches/results.py reaction target/bench/reaction-idle.md --section reaction-idle --json $(RESULTS)
	$(VPY) benches/quality.py --seeds 500 --by-op --json $(RESULTS)
	$(VPY) -m hedgekit frontier benches/scenarios/quality.toml --seeds 500 --jobs 2 --out target/frontier
	$(VPY) benches/results.py frontier quality target/frontier/frontier.json --json $(RESULTS)
	for start in 0 500 1000; do \
		$(VPY) -m hedgekit frontier benches/scenarios/quality_realistic.toml --seeds 500 --start $$start --jobs 2 --out target/frontier-retail-$$start && \
		$(VPY) benches/results.py frontier retail-$$start target/frontier-retail-$$start/frontier.json --json $(RESULTS) && \
		$(VPY) -m hedgekit frontier benches/scenarios/quality_realistic_colocated.toml --seeds 500 --start $$start --jobs 2 --out target/frontier-colocated-$$start && \
		$(VPY) benches/results.py frontier colocated-$$start target/frontier-colocated-$$start/frontier.json --json $(RESULTS) || exit 1; \
	done
	$(VPY) benches/placement_window.py --seeds 600 --start 700000 --jobs 2 > target/bench/placement_window.md && cat target/bench/placement_window.md
	$(VPY) benches/load.py --concurrency 1,10,100,1000 --starts-per-turn 0,1,2,4,8,32 --repeat 3 --json $(RESULTS)
	$(CCXT_PY) benches/live.py --orders 500 --warmup 50 --rounds 500 --json $(RESULTS)
	$(CCXT_PY) benches/live_aster.py --orders 500 --warmup 50 --rounds 500 --json $(RESULTS)
	$(VPY) benches/live_lighter.py --orders 300 --warmup 30 --rounds 500 --json $(RESULTS)
	$(VPY) benches/ws_listener.py --frames 20000 --rounds 7 --json $(RESULTS)
	$(CCXT_PY) benches/live_ccxt.py --orders 500 --warmup 50 --json $(RESULTS)
	cargo bench -p hedgekit-core > target/bench/rust.txt && cat target/bench/rust.txt
	$(VPY) benches/results.py rust target/bench/rust.txt --json $(RESULTS)
	$(VPY) benches/render.py --results $(RESULTS)

## bench-gate: every benchmark once as a smoke test (timing off or tiny arguments; the JSON and the
## tables rendered from it go to target/bench/, BENCHMARKS.md is not touched), then the ratio gate:
## each hot path timed beside its in-process peers, ratios judged against benches/floors.toml
SMOKE := target/bench/smoke
bench-gate: build-prod $(CCXT_STAMP)
	rm -rf $(SMOKE) && mkdir -p $(SMOKE)
	$(VPY) -m pytest benches -q -p no:cacheprovider --benchmark-disable
	$(VPY) benches/callfloor.py --repeat 3 --json $(SMOKE)/results.json
	$(VPY) benches/reaction.py --runs 5 --warmup 2 > $(SMOKE)/reaction.md && cat $(SMOKE)/reaction.md
	$(VPY) benches/results.py reaction $(SMOKE)/reaction.md --json $(SMOKE)/results.json
	$(VPY) benches/reaction.py --runs 3 --warmup 1 --idle-ms 1 --venues null > $(SMOKE)/reaction-idle.md && cat $(SMOKE)/reaction-idle.md
	$(VPY) benches/results.py reaction $(SMOKE)/reaction-idle.md --section reaction-idle --json $(SMOKE)/results.json
	$(VPY) benches/quality.py --seeds 3 --jobs 1 --by-op --json $(SMOKE)/results.json
	$(VPY) benches/load.py --concurrency 1 --json $(SMOKE)/results.json
	$(VPY) benches/placement_window.py --seeds 2 --jobs 1
	$(CCXT_PY) benches/live.py --orders 5 --warmup 1 --rounds 5 --json $(SMOKE)/results.json
	$(CCXT_PY) benches/live_aster.py --orders 5 --warmup 1 --rounds 5 --json $(SMOKE)/results.json
	$(VPY) benches/live_lighter.py --orders 5 --warmup 1 --rounds 5 --json $(SMOKE)/results.json
	$(VPY) benches/ws_listener.py --frames 200 --rounds 1 --json $(SMOKE)/results.json
	$(CCXT_PY) benches/live_ccxt.py --orders 5 --warmup 1 --json $(SMOKE)/results.json
	cp BENCHMARKS.md $(SMOKE)/BENCHMARKS.md
	$(VPY) benches/render.py --results $(SMOKE)/results.json --doc $(SMOKE)/BENCHMARKS.md
	$(VPY) benches/gate.py

## lint: ruff (lint and format check, rules pinned in pyproject.toml), rustfmt, clippy
lint: $(STAMP)
	$(VENV)/bin/ruff check python tests benches docs build_ext.py
	$(VENV)/bin/ruff format --check python tests benches docs build_ext.py
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --release -- -D warnings

clean:
	rm -rf $(VENV) $(CCXT_VENV) target
