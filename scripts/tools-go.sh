# Sourced by the tool scripts: finds the Go toolchain and fixes the environment it runs in.
# CI's PATH may lack Go's folder, so look in the usual install places before giving up.
kw_find_go() {
  local candidate
  if candidate=$(command -v go 2>/dev/null); then echo "$candidate"; return 0; fi
  for candidate in /usr/local/go/bin/go "$HOME/go/bin/go" "$HOME/.local/go/bin/go"; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

if ! kw_go=$(kw_find_go); then
  echo "tools: Go not found (looked on PATH, /usr/local/go/bin, ~/go/bin, ~/.local/go/bin)." >&2
  echo "tools: install Go 1.26 or newer (etcd 3.6 needs it); the tools are built from source." >&2
  exit 1
fi
PATH="$(dirname "$kw_go"):$PATH"
# Never download another toolchain: build with the one installed, or fail saying why.
export GOTOOLCHAIN=local
