#!/usr/bin/env bash
# Builds OCI images of our binaries without a container engine and pushes them.
#
# Each image is one layer on `scratch`: the binary at /<name>, exactly the shared libraries it
# loads (as ldd resolves them, plus the dynamic loader), the CA bundle, /etc/passwd and
# /etc/group with the non-root user `kubewarden` (uid/gid 65532), and an empty /tmp. The
# config runs the binary as 65532:65532 and carries the org.opencontainers.image.{version,
# source,revision} labels. The layer tar is reproducible (sorted, owner 0, fixed mtime), so
# the same binaries give the same digests.
#
# Usage: scripts/images.sh [--push REGISTRY[/prefix]] [--build-dir build] [--tag TAG] [name...]
#   names: policy-server kubewarden-controller audit-scanner (default: all three)
# Writes build/images/<name>/ (an OCI image layout; rootfs/ is the unpacked filesystem) and
# prints one line per image: "<name> <reference> <compressed size> <unpacked size>".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
registry=""
tag=""
names=()
while [ $# -gt 0 ]; do
  case $1 in
    --push) registry=$2; shift 2 ;;
    --build-dir) build_dir=$(cd "$2" && pwd); shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    -*) echo "images: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(policy-server kubewarden-controller audit-scanner)

version=$(sed -n 's/^project(kubewarden_cpp VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
source_url=${KW_IMAGE_SOURCE:-https://github.com/kubewarden-cpp/kubewarden-cpp}
[ -n "$tag" ] || tag="v$version"
# The commit time, so rebuilding the same commit gives the same layer.
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
uid=65532

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# Copies `file` (following symlinks) to the same path under the root filesystem.
copy_in() {
  local file=$1 rootfs=$2
  mkdir -p "$rootfs$(dirname "$file")"
  cp -L "$file" "$rootfs$file"
}

# The libraries the binary loads: ldd's resolved paths and the loader it names.
libraries_of() {
  local out
  if ! out=$(ldd "$1" 2>&1); then
    case $out in *"not a dynamic executable"*) return 0 ;; esac
    echo "images: ldd $1 failed: $out" >&2; return 1
  fi
  if grep -q 'not found' <<<"$out"; then
    echo "images: $1 needs libraries that are missing here:" >&2
    grep 'not found' <<<"$out" >&2; return 1
  fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out" | sort -u
}

make_rootfs() {
  local binary=$1 name=$2 rootfs=$3
  rm -rf "$rootfs"
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  cp "$binary" "$rootfs/$name"
  strip --strip-debug -o "$rootfs/$name" "$binary"
  local lib
  for lib in $(libraries_of "$binary"); do
    case $lib in
      /lib/*|/lib64/*|/usr/lib/*) copy_in "$lib" "$rootfs" ;;
      # Found through the build's RUNPATH (e.g. libnode under .deps/): the loader's default
      # folder finds it in the image, so no build path leaks into it.
      *) mkdir -p "$rootfs/usr/lib/x86_64-linux-gnu"
         cp -L "$lib" "$rootfs/usr/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
    esac
  done
  cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nkubewarden:x:%s:%s:kubewarden:/home/kubewarden:/sbin/nologin\n' \
    $uid $uid >"$rootfs/etc/passwd"
  printf 'root:x:0:\nkubewarden:x:%s:\n' $uid >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  mkdir -p "$rootfs/home/kubewarden"
}

# Writes blobs, index.json and oci-layout for one image; sets manifest_digest.
make_layout() {
  local name=$1 dir=$2 rootfs=$dir/rootfs blobs=$dir/blobs/sha256
  rm -rf "$dir/blobs" "$dir/index.json" "$dir/oci-layout"
  mkdir -p "$blobs"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -C "$rootfs" -cf "$dir/layer.tar" .
  local diff_id
  diff_id=$(sha "$dir/layer.tar")
  gzip -n -6 -c "$dir/layer.tar" >"$dir/layer.tar.gz"
  local layer_digest layer_size
  layer_digest=$(sha "$dir/layer.tar.gz")
  layer_size=$(size "$dir/layer.tar.gz")
  mv "$dir/layer.tar.gz" "$blobs/$layer_digest"
  unpacked_size=$(size "$dir/layer.tar")
  rm "$dir/layer.tar"

  local labels
  labels=$(printf '{"org.opencontainers.image.version":"%s","org.opencontainers.image.source":"%s","org.opencontainers.image.revision":"%s","org.opencontainers.image.title":"%s"}' \
    "$tag" "$source_url" "$revision" "$name")
  printf '{"architecture":"amd64","os":"linux","created":"%s","config":{"User":"%s:%s","Entrypoint":["/%s"],"Env":["PATH=/","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt","HOME=/home/kubewarden"],"WorkingDir":"/","Labels":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"scripts/images.sh"}]}' \
    "$created" $uid $uid "$name" "$labels" "$diff_id" "$created" >"$dir/config.json"
  local config_digest config_size
  config_digest=$(sha "$dir/config.json")
  config_size=$(size "$dir/config.json")
  mv "$dir/config.json" "$blobs/$config_digest"

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}],"annotations":%s}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" "$labels" >"$dir/manifest.json"
  manifest_digest=$(sha "$dir/manifest.json")
  local manifest_size
  manifest_size=$(size "$dir/manifest.json")
  mv "$dir/manifest.json" "$blobs/$manifest_digest"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_digest" "$manifest_size" "$tag" >"$dir/index.json"
  compressed_size=$((layer_size + config_size + manifest_size))
}

pusher=$build_dir/bin/kw-image-push
for name in "${names[@]}"; do
  binary=$build_dir/bin/$name
  if [ ! -x "$binary" ]; then
    echo "images: $binary is missing; build it first (cmake --build $build_dir --target $name)" >&2
    exit 1
  fi
  dir=$build_dir/images/$name
  make_rootfs "$binary" "$name" "$dir/rootfs"
  make_layout "$name" "$dir"
  ref="$name@sha256:$manifest_digest"
  if [ -n "$registry" ]; then
    [ -x "$pusher" ] || { echo "images: $pusher is missing (target kw-image-push)" >&2; exit 1; }
    "$pusher" --layout "$dir" "$registry/$name:$tag" >/dev/null
    ref="$registry/$name:$tag@sha256:$manifest_digest"
  fi
  echo "$name $ref $compressed_size $unpacked_size"
done
