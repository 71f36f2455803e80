#!/usr/bin/env bash
# Installs what jixiao needs, builds it (no benchmarks), and runs every test:
# CTest, each test labelled with what it covers (ctest -L
# common|workflow|sync|server|client|e2e), then a bounded libFuzzer run of
# the decoders. Prints each stage's minutes; docs/ci.md has the budget.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
trap jixiao_stage_summary EXIT

jixiao_stage install jixiao_install_packages
# Benchmarks are built and run by hand (bench/RESULTS.md), never by the tests.
jixiao_stage build jixiao_build RelWithDebInfo -DJIXIAO_BUILD_BENCH=OFF
echo "== 测试 / tests"
jixiao_stage tests ctest --test-dir "$JIXIAO_BUILD" --output-on-failure -j "$(nproc)" --timeout 600

# The wire and blob decoders under libFuzzer (clang, ASan+UBSan), bounded:
# JIXIAO_FUZZ_SECONDS per target (longer runs by hand: tests/fuzz/README.md).
JIXIAO_FUZZ_SECONDS="${JIXIAO_FUZZ_SECONDS:-15}" jixiao_stage fuzz bash "$JIXIAO_ROOT/deploy/fuzz.sh"
