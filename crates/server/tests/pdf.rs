//! The shared PDF writer read back by an independent reader: poppler's `pdftotext` and `pdfinfo`
//! (Debian package poppler-utils, installed by scripts/setup.d) must open what we write without a
//! complaint and find its text — the title, field values, table cells and the numbered footers of
//! a document that runs over several pages, and the FR report built on the same writer.

use std::process::Command;

use chrono::{DateTime, Utc};
use probity_server::pdf::Document;

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
        .expect("date")
        .with_timezone(&Utc)
}

/// Runs a poppler tool on the PDF with `args` before the file and `after` it; fails the test,
/// naming the package, when the tool is missing, and when the tool reports anything on stderr
/// (poppler prints "Syntax Error" for a broken file).
fn poppler(tool: &str, pdf: &[u8], args: &[&str], after: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = Command::new(tool)
        .args(args)
        .arg(&path)
        .args(after)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{tool} could not be run ({e}): install the Debian package poppler-utils \
                 (listed in scripts/setup.d/base.apt; run scripts/setup)"
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} failed: {stderr}");
    assert!(stderr.trim().is_empty(), "{tool} complained: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pdftotext(pdf: &[u8]) -> String {
    poppler("pdftotext", pdf, &["-enc", "UTF-8"], &["-"])
}

fn pdfinfo(pdf: &[u8]) -> String {
    poppler("pdfinfo", pdf, &["-enc", "UTF-8"], &[])
}

#[test]
fn pdf_long_document_breaks_pages_with_numbered_footer_readable_by_pdftotext() {
    let mut d = Document::new("Disposition certificate — § 4.2 “items”");
    d.subtitle("Case 2026-019-000101 · Property Clerk");
    d.heading("Certificate");
    d.field(
        "Disposition",
        "Destroyed under the retention schedule (café evidence)",
    );
    d.field(
        "Signature",
        "a3f1c2 signed by the records officer after the second review",
    );
    d.monospace(&"0123456789abcdef".repeat(12));
    let rows: Vec<Vec<String>> = (0..120)
        .map(|i| {
            vec![
                format!("PC-{i:05}"),
                format!("Item {i}: one sealed envelope with a USB drive"),
                "destroyed".to_string(),
            ]
        })
        .collect();
    d.table(&["Voucher", "Description", "Disposition"], &rows);
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])
    });
    d.image("Photograph of the items", &img).expect("image");
    d.paragraph("End of certificate.");
    let pdf = d.render_at(at());

    let info = pdfinfo(&pdf);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo names no page count:\n{info}"));
    assert!(pages > 2, "the table runs over several pages: {pages}");
    assert!(
        info.contains("Title:           Disposition certificate — § 4.2 “items”"),
        "{info}"
    );
    assert!(info.contains("Producer:        Probity"), "{info}");
    assert!(
        info.contains("Page size:       595 x 842 pts (A4)"),
        "{info}"
    );

    let text = pdftotext(&pdf);
    for want in [
        "Disposition certificate — § 4.2 “items”",
        "Case 2026-019-000101 · Property Clerk",
        "Destroyed under the retention schedule (café evidence)",
        "PC-00000",
        "PC-00119",
        "Item 77: one sealed envelope with a USB drive",
        "Photograph of the items",
        "End of certificate.",
        "page 1 of",
        "page 2 of",
        &format!("— page {pages} of {pages}"),
    ] {
        assert!(
            text.contains(want),
            "pdftotext finds no {want:?} in:\n{text}"
        );
    }
    // The header row is repeated on every page the table continues on.
    assert!(text.matches("Voucher").count() >= pages - 1, "{text}");
}

#[test]
fn fr_report_pdf_is_read_back_with_its_notice_and_fields() {
    let body = serde_json::json!({
        "kind": "possible_match",
        "case_number": "2026-019-000101",
        "request": "FR-2026-0042",
        "requester": "Det. Rivera",
        "authorized_use": "robbery investigation",
        "probe": {"still": "still-1", "source": "camera 3", "sha256": "ab".repeat(32)},
        "edits": [],
        "algorithm": "dlib ResNet 29",
        "candidate": {"candidate": "C-7", "subject_id": "S-1", "source": "arrest", "arrest_id": "A-9", "photo_date": "2024-01-02"},
        "identified_by": "Examiner Chen",
        "background_check": {"result": "consistent"},
        "peer_reviews": [{"by": "Examiner Haddad", "concur": true, "notes": "same ear shape"}],
        "supervisor_decisions": [{"by": "Sgt. Okafor", "decision": {"decision": "approve"}}],
        "notice": probity_domain::fr_request::POSSIBLE_MATCH_NOTICE,
        "generated_at": "2026-12-04T10:00:00Z",
    });
    let probe = image::RgbImage::from_pixel(32, 32, image::Rgb([120, 100, 90]));
    let pdf = probity_server::fr::report::pdf(&body, Some(&probe), Some(&probe)).expect("report");
    assert!(pdf.starts_with(b"%PDF-1.4"));
    let text = pdftotext(&pdf);
    for want in [
        "POSSIBLE MATCH REPORT - facial recognition (lead only)",
        "2026-019-000101",
        "Examiner Chen",
        "concurs - same ear shape",
        "does not constitute probable cause",
        "Probe",
        "Candidate",
        "page 1 of",
    ] {
        assert!(
            text.contains(want),
            "pdftotext finds no {want:?} in:\n{text}"
        );
    }
}
