#!/usr/bin/env python3
"""Writes the small seed corpus in fuzz/seeds/ (standard library only).

The camera samples in the test data (PROBITY_TEST_DATA, default
../shared/data from the repo root) are 0.3 to 1.6 MB: far above the fuzzer's
input size and slow to decode. The seeds keep what the parsers read from each
sample and shrink the pixels:

- JPEG: the sample's own APP segments (JFIF, ICC, EXIF with IFD0/Exif/GPS/
  Interop IFDs, the Nikon type-3 maker note, Photoshop/IPTC), in front of a
  tiny baseline image encoded here with the sample's own Huffman tables. The
  Nikon D70's EXIF thumbnail and maker-note preview (8.7 KB and 25 KB) are
  replaced by tiny JPEGs of the same aspect ratio, their offsets and lengths
  patched in place, so the embedded-preview paths are still reached.
- Synthetic JPEGs: XMP-only metadata (GPS, time with offset, serial, lens),
  EXIF orientation 6, greyscale, CMYK (Adobe APP14).
- PNG with the iPhone 4's EXIF in an eXIf chunk.
- NEF: a copy of the stripped D70 NEF whose SubIFD preview points at a tiny
  JPEG appended to the file.
- HEIC: a minimal HEIC built from the iPhone 8 sample: one 512x512 HEVC tile item as the primary
  image with its hvcC and ispe properties, and the sample's Exif item.

All targets share the one seed folder (the entry points all take any file).

Run from crates/imaging/fuzz: python3 make_seeds.py
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DATA = os.environ.get("PROBITY_TEST_DATA", os.path.join(REPO, "..", "shared", "data"))
CAMERA = os.path.join(DATA, "camera")


def sample(name):
    path = os.path.join(CAMERA, name)
    if not os.path.isfile(path):
        raise SystemExit(f"sample {path} not found: set PROBITY_TEST_DATA")
    return open(path, "rb").read()


# ------------------------------------------------------------------ JPEG


def segments(jpeg):
    """(marker, payload) of every segment before the first SOS."""
    out = []
    i = 2
    while True:
        assert jpeg[i] == 0xFF
        marker = jpeg[i + 1]
        (n,) = struct.unpack(">H", jpeg[i + 2 : i + 4])
        if marker == 0xDA:
            return out
        out.append((marker, jpeg[i + 4 : i + 2 + n]))
        i += 2 + n


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def huffman_tables():
    """The standard tables as the iPhone 4 writes them: {(class, id): (bits, values)}."""
    tables = {}
    for marker, p in segments(sample("apple_iphone4.jpg")):
        if marker != 0xC4:
            continue
        i = 0
        while i < len(p):
            tc, th = p[i] >> 4, p[i] & 15
            bits = list(p[i + 1 : i + 17])
            n = sum(bits)
            tables[(tc, th)] = (bits, list(p[i + 17 : i + 17 + n]))
            i += 17 + n
    return tables


def codes(bits, values):
    out, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            out[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return out


class Bits:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, length):
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc = self.n = 0

    def flush(self):
        while self.n:
            self.put(1, 1)
        return bytes(self.out)


def tiny_jpeg(width, height, components=3, apps=(), adobe=False):
    """A baseline JPEG with one flat colour per 8x8 block (DC only), a soft gradient."""
    tables = huffman_tables()
    dht = b""
    for (tc, th), (bits, values) in sorted(tables.items()):
        dht += bytes([(tc << 4) | th]) + bytes(bits) + bytes(values)
    dqt = b"\x00" + bytes([8] * 64) + b"\x01" + bytes([12] * 64)
    comps = b""
    for c in range(components):
        comps += bytes([c + 1, 0x11, 0 if c == 0 or components == 4 else 1])
    sof = struct.pack(">BHHB", 8, height, width, components) + comps
    scan = bytes([components])
    for c in range(components):
        t = 0 if c == 0 or components == 4 else 1
        scan += bytes([c + 1, (t << 4) | t])
    scan += b"\x00\x3f\x00"
    dc = [codes(*tables[(0, t)]) for t in (0, 1)]
    ac = [codes(*tables[(1, t)]) for t in (0, 1)]
    w = Bits()
    pred = [0] * components
    bw, bh = (width + 7) // 8, (height + 7) // 8
    for by in range(bh):
        for bx in range(bw):
            for c in range(components):
                t = 0 if c == 0 or components == 4 else 1
                level = ((bx * 37 + by * 23 + c * 50) % 160 - 80) if c == 0 else (bx - by) * 4
                diff = level - pred[c]
                pred[c] = level
                size = abs(diff).bit_length()
                code, length = dc[t][size]
                w.put(code, length)
                if size:
                    w.put(diff if diff > 0 else diff + (1 << size) - 1, size)
                code, length = ac[t][0x00]
                w.put(code, length)
    out = b"\xFF\xD8"
    for marker, payload in apps:
        out += segment(marker, payload)
    if adobe:
        out += segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x00")
    out += segment(0xDB, dqt) + segment(0xC0, sof) + segment(0xC4, dht)
    out += segment(0xDA, scan) + w.flush() + b"\xFF\xD9"
    return out


# ------------------------------------------------------------------ TIFF


def find_entry(tiff, ifd_offset, tag):
    """Byte offset (within `tiff`) of the IFD entry with `tag`, and its type."""
    e = "<" if tiff[:2] == b"II" else ">"
    (n,) = struct.unpack(e + "H", tiff[ifd_offset : ifd_offset + 2])
    for k in range(n):
        p = ifd_offset + 2 + 12 * k
        t, typ = struct.unpack(e + "HH", tiff[p : p + 4])
        if t == tag:
            return p, typ
    raise SystemExit(f"tag {tag:#x} not in IFD at {ifd_offset}")


def entry_value(tiff, ifd_offset, tag):
    e = "<" if tiff[:2] == b"II" else ">"
    p, typ = find_entry(tiff, ifd_offset, tag)
    return struct.unpack(e + ("H" if typ == 3 else "I"), tiff[p + 8 : p + (10 if typ == 3 else 12)])[0]


def set_entry(tiff, ifd_offset, tag, value):
    """Overwrite a one-value SHORT or LONG entry in place (`tiff` is a bytearray)."""
    e = "<" if tiff[:2] == b"II" else ">"
    p, typ = find_entry(tiff, ifd_offset, tag)
    tiff[p + 8 : p + 12] = struct.pack(e + "HH", value, 0) if typ == 3 else struct.pack(e + "I", value)


def ifd_chain(tiff):
    e = "<" if tiff[:2] == b"II" else ">"
    (first,) = struct.unpack(e + "I", tiff[4:8])
    (n,) = struct.unpack(e + "H", tiff[first : first + 2])
    (nxt,) = struct.unpack(e + "I", tiff[first + 2 + 12 * n : first + 6 + 12 * n])
    return first, nxt


def tiff_ifd(entries, little=False):
    """A one-IFD TIFF: entries are (tag, type, count, value bytes)."""
    e = "<" if little else ">"
    head = (b"II*\x00" if little else b"MM\x00*") + struct.pack(e + "I", 8)
    body_at = 8 + 2 + 12 * len(entries) + 4
    ifd = struct.pack(e + "H", len(entries))
    extra = b""
    for tag, typ, count, value in sorted(entries):
        if len(value) <= 4:
            ifd += struct.pack(e + "HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            ifd += struct.pack(e + "HHII", tag, typ, count, body_at + len(extra))
            extra += value + b"\0" * (len(value) % 2)
    return head + ifd + struct.pack(e + "I", 0) + extra


# ------------------------------------------------------------------ seeds


def iphone4():
    segs = [(m, p) for m, p in segments(sample("apple_iphone4.jpg")) if 0xE0 <= m <= 0xEF]
    return tiny_jpeg(40, 30, apps=segs)


def nikon_d70():
    """The D70's APP1 with its two large embedded JPEGs replaced by tiny ones."""
    segs = segments(sample("nikon_d70.jpg"))
    apps = []
    for marker, p in segs:
        if marker == 0xE1 and p.startswith(b"Exif\0\0"):
            tiff = bytearray(p[6:])
            ifd0, ifd1 = ifd_chain(tiff)
            thumb_at = entry_value(tiff, ifd1, 0x0201)
            exif = entry_value(tiff, ifd0, 0x8769)
            note_at = entry_value(tiff, exif, 0x927C)
            inner = note_at + 10  # "Nikon\0" + version, then the note's own TIFF header
            note = bytearray(tiff[inner:])
            note_ifd0, _ = ifd_chain(note)
            preview_ifd = entry_value(note, note_ifd0, 0x0011)
            preview_at = entry_value(note, preview_ifd, 0x0201)
            assert inner + preview_at >= thumb_at, "layout differs from the expected sample"
            thumb = tiny_jpeg(24, 16)
            preview = tiny_jpeg(48, 32)
            set_entry(note, preview_ifd, 0x0201, thumb_at + len(thumb) - inner)
            set_entry(note, preview_ifd, 0x0202, len(preview))
            tiff[inner:] = note
            set_entry(tiff, ifd1, 0x0202, len(thumb))
            tiff = bytes(tiff[:thumb_at]) + thumb + preview
            apps.append((marker, b"Exif\0\0" + tiff))
        elif 0xE0 <= marker <= 0xEF:
            apps.append((marker, p))
    return tiny_jpeg(48, 32, apps=apps)


