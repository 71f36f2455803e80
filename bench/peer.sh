#!/usr/bin/env bash
# bench/peer.sh — jixiao beside PouchDB on the same documents, the same edits
# and the same emulated link (issue 6, parts 2 and 3).
#
# Builds nothing. Build first (Release):
#   cmake -S . -B build-peer -G Ninja -DCMAKE_BUILD_TYPE=Release -DJIXIAO_BUILD_TESTS=OFF
#   cmake --build build-peer -j2 --target jixiao-server jixiao-bench-export-dataset jixiao-bench-wire
# then:
#   bash bench/peer.sh
#
# 1. jixiao-bench-export-dataset writes the workload (seed 20220301, as
#    jixiao-bench-sync-cost) as the PouchDB harness's DATASET files:
#    unit.json (731101's 10 forms + its offline week) and city.json (the 110
#    forms as the finance bureau receives them).
# 2. The PouchDB harness (docs/bench-peer.md) replicates them:
#    unit.json on $UNIT_SCENARIOS, city.json on $CITY_SCENARIOS.
# 3. A real jixiao-server (TLS, a self-signed P-256 certificate for
#    127.0.0.1) behind the harness's proxy.js; jixiao-bench-wire drives real
#    office clients through the phases on the emulated link and prints the
#    table beside PouchDB.
#
# Environment (POUCHDB_PEER required, the rest optional):
#   BUILD_DIR       build tree with bin/ (default: <repo>/build-peer)
#   POUCHDB_PEER    the harness directory, required (docs/bench-peer.md): its proxy.js
#                   carries both sides' traffic
#   OUT_DIR         results (default: $BUILD_DIR/bench/peer); wiped at start
#   SEED            20220301
#   UNIT_SCENARIOS  "loopback_ka rtt500_64k_ka"
#   CITY_SCENARIOS  "loopback_ka" (bytes and round trips do not depend on the link;
#                   rtt500_64k_ka fails at city scale: PouchDB's first _bulk_docs of 100
#                   forms, 2.6 MB, needs ~330 s at 64 kbit/s, and PouchDB-Server's Node
#                   http server drops a request still arriving after 300 s)
#   POUCHDB=skip    reuse $OUT_DIR/pouchdb-{unit,city}.json of an earlier run (OUT_DIR is then kept)
#   ONE_WAY_MS=250 BW_BPS=8000          the link jixiao is measured on
#   BUREAU_LINK=slow|loopback           the bureau's bootstrap (slow: ~15 min at 64 kbit/s)
#   REQUEST_TIMEOUT_MS, SYNC_DEADLINE_MS the office client's answer timeout and whole-sync
#                   deadline, default 3600000 each. "default" keeps the product's (ClientOptions:
#                   30000 and 600000), with which the unit's first sync never completes on the
#                   64 kbit/s link: every request is re-sent after 30 s (bench/RESULTS-peer.md)
#
# Processes: one jixiao-server and one proxy.js, started here and stopped by
# PID on exit (SIGTERM, SIGKILL after 5 s). Everything listens on 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "${BUILD_DIR:-$ROOT/build-peer}" 2>/dev/null && pwd || echo "${BUILD_DIR:-$ROOT/build-peer}")"
POUCHDB_PEER="${POUCHDB_PEER:-}"
OUT_DIR="${OUT_DIR:-$BUILD_DIR/bench/peer}"
SEED="${SEED:-20220301}"
UNIT_SCENARIOS="${UNIT_SCENARIOS:-loopback_ka rtt500_64k_ka}"
CITY_SCENARIOS="${CITY_SCENARIOS:-loopback_ka}"
ONE_WAY_MS="${ONE_WAY_MS:-250}"
BW_BPS="${BW_BPS:-8000}"
BUREAU_LINK="${BUREAU_LINK:-slow}"
PASSWORD="Bench2022pass"

