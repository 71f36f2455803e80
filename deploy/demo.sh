#!/usr/bin/env bash
# The system demo: a temporary jixiao-server (wss:// with a self-signed
# certificate) on 127.0.0.1, the 保定 units and their users, four office
# clients, and one short round of a 项目支出绩效自评表 from 竞秀区科协:
# 填报 → 校验 → 提交 → 单位审核通过 → 市科协退回 → 修改后重新提交 → 通过 → 财政局受理.
#
# Needs the built binaries ($JIXIAO_BUILD/bin, default build/bin) and the
# `openssl` command (Debian package openssl) for the certificate. Idempotent:
# every run starts from an empty $JIXIAO_DEMO_DIR (default
# ${TMPDIR:-/tmp}/jixiao-demo). It stops what it started, by PID, on every
# exit path, and leaves the data behind for a look.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${JIXIAO_BUILD:-$ROOT/build}"
BIN="$BUILD/bin"
DEMO="${JIXIAO_DEMO_DIR:-${TMPDIR:-/tmp}/jixiao-demo}"
SRV="$DEMO/server"

for exe in jixiao jixiao-server; do
  [ -x "$BIN/$exe" ] || { echo "找不到 $BIN/$exe：请先构建（bash deploy/run.sh）/ build first" >&2; exit 1; }
done
command -v openssl >/dev/null || { echo "需要 openssl 命令（apt-get install openssl）/ need openssl" >&2; exit 1; }

section() { printf '\n== %s\n' "$*"; }

# ---- a clean start -----------------------------------------------------------------
# A demo server left running by an interrupted earlier run is stopped by the
# PID in its lock file, and only if that PID is a jixiao-server serving this
# directory.
if [ -f "$SRV/server.lock" ]; then
  old_pid="$(cut -d' ' -f1 "$SRV/server.lock" 2>/dev/null || true)"
  if [ -n "$old_pid" ] && [ -r "/proc/$old_pid/cmdline" ] &&
     tr '\0' ' ' <"/proc/$old_pid/cmdline" | grep -q "jixiao-server serve --data $SRV"; then
    echo "停止上次演示遗留的服务进程 $old_pid / stopping the previous demo server"
    kill -TERM "$old_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$old_pid" 2>/dev/null || break; sleep 0.1; done
  fi
fi
rm -rf "$DEMO"
mkdir -p "$DEMO/clients"
chmod 700 "$DEMO"

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

server() { "$BIN/jixiao-server" "$@" --data "$SRV"; }

# ---- the server --------------------------------------------------------------------
section "初始化服务端 / jixiao-server init（TLS，自签名证书，仅 127.0.0.1）"
server init --port 0 | sed -n 1,4p
mkdir -p "$SRV/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -keyout "$SRV/tls/server.key" -out "$SRV/tls/server.crt" 2>/dev/null
chmod 600 "$SRV/tls/server.key"
CA="$SRV/tls/server.crt"

section "导入单位 / import-units"
cat >"$DEMO/units.csv" <<'EOF'
F130600,保定市财政局,财政局,,
K130600,保定市科学技术协会,市级,,F130600
K130602,竞秀区科协,区县级,K130600,F130600
K130606,莲池区科协,区县级,K130600,F130600
EOF
server import-units "$DEMO/units.csv"

section "导入用户 / import-users"
# 登录名,姓名,单位,角色,初始密码 — demo passwords; a real file is deleted after import.
cat >"$DEMO/users.csv" <<'EOF'
登录名,姓名,单位,角色,初始密码
tianli,田丽,K130602,preparer,Jingxiu2021a
zhaomin,赵敏,K130602,unit_reviewer,Jingxiu2021b
sunwei,孙伟,K130600,supervisor,Baoding2021c
zhoujing,周静,F130600,finance_reviewer,Caizheng2021d
EOF
server import-users "$DEMO/users.csv"
server user list
# One password file per user (first line), 0600, for the clients below.
while IFS=, read -r login _ _ _ password; do
  [ "$login" = "登录名" ] && continue
  printf '%s\n' "$password" >"$DEMO/clients/$login.password"
  chmod 600 "$DEMO/clients/$login.password"
done <"$DEMO/users.csv"
rm -f "$DEMO/users.csv"

section "启动服务 / jixiao-server serve"
"$BIN/jixiao-server" serve --data "$SRV" >"$DEMO/serve.out" 2>"$DEMO/serve.log" &
SERVER_PID=$!
PORT=""
for _ in $(seq 200); do  # at most 20 s
  PORT="$(sed -n 's/^LISTENING \([0-9]*\)$/\1/p' "$DEMO/serve.out" | head -1)"
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "服务未能启动 / the server did not start:" >&2
  cat "$DEMO/serve.log" >&2
  exit 1
fi
sed -n 2p "$DEMO/serve.out"
URL="wss://127.0.0.1:$PORT/sync"

# ---- the clients -------------------------------------------------------------------
# jx LOGIN ARGS…: the office client of LOGIN, each with its own data directory.
jx() {
  local login="$1"
  shift
  "$BIN/jixiao" --data "$DEMO/clients/$login" "$@"
}
say() { printf '\n-- %s\n' "$*"; }

