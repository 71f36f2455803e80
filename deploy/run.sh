#!/usr/bin/env bash
# Installs what jixiao needs, builds it, and runs the system: the checker
# (校验) over the bundled real forms, then deploy/demo.sh — a server and office
# clients on 127.0.0.1 taking a form through a round with one return.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
jixiao_install_packages
jixiao_build RelWithDebInfo

echo
echo "== 可用的表单模板 / form templates"
"$JIXIAO_BUILD/bin/jixiao-server" templates
for form in "$JIXIAO_ROOT"/tests/fixtures/000_puyang_2021.json \
            "$JIXIAO_ROOT"/tests/fixtures/004_shenzhen_2020.json \
            "$JIXIAO_ROOT"/tests/fixtures/001_target_*.json \
            "$JIXIAO_ROOT"/tests/fixtures/department_wrong.json; do
  [ -f "$form" ] || continue
  echo
  echo "== jixiao check $(basename "$form")"
  # Exit 1 only means the form has 错误: that is what the checker is for.
  "$JIXIAO_BUILD/bin/jixiao" check "$form" || [ $? -eq 1 ]
done

# The system itself: a local server (TLS, self-signed) and office clients on
# 127.0.0.1 walking one form through a round, then everything stops.
echo
bash "$JIXIAO_ROOT/deploy/demo.sh"
