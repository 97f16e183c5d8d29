#!/usr/bin/env bash
# Builds the cairo layer into layers/cairo/dist/ (lib/, fonts/), which `sam build` then packages as CairoLayer.
#
# Needs a container engine (docker, podman or finch; or CONTAINER_ENGINE=...) that can run linux/arm64 images:
# an arm64 host, or an x86-64 host with arm64 emulation (Docker Desktop, or binfmt/qemu-user-static).
#
#   layers/cairo/build.sh                  build dist/
#   layers/cairo/build.sh --detect-engine  print the engine that would be used; exit 1 if none is running
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

detect_engine() {
    local candidate
    for candidate in ${CONTAINER_ENGINE:-docker podman finch}; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [[ ${1:-} == --detect-engine ]]; then
    detect_engine
    exit
fi

engine=$(detect_engine) || {
    echo "No running container engine (tried: ${CONTAINER_ENGINE:-docker podman finch})." >&2
    exit 1
}

tag=pagefan-cairo-layer:build
"$engine" build --platform linux/arm64 --tag "$tag" "$here"
container=$("$engine" create --platform linux/arm64 "$tag")
trap '"$engine" rm -f "$container" >/dev/null' EXIT

rm -rf "$here/dist.tmp"
mkdir "$here/dist.tmp"
"$engine" cp "$container:/layer/." "$here/dist.tmp/"
test -f "$here/dist.tmp/lib/libcairo.so.2"
test -f "$here/dist.tmp/fonts/fonts.conf"
rm -rf "$here/dist"
mv "$here/dist.tmp" "$here/dist"
echo "Cairo layer built: $(du -sh "$here/dist" | cut -f1) in $here/dist"