say() { printf 'peer.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

BIN="$BUILD_DIR/bin"
for exe in jixiao-server jixiao-bench-export-dataset jixiao-bench-wire; do
  [ -x "$BIN/$exe" ] || die "$BIN/$exe missing; build first:
  cmake -S $ROOT -B $BUILD_DIR -G Ninja -DCMAKE_BUILD_TYPE=Release -DJIXIAO_BUILD_TESTS=OFF
  cmake --build $BUILD_DIR -j2 --target jixiao-server jixiao-bench-export-dataset jixiao-bench-wire"
done
[ -x "$POUCHDB_PEER/run" ] || die "no PouchDB harness at '$POUCHDB_PEER': set POUCHDB_PEER (docs/bench-peer.md)"
POUCHDB_PEER="$(cd "$POUCHDB_PEER" && pwd)"
command -v node >/dev/null || die "node not found"
command -v openssl >/dev/null || die "openssl not found (for the server's certificate)"

if [ "${POUCHDB:-}" != skip ]; then rm -rf "$OUT_DIR"; fi
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
DEPS_DIR="${DEPS_DIR:-$BUILD_DIR/bench/pouchdb-deps}"  # npm cache of the harness, kept between runs

SERVER_PID=""; PROXY_PID=""
stop_pid() {
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
cleanup() { stop_pid "$PROXY_PID"; PROXY_PID=""; stop_pid "$SERVER_PID"; SERVER_PID=""; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. the dataset -----------------------------------------------------------------------
say "exporting the workload (seed $SEED) to $OUT_DIR/dataset"
"$BIN/jixiao-bench-export-dataset" "$OUT_DIR/dataset" "$SEED" | tee "$OUT_DIR/dataset.txt" >&2

# ---- 2. PouchDB ---------------------------------------------------------------------------
if [ "${POUCHDB:-}" = skip ]; then
  for f in pouchdb-unit.json pouchdb-city.json; do [ -s "$OUT_DIR/$f" ] || die "POUCHDB=skip but $OUT_DIR/$f is missing"; done
  say "reusing $OUT_DIR/pouchdb-unit.json and pouchdb-city.json"
else
  # A failed scenario is reported in the summary ("ok": false) and left out
  # of the comparison; the other scenarios' figures stand.
  for scope in unit city; do
    if [ "$scope" = unit ]; then scen="$UNIT_SCENARIOS"; else scen="$CITY_SCENARIOS"; fi
    say "PouchDB, $scope scope, on: $scen"
    rc=0
    # shellcheck disable=SC2086
    DATASET="$OUT_DIR/dataset/$scope.json" WORK_DIR="$OUT_DIR/pouchdb-$scope" DEPS_DIR="$DEPS_DIR" \
      "$POUCHDB_PEER/run" $scen > "$OUT_DIR/pouchdb-$scope.json" || rc=$?
    [ -s "$OUT_DIR/pouchdb-$scope.json" ] || die "the PouchDB harness wrote no summary (exit $rc)"
    [ "$rc" = 0 ] || say "warning: a PouchDB $scope scenario failed (exit $rc); see $OUT_DIR/pouchdb-$scope/logs"
  done
fi

# ---- 3. a real jixiao-server behind proxy.js -------------------------------------------------
J="$OUT_DIR/jixiao"
rm -rf "$J"; mkdir -p "$J"
SRV="$J/server"
say "jixiao-server init, certificate, units and users in $SRV"
"$BIN/jixiao-server" init --data "$SRV" --port 0 > "$J/init.out"
mkdir -p "$SRV/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 2 \
  -keyout "$SRV/tls/server.key" -out "$SRV/tls/server.crt" -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=critical,CA:TRUE" 2> "$J/openssl.err"
chmod 600 "$SRV/tls/server.key"
"$BIN/jixiao-bench-wire" --csv "$J" --password "$PASSWORD"
"$BIN/jixiao-server" import-units "$J/units.csv" --data "$SRV" > "$J/import.out"
"$BIN/jixiao-server" import-users "$J/users.csv" --data "$SRV" >> "$J/import.out"
rm -f "$J/users.csv"  # it holds the passwords

"$BIN/jixiao-server" serve --data "$SRV" > "$J/serve.out" 2> "$J/serve.err" &
SERVER_PID=$!
SERVER_PORT=""
for _ in $(seq 1 200); do
  SERVER_PORT="$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' "$J/serve.out" | head -1)"
  [ -n "$SERVER_PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "jixiao-server exited: $(cat "$J/serve.err")"
  sleep 0.1
done
[ -n "$SERVER_PORT" ] || die "jixiao-server did not print LISTENING within 20 s"
say "jixiao-server pid $SERVER_PID on 127.0.0.1:$SERVER_PORT"
TLS_LINE="$(openssl s_client -connect "127.0.0.1:$SERVER_PORT" -CAfile "$SRV/tls/server.crt" < /dev/null 2>/dev/null \
  | grep -E '^(New|Protocol)' | head -2 | tr '\n' ' ' || true)"
say "TLS as negotiated with the server: $TLS_LINE"

UPSTREAM_PORT="$SERVER_PORT" PORT_FILE="$J/proxy.port" ONE_WAY_MS=0 BW_BPS=0 \
  node "$POUCHDB_PEER/proxy.js" > "$J/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 1 100); do [ -s "$J/proxy.port" ] && break; sleep 0.1; done
[ -s "$J/proxy.port" ] || die "proxy.js did not start: $(cat "$J/proxy.log")"
read -r PROXY_PORT CTRL_PORT < "$J/proxy.port"
say "proxy.js pid $PROXY_PID on 127.0.0.1:$PROXY_PORT (control $CTRL_PORT)"

TIMEOUTS=()
REQUEST_TIMEOUT_MS="${REQUEST_TIMEOUT_MS:-3600000}"
SYNC_DEADLINE_MS="${SYNC_DEADLINE_MS:-3600000}"
[ "$REQUEST_TIMEOUT_MS" != default ] && TIMEOUTS+=(--request-timeout-ms "$REQUEST_TIMEOUT_MS")
[ "$SYNC_DEADLINE_MS" != default ] && TIMEOUTS+=(--sync-deadline-ms "$SYNC_DEADLINE_MS")
say "jixiao-bench-wire (the bureau's bootstrap on the $BUREAU_LINK link)"
"$BIN/jixiao-bench-wire" --url "wss://127.0.0.1:$PROXY_PORT/sync" --ca "$SRV/tls/server.crt" --ctrl-port "$CTRL_PORT" \
  --work "$J/clients" --password "$PASSWORD" --seed "$SEED" --one-way-ms "$ONE_WAY_MS" --bw-bps "$BW_BPS" \
  --bureau-link "$BUREAU_LINK" "${TIMEOUTS[@]}" \
  --pouchdb-unit "$OUT_DIR/pouchdb-unit.json" --pouchdb-city "$OUT_DIR/pouchdb-city.json" \
  --json-out "$OUT_DIR/wire.json" | tee "$OUT_DIR/wire.txt"

cleanup
"$BIN/jixiao-server" verify-audit --data "$SRV" > "$J/verify-audit.out" 2>&1 \
  && say "verify-audit: $(tail -1 "$J/verify-audit.out")" || say "verify-audit FAILED: $(cat "$J/verify-audit.out")"
say "results in $OUT_DIR (wire.txt, wire.json, pouchdb-*.json)"
