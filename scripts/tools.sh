#!/usr/bin/env bash
# Builds the pinned Kubernetes tools (etcd, kube-apiserver, kube-controller-manager, kubectl, helm)
# from the wrapper modules in tools/go/, once per machine, and links them into <build-dir>/tools/bin/.
#
# Binaries live outside the clone, in ${XDG_CACHE_HOME:-~/.cache}/kubewarden-cpp/<tool>-<version>/,
# so a fresh clone on the same machine (CI) reuses them. Each is built under a temporary name and
# renamed into place with its .complete stamp, so an interrupted build never looks finished.
# The stamp hashes go.mod, go.sum and the link flags: changing a pin rebuilds that tool.
# A failed build prints go's own error and stops; nothing falls back to another binary.
# Usage: scripts/tools.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$root/build}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubewarden-cpp"
link_dir="$build_dir/tools/bin"
mkdir -p "$cache" "$link_dir"

# <binary> <wrapper module> <package> <module whose version names the cache folder>
tools=(
  "etcd etcd go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3"
  "kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes"
  "kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes"
  "kubectl kubernetes k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes"
  "helm helm helm.sh/helm/v3/cmd/helm helm.sh/helm/v3"
)

# The required version of a module, read from a wrapper's go.mod (require lines only).
module_version() {
  awk -v m="$2" '$1 == m && $2 ~ /^v[0-9]/ { print $2; exit }' "$1/go.mod"
}

# Version strings the binaries print; without them kube-apiserver reports v0.0.0-master.
ldflags_for() {
  local tool=$1 version=$2 flags="-s -w"
  case $tool in
    kube-*|kubectl)
      local minor=${version#v1.}
      minor=${minor%%.*}
      local p
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
      done ;;
    helm) flags+=" -X helm.sh/helm/v3/internal/version.version=$version" ;;
  esac
  echo "$flags"
}

go_ready=0
build_tool() {
  local tool=$1 moddir=$2 pkg=$3 version=$4 ldflags=$5 stamp=$6 dest=$7
  if [ $go_ready = 0 ]; then
    source "$root/scripts/tools-go.sh"
    go_ready=1
  fi
  local tmp
  tmp=$(mktemp -d "$cache/.$tool-$version.XXXXXX")
  tmp_dirs+=("$tmp")
  mkdir "$tmp/bin"
  echo "tools: building $tool $version (once per machine; takes minutes)"
  local start=$SECONDS status=0
  # Static binaries as upstream ships them; nice and -p 2 leave CPU for the C++ build.
  (cd "$moddir" && CGO_ENABLED=0 nice -n 10 go build -p 2 -trimpath -buildvcs=false \
      -ldflags "$ldflags" -o "$tmp/bin/$tool" "$pkg") || status=$?
  if [ $status != 0 ]; then
    echo "tools: FAILED: go build of $pkg ($tool $version) exited $status; go's error is above." >&2
    echo "tools: module: $moddir" >&2
    exit 1
  fi
  echo "$((SECONDS - start))" >"$tmp/build-seconds"
  echo "$stamp" >"$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  echo "tools: built $tool $version in $((SECONDS - start)) s"
}

tmp_dirs=()
cleanup() { [ ${#tmp_dirs[@]} = 0 ] || rm -rf "${tmp_dirs[@]}"; }
trap cleanup EXIT
# Two concurrent runs (two clones, or make -j) must not build the same tool twice.
exec 9>"$cache/.lock"
flock 9
# Holding the lock, any temporary folder left is from a killed build: never complete, so drop it.
rm -rf "$cache"/.*-v*.??????

for entry in "${tools[@]}"; do
  read -r tool module pkg versioned <<<"$entry"
  moddir="$root/tools/go/$module"
  version=$(module_version "$moddir" "$versioned")
  [ -n "$version" ] || { echo "tools: no version of $versioned in $moddir/go.mod" >&2; exit 1; }
  ldflags=$(ldflags_for "$tool" "$version")
  stamp=$( { cat "$moddir/go.mod" "$moddir/go.sum"; echo "$pkg $ldflags"; } | sha256sum | cut -d' ' -f1)
  dest="$cache/$tool-$version"
  if [ "$(cat "$dest/.complete" 2>/dev/null)" != "$stamp" ] || [ ! -x "$dest/bin/$tool" ]; then
    build_tool "$tool" "$moddir" "$pkg" "$version" "$ldflags" "$stamp" "$dest"
  fi
  ln -sfn "$dest/bin/$tool" "$link_dir/$tool"
done
