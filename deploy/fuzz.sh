#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in
# their own build directory and runs each for a bounded time:
#   ctest -L fuzz, JIXIAO_FUZZ_SECONDS per target (default 20).
# Usage: deploy/fuzz.sh            JIXIAO_FUZZ_SECONDS=300 deploy/fuzz.sh
# Exits non-zero when a fuzzer finds a crash; the input is left in
# build-fuzz/tests/fuzz/artifacts/<target>/ (see tests/fuzz/README.md).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# common.sh's packages plus the compiler and runtime libFuzzer lives in;
# JIXIAO_PACKAGES is extended here only, for this script.
JIXIAO_PACKAGES+=(clang libclang-rt-14-dev)
jixiao_install_packages

JIXIAO_FUZZ_BUILD="${JIXIAO_FUZZ_BUILD:-$JIXIAO_ROOT/build-fuzz}"
JIXIAO_FUZZ_SECONDS="${JIXIAO_FUZZ_SECONDS:-20}"

echo "== 构建模糊测试 / building fuzz targets in $JIXIAO_FUZZ_BUILD"
# shellcheck disable=SC2046
CC=clang CXX=clang++ cmake -S "$JIXIAO_ROOT" -B "$JIXIAO_FUZZ_BUILD" -G Ninja $(jixiao_compiler_launcher) \
  -DJIXIAO_BUILD_BENCH=OFF -DJIXIAO_FUZZ=ON -DJIXIAO_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DJIXIAO_FUZZ_SECONDS="$JIXIAO_FUZZ_SECONDS" >/dev/null
cmake --build "$JIXIAO_FUZZ_BUILD" -j "$(nproc)" --target jixiao_fuzz

echo "== 模糊测试 / fuzzing, ${JIXIAO_FUZZ_SECONDS}s per target"
ctest --test-dir "$JIXIAO_FUZZ_BUILD" -L fuzz --output-on-failure -j "$(nproc)"