XMP = b"""<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
<rdf:Description rdf:about='' xmlns:tiff='http://ns.adobe.com/tiff/1.0/'
 xmlns:exif='http://ns.adobe.com/exif/1.0/' xmlns:aux='http://ns.adobe.com/exif/1.0/aux/'
 tiff:Make='Canon' tiff:Model='Canon EOS 5D' tiff:Orientation='8'
 exif:GPSLatitude='51,30.4567N' exif:GPSLongitude='0,7.5W' exif:GPSAltitude='4281/100'
 exif:GPSAltitudeRef='1' exif:DateTimeOriginal='2021-06-01T12:34:56.78+01:00'>
<aux:SerialNumber>0042</aux:SerialNumber><aux:Lens>24-105mm f/4</aux:Lens>
<exifEX:BodySerialNumber xmlns:exifEX='http://cipa.jp/exif/1.0/'><rdf:Alt><rdf:li xml:lang='x-default'>A&amp;1</rdf:li></rdf:Alt></exifEX:BodySerialNumber>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end='w'?>"""


def xmp_only():
    return tiny_jpeg(32, 24, apps=[(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + XMP)])


def rational(n, d):
    return struct.pack(">II", n, d)


def exif_orientation_gps():
    """Synthetic EXIF: orientation 6, body serial, lens, time with offset, GPS south/west."""
    gps = tiff_ifd(
        [
            (1, 2, 2, b"S\0"),
            (2, 5, 3, rational(33, 1) + rational(51, 1) + rational(5400, 100)),
            (3, 2, 2, b"W\0"),
            (4, 5, 3, rational(151, 1) + rational(12, 1) + rational(0, 1)),
            (5, 1, 1, b"\x01"),
            (6, 5, 1, rational(1234, 100)),
        ]
    )
    exif = tiff_ifd(
        [
            (0x9003, 2, 20, b"2022:02:03 04:05:06\0"),
            (0x9011, 2, 7, b"-05:00\0"),
            (0x9291, 2, 4, b"123\0"),
            (0xA431, 2, 9, b"00012345\0"),
            (0xA432, 5, 4, rational(24, 1) + rational(70, 1) + rational(28, 10) + rational(28, 10)),
            (0xA002, 4, 1, struct.pack(">I", 24)),
            (0xA003, 4, 1, struct.pack(">I", 32)),
        ]
    )
    # IFD0 with Make, Model, Orientation 6 and pointers to the Exif and GPS IFDs stored after it.
    base = tiff_ifd(
        [
            (0x010F, 2, 6, b"Canon\0"),
            (0x0110, 2, 8, b"EOS R5\0\0"),
            (0x0112, 3, 1, struct.pack(">H", 6)),
            (0x8769, 4, 1, b"\0\0\0\0"),
            (0x8825, 4, 1, b"\0\0\0\0"),
        ]
    )
    tiff = bytearray(base)
    exif_at = len(tiff)
    tiff += exif[8:]
    gps_at = len(tiff)
    tiff += gps[8:]
    # The sub-IFDs were built at offset 8: shift their out-of-line offsets.
    for at, sub in ((exif_at, exif), (gps_at, gps)):
        (n,) = struct.unpack(">H", sub[8:10])
        for k in range(n):
            p = at + 2 + 12 * k
            typ, count = struct.unpack(">HI", tiff[p + 2 : p + 8])
            size = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8}[typ] * count
            if size > 4:
                (o,) = struct.unpack(">I", tiff[p + 8 : p + 12])
                tiff[p + 8 : p + 12] = struct.pack(">I", o - 8 + at)
    set_entry(tiff, 8, 0x8769, exif_at)
    set_entry(tiff, 8, 0x8825, gps_at)
    return tiny_jpeg(32, 24, apps=[(0xE1, b"Exif\0\0" + bytes(tiff))])


