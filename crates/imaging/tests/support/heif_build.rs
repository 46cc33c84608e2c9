//! Small HEIF files built in code for the bounds tests, and hostile edits of the real sample.
#![allow(dead_code)]

/// One box: size, type, payload.
pub fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(payload);
    v
}

/// A full box (version 0, no flags).
pub fn full(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0];
    p.extend_from_slice(payload);
    bx(kind, &p)
}

/// `depth` nested `dinf` containers around an empty `url ` box.
pub fn nested(depth: usize) -> Vec<u8> {
    let mut inner = full(b"url ", &[]);
    for _ in 0..depth {
        inner = bx(b"dinf", &inner);
    }
    inner
}

/// A minimal HEIF: one `hvc1` primary item (item 1) of the declared size, its (meaningless)
/// coded data in `idat`, and `extra` boxes appended inside `meta`.
pub fn minimal_heif(width: u32, height: u32, extra: &[Vec<u8>]) -> Vec<u8> {
    heif_with_properties(&[full(b"ispe", &ispe_payload(width, height))], extra)
}

/// The same, with an `hvcC` whose sequence parameter set codes `coded` pixels, beside an
/// `ispe` declaring `declared`.
pub fn minimal_heif_coded(declared: (u32, u32), coded: (u32, u32)) -> Vec<u8> {
    heif_with_properties(
        &[
            hvcc(coded.0, coded.1),
            full(b"ispe", &ispe_payload(declared.0, declared.1)),
        ],
        &[],
    )
}

fn ispe_payload(width: u32, height: u32) -> Vec<u8> {
    let mut ispe = width.to_be_bytes().to_vec();
    ispe.extend_from_slice(&height.to_be_bytes());
    ispe
}

/// Writes bits, big-endian first.
struct BitWriter {
    bytes: Vec<u8>,
    n: usize,
}

impl BitWriter {
    fn bit(&mut self, b: u32) {
        if self.n.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if b != 0 {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << (7 - self.n % 8);
        }
        self.n += 1;
    }
    fn bits(&mut self, v: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1);
        }
    }
    fn ue(&mut self, v: u32) {
        let x = v as u64 + 1;
        let len = 64 - x.leading_zeros();
        for _ in 0..len - 1 {
            self.bit(0);
        }
        for i in (0..len).rev() {
            self.bit(((x >> i) & 1) as u32);
        }
    }
}

/// An `hvcC` box holding one sequence parameter set that codes `width` × `height` pixels.
pub fn hvcc(width: u32, height: u32) -> Vec<u8> {
    let mut w = BitWriter {
        bytes: Vec::new(),
        n: 0,
    };
    w.bits(0, 4); // vps id
    w.bits(0, 3); // max_sub_layers_minus1
    w.bit(1); // temporal id nesting
    w.bits(0, 32);
    w.bits(0, 32);
    w.bits(0, 32); // profile_tier_level (96 bits)
    w.ue(0); // sps id
    w.ue(1); // 4:2:0
    w.ue(width);
    w.ue(height);
    w.bit(1); // stop bit
    let mut nal = vec![0x42, 0x01];
    for b in w.bytes {
        // Emulation prevention, as an encoder writes it.
        if nal.len() >= 4 && nal[nal.len() - 2..] == [0, 0] && b <= 3 {
            nal.push(3);
        }
        nal.push(b);
    }
    let mut p = vec![1u8];
    p.extend_from_slice(&[0; 21]);
    p.push(1); // one array
    p.push(0x80 | 33); // complete, SPS
    p.extend_from_slice(&1u16.to_be_bytes());
    p.extend_from_slice(&(nal.len() as u16).to_be_bytes());
    p.extend_from_slice(&nal);
    bx(b"hvcC", &p)
}

fn heif_with_properties(properties: &[Vec<u8>], extra: &[Vec<u8>]) -> Vec<u8> {
    let coded = [0u8; 32];
    let mut ftyp = b"heic".to_vec();
    ftyp.extend_from_slice(&[0, 0, 0, 0]);
    ftyp.extend_from_slice(b"mif1heic");
    let mut hdlr = vec![0, 0, 0, 0];
    hdlr.extend_from_slice(b"pict");
    hdlr.extend_from_slice(&[0; 12]);
    hdlr.push(0);
    let pitm = 1u16.to_be_bytes();
    let mut infe = 1u16.to_be_bytes().to_vec();
    infe.extend_from_slice(&[0, 0]);
    infe.extend_from_slice(b"hvc1");
    infe.push(0);
    let infe = {
        let mut p = vec![2, 0, 0, 0];
        p.extend_from_slice(&infe);
        bx(b"infe", &p)
    };
    let mut iinf = 1u16.to_be_bytes().to_vec();
    iinf.extend_from_slice(&infe);
    // iloc version 1: 4-byte offsets and lengths, construction method 1 (inside idat).
    let mut iloc = vec![1, 0, 0, 0, 0x44, 0x00];
    iloc.extend_from_slice(&1u16.to_be_bytes());
    iloc.extend_from_slice(&1u16.to_be_bytes());
    iloc.extend_from_slice(&1u16.to_be_bytes());
    iloc.extend_from_slice(&0u16.to_be_bytes());
    iloc.extend_from_slice(&1u16.to_be_bytes());
    iloc.extend_from_slice(&0u32.to_be_bytes());
    iloc.extend_from_slice(&(coded.len() as u32).to_be_bytes());
    let ipco = bx(b"ipco", &properties.concat());
    let mut ipma = 1u32.to_be_bytes().to_vec();
    ipma.extend_from_slice(&1u16.to_be_bytes());
    ipma.push(properties.len() as u8);
    for i in 0..properties.len() {
        ipma.push(0x81 + i as u8);
    }
    let mut iprp = ipco;
    iprp.extend_from_slice(&full(b"ipma", &ipma));
    let mut meta = vec![0, 0, 0, 0];
    meta.extend_from_slice(&bx(b"hdlr", &hdlr));
    meta.extend_from_slice(&full(b"pitm", &pitm));
    meta.extend_from_slice(&full(b"iinf", &iinf));
    meta.extend_from_slice(&bx(b"iloc", &iloc));
    meta.extend_from_slice(&bx(b"iprp", &iprp));
    meta.extend_from_slice(&bx(b"idat", &coded));
    for e in extra {
        meta.extend_from_slice(e);
    }
    let mut file = bx(b"ftyp", &ftyp);
    file.extend_from_slice(&bx(b"meta", &meta));
    file
}

/// Replace every occurrence of `from` by `to` (same length) in a copy of `bytes`; panics when
/// there is none.
pub fn patched_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(n > 0, "pattern not found");
    out
}

/// The `ispe` box of a size: 00 00 00 14 'ispe' 00 00 00 00 width height.
pub fn ispe_box(width: u32, height: u32) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x14];
    v.extend_from_slice(b"ispe");
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(&width.to_be_bytes());
    v.extend_from_slice(&height.to_be_bytes());
    v
}

/// The iPhone 8 sample with its primary (grid) image declaring `width` × `height`.
pub fn sample_declaring(sample: &[u8], width: u32, height: u32) -> Vec<u8> {
    patched_all(sample, &ispe_box(4032, 3024), &ispe_box(width, height))
}
