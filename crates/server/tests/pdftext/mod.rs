//! Text of a PDF as an independent reader sees it: poppler's `pdftotext` (Debian package
//! poppler-utils, installed by scripts/setup.d/base.apt). The PDFs compress their content
//! streams, so the bytes are never searched for text; a missing tool fails the test, naming the
//! package, and so does any complaint poppler prints about the file.

use std::process::Command;

/// Runs a poppler tool on the PDF: `args` before the file, `after` it.
pub fn poppler(tool: &str, pdf: &[u8], args: &[&str], after: &[&str]) -> String {
    assert!(
        pdf.starts_with(b"%PDF-"),
        "not a PDF: {:?}",
        String::from_utf8_lossy(&pdf[..pdf.len().min(200)])
    );
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

/// The PDF's text, in reading order, UTF-8.
pub fn pdftotext(pdf: &[u8]) -> String {
    poppler("pdftotext", pdf, &["-enc", "UTF-8"], &["-"])
}

/// Asserts that the PDF's extracted text says every one of `wants`; returns the text.
#[allow(dead_code)]
pub fn assert_says(what: &str, pdf: &[u8], wants: &[&str]) -> String {
    let text = pdftotext(pdf);
    for want in wants {
        assert!(
            text.contains(want),
            "{what}: pdftotext finds no {want:?} in:\n{text}"
        );
    }
    text
}
