//! The possible match / negative report as a PDF (FR-13, FR-14): the report's lines and the probe
//! and candidate images, written by the shared PDF writer ([`crate::pdf::Document`]).

use image::RgbImage;

use crate::error::ApiError;
use crate::pdf::Document;

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

/// A "Label: value" line of the report as a field, when its label is short; the notice and other
/// sentences stay paragraphs.
fn as_field(line: &str) -> Option<(&str, &str)> {
    let (label, value) = line.split_once(": ")?;
    (!label.is_empty() && label.chars().count() <= 40).then_some((label, value))
}

/// Renders the report as a PDF: the first line is the title, the other bold lines are headings,
/// then the probe and candidate images.
pub fn pdf(
    body: &serde_json::Value,
    probe: Option<&RgbImage>,
    candidate: Option<&RgbImage>,
) -> Result<Vec<u8>, ApiError> {
    let mut lines = lines(body).into_iter();
    let title = lines
        .next()
        .map(|(_, text)| text)
        .unwrap_or_else(|| "Facial recognition report".to_string());
    let mut doc = Document::new(&title);
    for (bold, text) in lines {
        if bold {
            doc.heading(&text);
        } else if let Some((label, value)) = as_field(&text) {
            doc.field(label, value);
        } else {
            doc.paragraph(&text);
        }
    }
    for (caption, img) in [("Probe", probe), ("Candidate", candidate)] {
        if let Some(img) = img {
            doc.image(caption, img)?;
        }
    }
    Ok(doc.render())
}