def png_with_exif():
    exif = segments(sample("apple_iphone4.jpg"))
    exif = next(p[6:] for m, p in exif if m == 0xE1 and p.startswith(b"Exif\0\0"))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    w, h = 12, 8
    raw = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 20, y * 30, 128)) for y in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"eXIf", exif)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def nef_with_preview():
    """The stripped NEF with a complete tiny JPEG as its SubIFD preview."""
    nef = bytearray(sample("nikon_d70_stripped.nef"))
    ifd0, _ = ifd_chain(nef)
    e = "<" if nef[:2] == b"II" else ">"
    p, _ = find_entry(nef, ifd0, 0x014A)
    (count, at) = struct.unpack(e + "II", nef[p + 4 : p + 12])
    subs = struct.unpack(e + "%dI" % count, nef[at : at + 4 * count]) if count > 1 else (at,)
    preview = tiny_jpeg(48, 32)
    for sub in subs:
        try:
            find_entry(nef, sub, 0x0201)
        except SystemExit:
            continue
        set_entry(nef, sub, 0x0201, len(nef))
        set_entry(nef, sub, 0x0202, len(preview))
        return bytes(nef) + preview
    raise SystemExit("no SubIFD with a JPEG preview in the NEF sample")


def heif_box(kind, payload):
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind, version, flags, payload):
    return heif_box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def read_boxes(data, start, end):
    out, i = [], start
    while i + 8 <= end:
        (size,) = struct.unpack(">I", data[i : i + 4])
        out.append((data[i + 4 : i + 8], i, size))
        i += size
    return out