section "注册四台办公电脑 / jixiao register（区科协填报人、区科协审核人、市科协、财政局）"
for login in tianli zhaomin sunwei zhoujing; do
  jx "$login" register --server "$URL" --user "$login" --ca "$CA" --password-file "$DEMO/clients/$login.password"
done

section "一轮审批 / one round"
say "田丽（竞秀区科协，填报人）新建项目支出绩效自评表并填写"
FORM="$(jx tianli create project_self_eval_row_points --year 2021 | grep -oE '[0-9a-f]{8}-[0-9a-f-]{27}' | head -1)"
echo "表单编号 $FORM"
set_cell() { jx tianli set "$FORM" "$1" "$2" >/dev/null; }
set_cell fields.project_name "科普惠民社区行"
set_cell fields.department "竞秀区科协"
set_cell fields.implementing_unit "竞秀区科协"
set_cell fields.goal_expected "在辖区内举办社区科普讲座20场，发放科普资料5000份，受益群众4000人次。"
set_cell fields.goal_actual "举办社区科普讲座22场，发放科普资料5200份，受益群众4300人次。"
set_cell 'funds[total].initial_budget' 1.8
set_cell 'funds[total].full_year_budget' 1.8
set_cell 'funds[total].executed' 1.75
set_cell 'funds[fiscal].initial_budget' 1.8
set_cell 'funds[fiscal].full_year_budget' 1.8
set_cell 'funds[fiscal].executed' 1.75
set_cell 'funds[total].points' 10
set_cell 'funds[total].rate' '97.2%'
set_cell 'funds[total].score' 9.72
jx tianli add-row "$FORM" indicators level1=产出指标 level2=数量指标 level3=举办社区科普讲座 \
  target=20场 actual=22场 points=30 score=30 >/dev/null
jx tianli add-row "$FORM" indicators level1=产出指标 level2=数量指标 level3=发放科普资料 \
  target=5000份 actual=5200份 points=30 score=30 >/dev/null
jx tianli add-row "$FORM" indicators level1=效益指标 level2=社会效益指标 level3=受益群众人次 \
  target=≥4000人次 actual=4300人次 points=30 score=30 >/dev/null
set_cell fields.total_score 99.72
jx tianli show "$FORM"

say "校验 / jixiao check（提交前的自查）"
jx tianli check "$FORM" || [ $? -eq 1 ]

say "同步并提交 / sync, submit"
jx tianli sync
jx tianli submit "$FORM"
jx tianli sync

say "赵敏（竞秀区科协，单位审核人）审核通过"
jx zhaomin sync
jx zhaomin todo
jx zhaomin approve "$FORM" --comment "同意上报"
jx zhaomin sync

say "孙伟（保定市科学技术协会，上级审核人）退回"
jx sunwei sync
jx sunwei todo
REASON="执行率应为 97.22%（1.75 ÷ 1.80），表中为 97.2%；超额完成的指标请填写偏差原因分析"
jx sunwei return "$FORM" --reason "$REASON"
jx sunwei sync

say "田丽看到退回，修改后重新提交"
jx tianli sync
jx tianli todo
set_cell 'funds[total].rate' '97.22%'
set_cell fields.grade 优
for row in $(jx tianli show "$FORM" --json | grep -oE '"row_id": "[0-9a-f-]{36}"' | grep -oE '[0-9a-f-]{36}'); do
  set_cell "indicators[$row].deviation" "群众参与热情高，追加场次与资料，经费未超预算"
done
jx tianli check "$FORM" || [ $? -eq 1 ]
jx tianli resubmit "$FORM"
jx tianli sync

say "赵敏、孙伟审核通过"
jx zhaomin sync
jx zhaomin approve "$FORM"
jx zhaomin sync
jx sunwei sync
jx sunwei approve "$FORM" --comment "已更正，同意"
jx sunwei sync

say "周静（保定市财政局，财政局审核人）受理"
jx zhoujing sync
jx zhoujing todo
jx zhoujing accept "$FORM" --comment "受理"
jx zhoujing sync

section "各客户端的表单与待办 / every client's forms and todo"
for login in tianli zhaomin sunwei zhoujing; do
  jx "$login" sync >/dev/null
  say "$login: jixiao forms"
  jx "$login" forms
  say "$login: jixiao todo"
  jx "$login" todo
done
say "tianli: jixiao history"
jx tianli history "$FORM"

section "服务端状态 / jixiao-server status"
server status
section "审计日志校验 / jixiao-server verify-audit"
server verify-audit

section "停止服务 / stopping the server (PID $SERVER_PID)"
stop_server
echo "已停止。演示数据保留在 / the demo's data is in: $DEMO"
echo "  服务端 server:   $SRV（jixiao-server status --data $SRV）"
echo "  客户端 clients:  $DEMO/clients/<登录名>（jixiao --data $DEMO/clients/tianli forms）"
echo "  服务日志 log:    $DEMO/serve.log"
