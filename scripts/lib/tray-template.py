"""Draws icons/tray-template.png: the app icon's two links (icons/app-icon.svg) alone, black on
transparent, for macOS's menu bar, which draws a template image in its own colour. Run it again
after changing the links in the app icon: python3 scripts/lib/tray-template.py"""
import math
import struct
import zlib

SIZE = 44  # 22 points at 2x
SAMPLES = 4  # per pixel side, for smooth edges
HALF_STROKE = 34.0
# Each link: the centres of its rounded ends, its radius and its rotation about a point, as in
# icons/app-icon.svg (a 360 x 260 rectangle with 130 corners is a capsule).
LINKS = [((344, 512), (444, 512), 130, (394, 512)), ((580, 512), (680, 512), 130, (630, 512))]
ANGLE = math.radians(-35)


def rotate(point, about):
    x, y = point[0] - about[0], point[1] - about[1]
    c, s = math.cos(ANGLE), math.sin(ANGLE)
    return (about[0] + x * c - y * s, about[1] + x * s + y * c)


SEGMENTS = [(rotate(a, about), rotate(b, about), r) for a, b, r, about in LINKS]

# The square drawn: the links' extent, centred, with a pixel's margin.
REACH = max(r for _, _, r in SEGMENTS) + HALF_STROKE
XS = [x for a, b, _ in SEGMENTS for x in (a[0], b[0])]
YS = [y for a, b, _ in SEGMENTS for y in (a[1], b[1])]
SPAN = max(max(XS) - min(XS), max(YS) - min(YS)) + 2 * REACH
SPAN *= SIZE / (SIZE - 2)
LEFT = (min(XS) + max(XS)) / 2 - SPAN / 2
TOP = (min(YS) + max(YS)) / 2 - SPAN / 2


def on_a_link(x, y):
    for (ax, ay), (bx, by), r in SEGMENTS:
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        distance = math.hypot(x - (ax + t * dx), y - (ay + t * dy))
        if abs(distance - r) <= HALF_STROKE:
            return True
    return False


rows = []
for py in range(SIZE):
    row = bytearray([0])
    for px in range(SIZE):
        hits = 0
        for sy in range(SAMPLES):
            for sx in range(SAMPLES):
                x = LEFT + (px + (sx + 0.5) / SAMPLES) * SPAN / SIZE
                y = TOP + (py + (sy + 0.5) / SAMPLES) * SPAN / SIZE
                hits += on_a_link(x, y)
        row += bytes([0, 0, 0, round(255 * hits / SAMPLES**2)])
    rows.append(bytes(row))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


png = b"\x89PNG\r\n\x1a\n"
png += chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
png += chunk(b"IEND", b"")
with open("icons/tray-template.png", "wb") as out:
    out.write(png)
