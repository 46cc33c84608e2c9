//! ROC curve as a standalone SVG (FAR on a log axis, TAR linear).

use std::fmt::Write;

/// Renders one curve per algorithm: `(label, points (FAR, TAR))`.
pub fn roc_svg(curves: &[(String, Vec<(f64, f64)>)]) -> String {
    let (w, h, ml, mb, mt, mr) = (640.0, 440.0, 60.0, 50.0, 30.0, 20.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let (lmin, lmax) = (-4.0f64, 0.0f64);
    let x = |far: f64| ml + (far.max(1e-4).log10() - lmin) / (lmax - lmin) * pw;
    let y = |tar: f64| mt + (1.0 - tar) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(
        s,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14">ROC, LFW pairs_dev (5 folds)</text>"#,
        w / 2.0
    );
    for e in -4..=0 {
        let xv = x(10f64.powi(e));
        let _ = write!(
            s,
            r##"<line x1="{xv}" y1="{mt}" x2="{xv}" y2="{}" stroke="#ddd"/><text x="{xv}" y="{}" text-anchor="middle">1e{e}</text>"##,
            mt + ph,
            mt + ph + 16.0
        );
    }
    for t in 0..=10 {
        let tv = t as f64 / 10.0;
        let yv = y(tv);
        let _ = write!(
            s,
            r##"<line x1="{ml}" y1="{yv}" x2="{}" y2="{yv}" stroke="#eee"/><text x="{}" y="{}" text-anchor="end">{tv:.1}</text>"##,
            ml + pw,
            ml - 6.0,
            yv + 4.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">false accept rate (log)</text>"#,
        ml + pw / 2.0,
        h - 10.0
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">true accept rate</text>"#,
        mt + ph / 2.0,
        mt + ph / 2.0
    );
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    for (i, (label, pts)) in curves.iter().enumerate() {
        let c = colours[i % colours.len()];
        let mut d = String::new();
        for (j, &(far, tar)) in pts.iter().filter(|p| p.0 > 0.0).enumerate() {
            let _ = write!(
                d,
                "{}{:.2},{:.2} ",
                if j == 0 { "M" } else { "L" },
                x(far),
                y(tar)
            );
        }
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="2"/>"#
        );
        let ly = mt + ph - 20.0 - 18.0 * i as f64;
        let _ = write!(
            s,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            ml + pw - 200.0,
            ml + pw - 180.0,
            ml + pw - 174.0,
            ly + 4.0,
            xml_escape(label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
