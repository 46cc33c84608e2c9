//! The shared PDF writer read back by an independent reader: poppler's `pdftotext` and `pdfinfo`
//! (Debian package poppler-utils, installed by scripts/setup.d) must open what we write without a
//! complaint and find its text — the title, field values, table cells and the numbered footers of
//! a document that runs over several pages, and the FR report built on the same writer; and the
//! annual oversight report's parts: a table of contents whose page numbers are those the headings
//! are found on, plotters' charts embedded as SVG (their labels still text), and the page count
//! that pdfinfo and pdftoppm agree on.

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
    assert!(pdf.starts_with(b"%PDF-"));
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

/// A bar chart, a ROC curve and a histogram as plotters draws them to an SVG string.
fn charts() -> Vec<(String, String)> {
    use plotters::prelude::*;
    let mut out = Vec::new();

    let mut bars = String::new();
    {
        let root = SVGBackend::with_string(&mut bars, (640, 360)).into_drawing_area();
        root.fill(&WHITE).expect("fill");
        let mut chart = ChartBuilder::on(&root)
            .caption("Requests per command", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d((0u32..5u32).into_segmented(), 0u32..50u32)
            .expect("chart");
        chart.configure_mesh().draw().expect("mesh");
        chart
            .draw_series(Histogram::vertical(&chart).style(BLUE.filled()).data([
                (0u32, 12u32),
                (1, 30),
                (2, 7),
                (3, 44),
                (4, 19),
            ]))
            .expect("bars");
        root.present().expect("present");
    }
    out.push(("Figure 1: requests per command".to_string(), bars));

    let mut roc = String::new();
    {
        let root = SVGBackend::with_string(&mut roc, (480, 480)).into_drawing_area();
        root.fill(&WHITE).expect("fill");
        let mut chart = ChartBuilder::on(&root)
            .caption("ROC curve", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .expect("chart");
        chart
            .configure_mesh()
            .x_desc("false match rate")
            .y_desc("true match rate")
            .draw()
            .expect("mesh");
        chart
            .draw_series(LineSeries::new(
                (0..=20).map(|i| {
                    let x = f64::from(i) / 20.0;
                    (x, x.powf(0.2))
                }),
                &RED,
            ))
            .expect("line");
        root.present().expect("present");
    }
    out.push(("Figure 2: ROC of the face engine".to_string(), roc));

    let mut hist = String::new();
    {
        let root = SVGBackend::with_string(&mut hist, (640, 300)).into_drawing_area();
        root.fill(&WHITE).expect("fill");
        let mut chart = ChartBuilder::on(&root)
            .caption("Similarity scores", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d((0u32..10u32).into_segmented(), 0u32..30u32)
            .expect("chart");
        chart.configure_mesh().draw().expect("mesh");
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(GREEN.filled())
                    .data((0..200u32).map(|i| ((i * 7 + i / 3) % 10, 1u32))),
            )
            .expect("histogram");
        root.present().expect("present");
    }
    out.push((
        "Figure 3: distribution of similarity scores".to_string(),
        hist,
    ));
    out
}

#[test]
fn ovr_03_pdf_contents_lists_headings_with_the_pages_they_are_on() {
    let mut d = Document::new("Annual oversight report 2026");
    d.subtitle("Facial recognition and thermal imaging — calendar year 2026");
    d.contents();
    let headings = [
        "1. Requests",
        "2. Accuracy of the face engine",
        "3. Similarity scores",
        "4. Requests by command",
        "5. Annex: method",
    ];
    let figures = charts();
    for (i, (caption, svg)) in figures.iter().enumerate() {
        d.heading(headings[i]);
        d.paragraph(&"Every request was reviewed by a supervisor before any search. ".repeat(4));
        d.svg(caption, svg).expect("plotters' SVG is accepted");
    }
    d.heading(headings[3]);
    let rows: Vec<Vec<String>> = (0..90)
        .map(|i| {
            vec![
                format!("Command {i:03}"),
                format!("{}", i * 3 % 17),
                format!("{}", i % 5),
            ]
        })
        .collect();
    d.table(&["Command", "Requests", "Possible matches"], &rows);
    d.page_break();
    d.heading(headings[4]);
    d.paragraph("Counts come from the audit log and the FR request register.");
    let pdf = d.render_at(at());

    // pdfinfo and pdftoppm agree on the page count.
    let info = pdfinfo(&pdf);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo names no page count:\n{info}"));
    assert!(pages >= 5, "figures and a long table: {pages} pages");
    assert!(
        info.contains("Title:           Annual oversight report 2026"),
        "{info}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("page");
    let prefix = prefix.to_str().expect("utf-8 path");
    poppler("pdftoppm", &pdf, &["-png", "-r", "20"], &[prefix]);
    let pngs = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    assert_eq!(pngs, pages, "pdftoppm renders every page");

    // Each heading's entry in the contents names the page the heading is found on.
    let text = poppler("pdftotext", &pdf, &["-layout", "-enc", "UTF-8"], &["-"]);
    let page_texts: Vec<&str> = text.split('\u{c}').collect();
    assert!(page_texts[0].contains("Contents"), "{text}");
    for h in headings {
        let on = page_texts
            .iter()
            .position(|p| p.lines().any(|l| l.trim() == h))
            .unwrap_or_else(|| panic!("heading {h:?} not found alone on a line:\n{text}"));
        let entry = page_texts[0]
            .lines()
            .find(|l| l.trim().starts_with(h) && l.trim() != h)
            .unwrap_or_else(|| panic!("no contents entry for {h:?}:\n{}", page_texts[0]));
        let number = entry.split_whitespace().last().unwrap_or_default();
        assert_eq!(number, (on + 1).to_string(), "entry {entry:?}");
    }
    let annex = page_texts
        .iter()
        .position(|p| p.lines().any(|l| l.trim() == headings[4]))
        .expect("annex");
    assert!(
        !page_texts[annex].contains("Command 089"),
        "page_break puts the annex on a page of its own"
    );

    // The charts are vector graphics whose labels stay text; the captions sit under them.
    for want in [
        "Requests per command",
        "ROC curve",
        "false match rate",
        "Similarity scores",
        "Figure 1: requests per command",
        "Figure 2: ROC of the face engine",
        "Figure 3: distribution of similarity scores",
        "Command 000",
        "Command 089",
        &format!("page {pages} of {pages}"),
    ] {
        assert!(
            text.contains(want),
            "pdftotext finds no {want:?} in:\n{text}"
        );
    }
    // The table's header is repeated on every page it continues on.
    let table_pages = page_texts
        .iter()
        .filter(|p| p.contains("Command 0"))
        .count();
    let headers = page_texts
        .iter()
        .filter(|p| p.contains("Possible matches"))
        .count();
    assert!(table_pages > 1 && headers == table_pages, "{text}");
}

#[test]
fn ovr_03_pdf_bad_svg_is_refused_with_the_reason() {
    let mut d = Document::new("Figures");
    let err = d
        .svg(
            "Figure 9",
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><g></svg>",
        )
        .expect_err("a broken SVG is refused");
    assert!(err.detail.contains("Figure 9"), "{}", err.detail);
    assert!(err.detail.contains("not a valid SVG"), "{}", err.detail);
    assert!(d.svg("Figure 10", "plain text").is_err());
}
