#!/usr/bin/env python3
"""Writes the small seed corpus in fuzz/seeds/ (standard library only).

Seeds: bare FFF records with PNG raw data (every row filter, several IDAT
chunks) and with plain 16-bit raw data, a three-record SEQ file, a FLIR JPEG
carrying an FFF record in APP1 segments, 16-bit TIFFs (uncompressed and LZW,
with and without horizontal prediction, little- and big-endian, several
strips) and a 16-bit PGM. The camera record is copied from the sample FFF in
the test data (PROBITY_TEST_DATA, default ../shared/data from the repo root).
Also seeds for the raw_codecs target (LZW strips, PNGs, filtered rows).

Run from crates/thermal/fuzz: python3 make_seeds.py
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DATA = os.environ.get("PROBITY_TEST_DATA", os.path.join(REPO, "..", "shared", "data"))
SAMPLE = os.path.join(DATA, "thermal", "flir_duo_pro_r_frame.fff")


def camera_record():
    d = open(SAMPLE, "rb").read()
    off, cnt = struct.unpack(">II", d[0x18:0x20])
    for i in range(cnt):
        e = off + i * 32
        (t,) = struct.unpack(">H", d[e : e + 2])
        o, n = struct.unpack(">II", d[e + 12 : e + 20])
        if t == 0x20:
            return d[o : o + n]
    raise SystemExit("no camera record in " + SAMPLE)


def samples(w, h, seed=1):
    s = seed
    out = []
    for y in range(h):
        for x in range(w):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            out.append(14000 + 40 * x + 25 * y + (s >> 20) % 64)
    return out


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(raw, stride, filters):
    """PNG-filters rows of `stride` bytes (2 bytes per pixel)."""
    out = bytearray()
    prev = bytes(stride)
    for y in range(len(raw) // stride):
        row = raw[y * stride : (y + 1) * stride]
        f = filters[y % len(filters)]
        out.append(f)
        for i in range(stride):
            a = row[i - 2] if i >= 2 else 0
            b = prev[i]
            c = prev[i - 2] if i >= 2 else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            out.append((row[i] - pred) & 0xFF)
        prev = row
    return bytes(out)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png16(w, h, filters=(4, 4, 1, 2, 3, 0), idat_parts=1, interlace=0):
    vals = samples(w, h)
    if interlace:
        # Adam7: seven reduced images, each filtered on its own.
        data = b""
        for x0, y0, dx, dy in ADAM7:
            pw, ph = len(range(x0, w, dx)), len(range(y0, h, dy))
            if pw and ph:
                sub = b"".join(
                    struct.pack(">H", vals[y * w + x])
                    for y in range(y0, h, dy)
                    for x in range(x0, w, dx)
                )
                data += filter_rows(sub, 2 * pw, filters)
    else:
        raw = b"".join(struct.pack(">H", v) for v in vals)
        data = filter_rows(raw, 2 * w, filters)
    z = zlib.compress(data, 9)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, interlace)
    step = max(1, len(z) // idat_parts + 1)
    idats = b"".join(chunk(b"IDAT", z[i : i + step]) for i in range(0, len(z), step))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idats + chunk(b"IEND", b"")


def raw_record(w, h, payload):
    head = struct.pack("<HHH", 2, w, h) + bytes(26)
    return head + payload


def fff(records):
    """records: list of (type, bytes). Big-endian header version 100."""
    n = len(records)
    head = bytearray(b"FFF\0" + b"FLIR".ljust(16, b"\0"))
    head += struct.pack(">III", 100, 0x40, n)
    head = head.ljust(0x40, b"\0")
    directory = bytearray()
    body = bytearray()
    off = 0x40 + 32 * n
    for t, data in records:
        directory += struct.pack(">HHII", t, 1, 0, 0) + struct.pack(">II", off + len(body), len(data))
        directory = directory.ljust(len(directory) + 12, b"\0")
        body += data
    return bytes(head + directory + body)


def jpeg_with(fff_bytes, seg=4000):
    parts = [fff_bytes[i : i + seg] for i in range(0, len(fff_bytes), seg)]
    out = bytearray(b"\xff\xd8")
    exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x0f\0\x02\0\0\0\x04FLIR\0\0\0\0"
    out += b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    for i, p in enumerate(parts):
        payload = b"FLIR\0\x01" + bytes([i, len(parts) - 1]) + p
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    out += b"\xff\xda\x00\x02\xff\xd9"
    return bytes(out)


def lzw_encode(data):
    """TIFF LZW (libtiff rules), MSB-first."""
    out = bytearray()
    acc = nbits = 0

    def put(code, width):
        nonlocal acc, nbits
        acc = (acc << width) | code
        nbits += width
        while nbits >= 8:
            out.append((acc >> (nbits - 8)) & 0xFF)
            nbits -= 8

    width, nxt = 9, 258
    table = {}
    put(256, width)
    w = b""
    for byte in data:
        wb = w + bytes([byte])
        if len(wb) == 1 or wb in table:
            w = wb
            continue
        put(w[0] if len(w) == 1 else table[w], width)
        table[wb] = nxt
        nxt += 1
        if nxt == (1 << width) and width < 12:
            width += 1
        if nxt >= 4094:
            put(256, width)
            table.clear()
            width, nxt = 9, 258
        w = bytes([byte])
    if w:
        put(w[0] if len(w) == 1 else table[w], width)
    put(257, width)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


def tiff16(w, h, big=False, compression=1, predictor=1, rows_per_strip=None):
    e = ">" if big else "<"
    rps = rows_per_strip or h
    vals = samples(w, h, 7)
    strips = []
    for s in range(0, h, rps):
        rows = vals[s * w : min(h, s + rps) * w]
        if predictor == 2:
            diff = []
            for r in range(0, len(rows), w):
                row = rows[r : r + w]
                diff += [row[0]] + [(row[i] - row[i - 1]) & 0xFFFF for i in range(1, w)]
            rows = diff
        b = b"".join(struct.pack(e + "H", v) for v in rows)
        strips.append(lzw_encode(b) if compression == 5 else b)
    n = len(strips)
    header = (b"MM\0*" if big else b"II*\0") + struct.pack(e + "I", 8)
    tags = [
        (256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 16), (259, 3, 1, compression),
        (262, 3, 1, 1), (273, 4, n, None), (277, 3, 1, 1), (278, 3, 1, rps),
        (279, 4, n, None), (317, 3, 1, predictor),
    ]
    ifd_len = 2 + 12 * len(tags) + 4
    arrays_at = 8 + ifd_len
    data_at = arrays_at + 8 * n
    offsets, pos = [], data_at
    for s in strips:
        offsets.append(pos)
        pos += len(s)
    ifd = struct.pack(e + "H", len(tags))
    for tag, typ, cnt, val in tags:
        if tag == 273:
            field = struct.pack(e + "I", offsets[0] if n == 1 else arrays_at)
        elif tag == 279:
            field = struct.pack(e + "I", len(strips[0]) if n == 1 else arrays_at + 4 * n)
        else:
            field = struct.pack(e + "H", val) + b"\0\0"
        ifd += struct.pack(e + "HHI", tag, typ, cnt) + field
    ifd += b"\0\0\0\0"
    arrays = b"".join(struct.pack(e + "I", o) for o in offsets) + b"".join(
        struct.pack(e + "I", len(s)) for s in strips
    )
    return header + ifd + arrays + b"".join(strips)


def pgm16(w, h):
    return b"P5\n%d %d\n65535\n" % (w, h) + b"".join(struct.pack(">H", v) for v in samples(w, h))


def write(dirname, name, data):
    d = os.path.join(HERE, "seeds", dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    cam = camera_record()
    png_rec = raw_record(24, 18, png16(24, 18))
    png_multi = raw_record(16, 12, png16(16, 12, filters=(4,), idat_parts=3))
    plain_rec = raw_record(20, 15, b"".join(struct.pack("<H", v) for v in samples(20, 15)))
    fff_png = fff([(0x01, png_rec), (0x20, cam)])
    write("decode", "fff_png.fff", fff_png)
    write("decode", "fff_png_multi_idat.fff", fff([(0x01, png_multi), (0x20, cam)]))
    write("decode", "fff_png_adam7.fff", fff([(0x01, raw_record(9, 7, png16(9, 7, interlace=1))), (0x20, cam)]))
    fff_plain = fff([(0x01, plain_rec), (0x20, cam)])
    write("decode", "fff_plain.fff", fff_plain)
    write("decode", "fff_no_camera.fff", fff([(0x01, png_rec)]))
    write("decode", "seq_three.seq", fff_png + b"\0" * 16 + fff_plain + fff_png)
    write("decode", "flir_png.jpg", jpeg_with(fff_png))
    for big in (False, True):
        bo = "be" if big else "le"
        write("decode", f"tiff_plain_{bo}.tiff", tiff16(17, 9, big))
        write("decode", f"tiff_lzw_{bo}.tiff", tiff16(33, 20, big, 5, 1, 7))
        write("decode", f"tiff_lzw_pred_{bo}.tiff", tiff16(33, 20, big, 5, 2, 6))
    write("decode", "tiff_lzw_big_strip.tiff", tiff16(96, 64, False, 5, 2))
    write("decode", "pgm16.pgm", pgm16(12, 8))
    # raw_codecs: first byte selects the codec, then two bytes each of width
    # and height (or of the needed length for LZW), then the codec's input.
    strip = b"".join(struct.pack("<H", v) for v in samples(64, 40, 3))
    write("raw_codecs", "lzw", b"\0" + struct.pack("<HH", len(strip) & 0xFFFF, 0) + lzw_encode(strip))
    write("raw_codecs", "png", b"\1" + struct.pack("<HH", 24, 18) + png16(24, 18))
    write("raw_codecs", "png_multi", b"\1" + struct.pack("<HH", 16, 12) + png16(16, 12, (4,), 3))
    rows = filter_rows(strip[: 20 * 2 * 30], 40, (4, 4, 1, 2, 3, 0, 4))
    write("raw_codecs", "unfilter", b"\2" + struct.pack("<HH", 20, 30) + rows)


if __name__ == "__main__":
    main()
