#!/bin/sh
# Copies libcairo and every library it loads, except glibc's own (the Lambda runtime has those), to OUT/lib,
# and the fonts with their fontconfig configuration to OUT/fonts (collect-fonts.sh). Runs inside the Amazon Linux
# 2023 build stage.
set -eu
out=${1:?usage: collect.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/lib" "$out/fonts"

cairo=/usr/lib64/libcairo.so.2
loader=
for candidate in /lib/ld-linux-aarch64.so.1 /lib64/ld-linux-aarch64.so.1; do
    if [ -x "$candidate" ]; then loader=$candidate; break; fi
done
[ -n "$loader" ] || { echo "no arm64 dynamic loader: is this an arm64 image?" >&2; exit 1; }

cp -L "$cairo" "$out/lib/"
"$loader" --list "$cairo" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    case $(basename "$lib") in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|libutil.so.*|ld-linux-*) ;;
        *) cp -L "$lib" "$out/lib/" ;;
    esac
done

sh "$here/collect-fonts.sh" /usr/share/fonts "$out/fonts"

echo "libraries:"; ls -l "$out/lib"
echo "fonts:"; ls "$out/fonts"
du -sh "$out"