def minimal_heic():
    """One HEVC tile of the iPhone 8 sample as the primary image, plus its Exif item."""
    d = sample("apple_iphone8.heic")
    meta = next((i, s) for k, i, s in read_boxes(d, 0, len(d)) if k == b"meta")
    inner = {k: (i, s) for k, i, s in read_boxes(d, meta[0] + 12, meta[0] + meta[1])}
    iprp = inner[b"iprp"]
    in_iprp = {k: (i, s) for k, i, s in read_boxes(d, iprp[0] + 8, iprp[0] + iprp[1])}
    ipco = in_iprp[b"ipco"]
    props = [d[i : i + s] for k, i, s in read_boxes(d, ipco[0] + 8, ipco[0] + ipco[1])]
    # iinf: item types; iloc: extents; ipma: properties per item.
    i, _ = inner[b"iinf"]
    (n,) = struct.unpack(">H", d[i + 12 : i + 14])
    j, types = i + 14, {}
    for _ in range(n):
        (size,) = struct.unpack(">I", d[j : j + 4])
        (item,) = struct.unpack(">H", d[j + 12 : j + 14])
        types[item] = d[j + 16 : j + 20]
        j += size
    i, _ = inner[b"iloc"]
    assert d[i + 8] == 1 and d[i + 12] == 0x44 and d[i + 13] == 0x00, "unexpected iloc layout"
    (count,) = struct.unpack(">H", d[i + 14 : i + 16])
    j, extents = i + 16, {}
    for _ in range(count):
        item, _method, _ref, ecount = struct.unpack(">HHHH", d[j : j + 8])
        j += 8
        ex = []
        for _ in range(ecount):
            ex.append(struct.unpack(">II", d[j : j + 8]))
            j += 8
        extents[item] = ex
    i, _ = in_iprp[b"ipma"]
    flags = int.from_bytes(d[i + 9 : i + 12], "big")
    (count,) = struct.unpack(">I", d[i + 12 : i + 16])
    j, assoc = i + 16, {}
    for _ in range(count):
        (item,) = struct.unpack(">H", d[j : j + 2])
        na = d[j + 2]
        j += 3
        lst = []
        for _ in range(na):
            if flags & 1:
                (v,) = struct.unpack(">H", d[j : j + 2])
                j += 2
                lst.append(v & 0x7FFF)
            else:
                lst.append(d[j] & 0x7F)
                j += 1
        assoc[item] = lst
    tiles = [k for k, t in types.items() if t == b"hvc1" and len(extents[k]) == 1]
    tile = min(tiles, key=lambda k: extents[k][0][1])
    exif_item = next(k for k, t in types.items() if t == b"Exif")
    hvcc = next(props[p - 1] for p in assoc[tile] if props[p - 1][4:8] == b"hvcC")
    ispe = next(props[p - 1] for p in assoc[tile] if props[p - 1][4:8] == b"ispe")
    (to, tl), = extents[tile]
    (eo, el), = extents[exif_item]
    tile_data, exif_data = d[to : to + tl], d[eo : eo + el]

    ftyp = heif_box(b"ftyp", b"heic\0\0\0\0mif1heic")
    hdlr = full_box(b"hdlr", 0, 0, b"\0\0\0\0pict" + b"\0" * 12 + b"\0")
    pitm = full_box(b"pitm", 0, 0, struct.pack(">H", 1))
    infe1 = full_box(b"infe", 2, 0, struct.pack(">HH", 1, 0) + b"hvc1" + b"\0")
    infe2 = full_box(b"infe", 2, 0, struct.pack(">HH", 2, 0) + b"Exif" + b"\0")
    iinf = full_box(b"iinf", 0, 0, struct.pack(">H", 2) + infe1 + infe2)
    iref = full_box(b"iref", 0, 0, heif_box(b"cdsc", struct.pack(">HHH", 2, 1, 1)))
    ipco = heif_box(b"ipco", hvcc + ispe)
    ipma = full_box(b"ipma", 0, 0, struct.pack(">IHB", 1, 1, 2) + bytes([0x81, 0x02]))
    iprp = heif_box(b"iprp", ipco + ipma)

    def iloc(base):
        return full_box(
            b"iloc",
            0,
            0,
            bytes([0x44, 0x00])
            + struct.pack(">H", 2)
            + struct.pack(">HHHII", 1, 0, 1, base, len(tile_data))
            + struct.pack(">HHHII", 2, 0, 1, base + len(tile_data), len(exif_data)),
        )

    head_len = len(ftyp) + 12 + len(hdlr + pitm + iinf + iref + iprp + iloc(0)) + 8
    meta = full_box(b"meta", 0, 0, hdlr + pitm + iinf + iref + iprp + iloc(head_len))
    out = ftyp + meta + heif_box(b"mdat", tile_data + exif_data)
    assert len(ftyp + meta) + 8 == head_len
    return out


def main():
    seeds = {
        "iphone4_app_segments.jpg": iphone4(),
        "nikon_d70_app_segments.jpg": nikon_d70(),
        "xmp_only.jpg": xmp_only(),
        "exif_orientation6_gps.jpg": exif_orientation_gps(),
        "grey.jpg": tiny_jpeg(16, 16, components=1),
        "cmyk_adobe.jpg": tiny_jpeg(16, 8, components=4, adobe=True),
        "iphone4_exif.png": png_with_exif(),
        "nikon_d70_stripped_preview.nef": nef_with_preview(),
        "iphone8_one_tile.heic": minimal_heic(),
    }
    folder = os.path.join(HERE, "seeds")
    os.makedirs(folder, exist_ok=True)
    for old in os.listdir(folder):
        os.remove(os.path.join(folder, old))
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    total = sum(len(d) for d in seeds.values())
    print(f"{len(seeds)} seeds, {total} bytes, in seeds/")


if __name__ == "__main__":
    main()
