#!/usr/bin/env bash
# Installs what jixiao needs, builds it, and runs every test (CTest, each
# labelled with its module: ctest -L common|workflow|sync|server|client|e2e).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
jixiao_install_packages
jixiao_build RelWithDebInfo
echo "== 测试 / tests"
ctest --test-dir "$JIXIAO_BUILD" --output-on-failure -j "$(nproc)" --timeout 600

# The wire and blob decoders under libFuzzer (clang, ASan+UBSan), bounded:
# JIXIAO_FUZZ_SECONDS per target (longer runs by hand: tests/fuzz/README.md).
JIXIAO_FUZZ_SECONDS="${JIXIAO_FUZZ_SECONDS:-15}" bash "$JIXIAO_ROOT/deploy/fuzz.sh"
