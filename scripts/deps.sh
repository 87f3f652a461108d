#!/usr/bin/env bash
# Installs what the build needs, once. Idempotent: a second run only checks.
# V8 comes from Debian's libnode108/libnode-dev, unpacked into .deps/v8 because
# those packages conflict with the Node.js already installed on the machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
v8dir="$root/.deps/v8"

packages=(
  cmake ninja-build g++ make pkg-config
  clang-14 lld-14 wasi-libc libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32
  libclang-rt-14-dev
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev libcurl4-openssl-dev libboost1.81-dev libarchive-dev
  libre2-dev
  docker-registry apache2-utils
  openssl
  libsqlite3-dev libpq-dev postgresql
  libuv1 libicu72 libc-ares2 libbrotli1 libnghttp2-14 python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$v8dir/.complete" ]; then
  echo "deps: fetching V8 (libnode108, libnode-dev) into $v8dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && chmod 777 "$tmp" && apt-get download libnode108 libnode-dev >/dev/null 2>&1) || {
    apt-get update -qq
    (cd "$tmp" && apt-get download libnode108 libnode-dev)
  }
  rm -rf "$v8dir"
  mkdir -p "$v8dir"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$v8dir"; done
  test -f "$v8dir/usr/include/node/v8.h"
  touch "$v8dir/.complete"
fi

# Pinned etcd, kube-apiserver, kubectl and helm for the real control plane (once per machine).
bash "$root/scripts/tools.sh" "${BUILD_DIR:-$root/build}"
