# Shared by deploy/run.sh and deploy/test.sh: install what jixiao needs from
# Debian 12's own packages, then configure and build. Sourced, not run.
set -euo pipefail

JIXIAO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JIXIAO_BUILD="${JIXIAO_BUILD:-$JIXIAO_ROOT/build}"

# Every package the build and the tests use; see docs/dependencies.md.
JIXIAO_PACKAGES=(
  g++ cmake ninja-build pkg-config openssl
  libcereal-dev nlohmann-json3-dev libssl-dev libsodium-dev libsqlite3-dev libboost1.81-dev zlib1g-dev
  libgtest-dev libgmock-dev ccache
)

jixiao_install_packages() {
  local missing=()
  for p in "${JIXIAO_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== 安装依赖 / installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "需要 root 权限或 sudo 来安装软件包 / need root or sudo" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ccache keeps compiled objects between builds (a CI run after a small change
# recompiles only what changed); without it the build is the same, only slower.
jixiao_compiler_launcher() {
  if command -v ccache >/dev/null; then echo "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; fi
}

jixiao_build() {
  local build_type="${1:-RelWithDebInfo}"
  shift || true
  echo "== 构建 / building ($build_type) in $JIXIAO_BUILD"
  # shellcheck disable=SC2046
  cmake -S "$JIXIAO_ROOT" -B "$JIXIAO_BUILD" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
    $(jixiao_compiler_launcher) "$@" >/dev/null
  cmake --build "$JIXIAO_BUILD" -j "$(nproc)"
}

# Stage timing for CI: jixiao_stage NAME runs the rest of its arguments as a
# command and prints how many minutes it took (docs/ci.md keeps the budget).
JIXIAO_STAGE_TIMES=()
jixiao_stage() {
  local name="$1"
  shift
  local start end rc=0
  start=$(date +%s)
  "$@" || rc=$?
  end=$(date +%s)
  local minutes
  minutes=$(awk -v s=$((end - start)) 'BEGIN { printf "%.1f", s / 60 }')
  JIXIAO_STAGE_TIMES+=("$name $minutes")
  echo "== 阶段 stage '$name': $minutes min (exit $rc)"
  return $rc
}

jixiao_stage_summary() {
  echo "== 各阶段用时 / stage minutes"
  local line
  for line in "${JIXIAO_STAGE_TIMES[@]}"; do
    printf '   %-12s %s min\n' ${line}
  done
}
