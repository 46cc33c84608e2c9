//! The possible match / negative report as a PDF (FR-13, FR-14): a small hand-written PDF 1.4 with
//! Helvetica text and the probe and candidate images as embedded JPEGs (DCTDecode).

use std::io::Cursor;

use image::RgbImage;

use crate::error::ApiError;

/// Text that fits PDF's literal strings in WinAnsi: non-ASCII replaced, delimiters escaped.
fn pdf_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// Wraps text to `width` characters.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn jpeg(img: &RgbImage) -> Result<Vec<u8>, ApiError> {
    let mut buf = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90)
        .encode_image(img)
        .map_err(ApiError::internal)?;
    Ok(buf.into_inner())
}

/// The report's lines, from its JSON body.
pub fn lines(body: &serde_json::Value) -> Vec<(bool, String)> {
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    let possible = body["kind"] == "possible_match";
    let mut out = vec![(
        true,
        if possible {
            "POSSIBLE MATCH REPORT - facial recognition (lead only)".to_string()
        } else {
            "NEGATIVE RESULT REPORT - facial recognition".to_string()
        },
    )];
    out.push((false, format!("Case: {}", s(&body["case_number"]))));
    out.push((false, format!("Request: {}", s(&body["request"]))));
    out.push((false, format!("Requested by: {}", s(&body["requester"]))));
    out.push((
        false,
        format!("Authorized use: {}", s(&body["authorized_use"])),
    ));
    out.push((
        false,
        format!(
            "Probe: still {} from {}, SHA-256 {}",
            s(&body["probe"]["still"]),
            s(&body["probe"]["source"]),
            s(&body["probe"]["sha256"])
        ),
    ));
    let edits = body["edits"].as_array().cloned().unwrap_or_default();
    if edits.is_empty() {
        out.push((false, "Edits: none (original probe)".into()));
    }
    for (i, e) in edits.iter().enumerate() {
        out.push((
            false,
            format!(
                "Edit {}: {} before {} after {}",
                i + 1,
                e["edit"],
                s(&e["before_sha256"]),
                s(&e["after_sha256"])
            ),
        ));
    }
    out.push((false, format!("Algorithm: {}", s(&body["algorithm"]))));
    if possible {
        let c = &body["candidate"];
        out.push((
            false,
            format!(
                "Possible match candidate: {} (subject {}, {} {}, photo of {})",
                s(&c["candidate"]),
                s(&c["subject_id"]),
                s(&c["source"]),
                s(&c["arrest_id"]),
                s(&c["photo_date"])
            ),
        ));
    }
    out.push((
        false,
        format!("Facial identification by: {}", s(&body["identified_by"])),
    ));
    out.push((
        false,
        format!(
            "Background check: {}",
            s(&body["background_check"]["result"])
        ),
    ));
    for r in body["peer_reviews"].as_array().cloned().unwrap_or_default() {
        out.push((
            false,
            format!(
                "Peer review by {}: {} - {}",
                s(&r["by"]),
                if r["concur"] == true {
                    "concurs"
                } else {
                    "differs"
                },
                s(&r["notes"])
            ),
        ));
    }
    for d in body["supervisor_decisions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        out.push((
            false,
            format!(
                "Supervisor {}: {}",
                s(&d["by"]),
                d["decision"]
                    .get("decision")
                    .map(s)
                    .unwrap_or_else(|| s(&d["decision"]))
            ),
        ));
    }
    out.push((true, "NOTICE".into()));
    out.push((false, s(&body["notice"])));
    out.push((false, format!("Generated: {}", s(&body["generated_at"]))));
    out
}

/// Renders the report as a one-page PDF.
pub fn pdf(
    body: &serde_json::Value,
    probe: Option<&RgbImage>,
    candidate: Option<&RgbImage>,
) -> Result<Vec<u8>, ApiError> {
    let mut images: Vec<(String, u32, u32, Vec<u8>)> = Vec::new();
    for (name, img) in [("Probe", probe), ("Candidate", candidate)] {
        if let Some(img) = img {
            images.push((name.into(), img.width(), img.height(), jpeg(img)?));
        }
    }
    // Content stream.
    let mut content = String::from("BT\n");
    let mut y = 800.0f64;
    for (bold, text) in lines(body) {
        let font = if bold { "F2" } else { "F1" };
        let size = if bold { 12 } else { 9 };
        for part in wrap(&text, if bold { 80 } else { 105 }) {
            content.push_str(&format!(
                "/{font} {size} Tf 1 0 0 1 40 {y:.1} Tm ({}) Tj\n",
                pdf_text(&part)
            ));
            y -= f64::from(size) + 4.0;
        }
        y -= 2.0;
    }
    content.push_str("ET\n");
    let mut x = 40.0f64;
    let box_side = 220.0f64;
    let img_y = (y - box_side - 20.0).max(30.0);
    for (i, (name, w, h, _)) in images.iter().enumerate() {
        let scale = box_side / f64::from((*w).max(*h));
        let (dw, dh) = (f64::from(*w) * scale, f64::from(*h) * scale);
        content.push_str(&format!(
            "q {dw:.1} 0 0 {dh:.1} {x:.1} {img_y:.1} cm /Im{i} Do Q\nBT /F2 9 Tf 1 0 0 1 {x:.1} {:.1} Tm ({name}) Tj ET\n",
            img_y + dh + 4.0
        ));
        x += box_side + 30.0;
    }
    // Objects: 1 catalog, 2 pages, 3 page, 4 font, 5 bold font, 6 content, 7.. images.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec());
    let xobjects: String = (0..images.len())
        .map(|i| format!("/Im{i} {} 0 R ", 7 + i))
        .collect();
    objects.push(
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R \
             /Resources << /Font << /F1 4 0 R /F2 5 0 R >> /XObject << {xobjects}>> >> >>"
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let mut c = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    c.extend_from_slice(content.as_bytes());
    c.extend_from_slice(b"\nendstream");
    objects.push(c);
    for (_, w, h, data) in &images {
        let mut o = format!(
            "<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB \
             /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            data.len()
        )
        .into_bytes();
        o.extend_from_slice(data);
        o.extend_from_slice(b"\nendstream");
        objects.push(o);
    }
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    Ok(out)
}
