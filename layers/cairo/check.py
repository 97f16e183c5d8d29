"""Smoke test of the cairo layer inside the python3.13 Lambda image (run by the Dockerfile's check stage)."""

import os
import sys

if "/opt/lib" not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
    sys.exit("LD_LIBRARY_PATH lacks /opt/lib: this is not the Lambda image the layer is checked in")

import cairosvg  # loads libcairo.so.2 through cairocffi

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">'
    b'<text x="5" y="20" font-family="Helvetica" font-size="12">pagefan cairo layer</text></svg>'
)
pdf = cairosvg.svg2pdf(bytestring=SVG)
with open("/proc/self/maps") as maps:
    loaded = [line.split()[-1] for line in maps if "libcairo.so" in line]
if not pdf.startswith(b"%PDF"):
    sys.exit("cairosvg did not produce a PDF")
if not any(path.startswith("/opt/lib/") for path in loaded):
    sys.exit(f"libcairo was not loaded from /opt/lib: {sorted(set(loaded))}")
if b"/FontFile" not in pdf:
    sys.exit("no font embedded: fontconfig found no font under /opt/fonts")
print(f"cairo layer OK: {len(pdf)} bytes of PDF, libcairo from {loaded[0]}")
