# Shared by deploy/run.sh and deploy/test.sh: install what jixiao needs from
# Debian 12's own packages, then configure and build. Sourced, not run.
set -euo pipefail

JIXIAO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JIXIAO_BUILD="${JIXIAO_BUILD:-$JIXIAO_ROOT/build}"

# Every package the build and the tests use; see docs/dependencies.md.
JIXIAO_PACKAGES=(
  g++ cmake ninja-build pkg-config openssl
  libcereal-dev nlohmann-json3-dev libssl-dev libsodium-dev libsqlite3-dev libboost1.81-dev zlib1g-dev
  libgtest-dev libgmock-dev
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

jixiao_build() {
  local build_type="${1:-RelWithDebInfo}"
  shift || true
  echo "== 构建 / building ($build_type) in $JIXIAO_BUILD"
  cmake -S "$JIXIAO_ROOT" -B "$JIXIAO_BUILD" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
  cmake --build "$JIXIAO_BUILD" -j "$(nproc)"
}
