#!/usr/bin/env bash
# Installs what jixiao needs, builds it, and runs every test (CTest, each
# labelled with its module: ctest -L common|workflow|sync|server|client|e2e).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
jixiao_install_packages
jixiao_build RelWithDebInfo
echo "== 测试 / tests"
ctest --test-dir "$JIXIAO_BUILD" --output-on-failure -j "$(nproc)" --timeout 600
