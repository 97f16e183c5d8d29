#!/bin/sh
# Copies the layer's fonts from SOURCE (a distribution's font tree, /usr/share/fonts) to OUT, with the layer's
# fontconfig configuration (fonts.conf beside this script). collect.sh runs it in the Amazon Linux 2023 build
# stage; tests/unit/layers runs it on Debian's fonts.
#
# Fails, naming the script, when a font the SVG names for Arabic, Hebrew or CJK text is missing: without it
# cairo would draw that script as boxes, and no error would say so. File names differ between packagings:
#   Noto Sans Arabic, Hebrew  NotoSansArabic-Regular.ttf and -Bold.ttf (Debian's fonts-noto-core, Fedora's
#                             static google-noto-sans-arabic-fonts); NotoSansArabic[wdth,wght].ttf (Fedora's
#                             variable google-noto-sans-arabic-vf-fonts); Hebrew likewise
#   Noto Sans CJK             NotoSansCJK-Regular.ttc and -Bold.ttc (Debian's fonts-noto-cjk, Fedora's
#                             google-noto-sans-cjk-ttc-fonts); NotoSansCJK-VF.ttc (google-noto-sans-cjk-vf-fonts);
#                             NotoSansCJKjp-Regular.otf and -Bold.otf (google-noto-sans-cjk-jp-fonts)
# Only regular and bold are taken, the weights the SVG draws: the CJK collection's other five weights alone
# would be about 100 MB of the 250 MB that a function and its layers may unzip to.
set -eu
usage="usage: collect-fonts.sh SOURCE OUT"
source=${1:?$usage}
out=${2:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

# Symbolic links too (cp copies what they point to).
find "$source" \( -type f -o -type l \) \( -name 'DejaVu*.ttf' -o -name 'Liberation*.ttf' \
    -o -name 'NotoSansArabic-Regular.ttf' -o -name 'NotoSansArabic-Bold.ttf' -o -name 'NotoSansArabic\[*\].ttf' \
    -o -name 'NotoSansHebrew-Regular.ttf' -o -name 'NotoSansHebrew-Bold.ttf' -o -name 'NotoSansHebrew\[*\].ttf' \
    -o -name 'NotoSansCJK-Regular.ttc' -o -name 'NotoSansCJK-Bold.ttc' -o -name 'NotoSansCJK-VF.ttc' \
    -o -name 'NotoSansCJKjp-Regular.otf' -o -name 'NotoSansCJKjp-Bold.otf' \) \
    -exec cp {} "$out/" \;
cp "$here/fonts.conf" "$out/fonts.conf"

nl='
'
missing=
[ -n "$(find "$out" -name 'DejaVu*' -o -name 'Liberation*')" ] \
    || missing="$missing$nl  Latin: no DejaVu or Liberation font (dejavu-sans-fonts, liberation-sans-fonts)"
[ -n "$(find "$out" -name 'NotoSansArabic*')" ] \
    || missing="$missing$nl  Arabic: no Noto Sans Arabic (google-noto-sans-arabic-fonts or -vf-fonts)"
[ -n "$(find "$out" -name 'NotoSansHebrew*')" ] \
    || missing="$missing$nl  Hebrew: no Noto Sans Hebrew (google-noto-sans-hebrew-fonts or -vf-fonts)"
[ -n "$(find "$out" -name 'NotoSansCJK*')" ] \
    || missing="$missing$nl  CJK: no Noto Sans CJK (google-noto-sans-cjk-ttc-fonts, -fonts, -vf-fonts or -jp-fonts)"
if [ -n "$missing" ]; then
    echo "collect-fonts.sh: fonts missing under $source; that text would draw as boxes:$missing" >&2
    exit 1
fi
