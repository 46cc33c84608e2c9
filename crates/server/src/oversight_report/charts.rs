//! The charts of the oversight report, drawn with `plotters` to SVG strings that the PDF embeds
//! as vector graphics: requests by month (bars), the distribution of time in each workflow
//! state (stacked bars by duration) and the ROC curves of the evaluated algorithm versions.

use plotters::prelude::*;

use crate::error::ApiError;

const WIDTH: u32 = 640;
const BAR: RGBColor = RGBColor(31, 119, 180);
const BUCKET_COLOURS: [RGBColor; 4] = [
    RGBColor(44, 160, 44),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(214, 39, 40),
];

fn err(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("oversight chart: {e}"))
}

/// A bar per month: `values` are (`YYYY-MM`, count) in order.
pub fn bars_by_month(
    title: &str,
    unit: &str,
    values: &[(String, i64)],
) -> Result<String, ApiError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = values.len().max(1);
        let max = values.iter().map(|v| v.1).max().unwrap_or(0).max(1);
        let top = max + (max / 10).max(1);
        let labels: Vec<String> = values.iter().map(|v| v.0.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d((0..n).into_segmented(), 0i64..top)
            .map_err(err)?;
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(12))
            .x_label_formatter(&label)
            .y_labels(usize::try_from(top.min(10)).unwrap_or(10))
            .y_desc(unit)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, (_, v))| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0),
                        (SegmentValue::Exact(i + 1), *v),
                    ],
                    BAR.filled(),
                );
                bar.set_margin(0, 0, 4, 4);
                bar
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One horizontal bar per state, stacked by duration bucket: `rows` are (state, counts per
/// bucket in the order of `buckets`).
pub fn stacked_by_state(
    title: &str,
    buckets: &[&str],
    rows: &[(String, Vec<i64>)],
) -> Result<String, ApiError> {
    let mut svg = String::new();
    {
        let height = 120 + 28 * u32::try_from(rows.len()).unwrap_or(20).min(20);
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = rows.len().max(1);
        let max = rows
            .iter()
            .map(|(_, c)| c.iter().sum::<i64>())
            .max()
            .unwrap_or(0)
            .max(1);
        let top = max + (max / 10).max(1);
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(170)
            .build_cartesian_2d(0i64..top, (0..n).into_segmented())
            .map_err(err)?;
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&label)
            .x_labels(usize::try_from(top.min(10)).unwrap_or(10))
            .x_desc("completed stays")
            .draw()
            .map_err(err)?;
        for (b, name) in buckets.iter().enumerate() {
            let colour = BUCKET_COLOURS[b % BUCKET_COLOURS.len()];
            chart
                .draw_series(rows.iter().enumerate().map(|(i, (_, counts))| {
                    let start: i64 = counts.iter().take(b).sum();
                    let end = start + counts.get(b).copied().unwrap_or(0);
                    let mut bar = Rectangle::new(
                        [
                            (start, SegmentValue::Exact(i)),
                            (end, SegmentValue::Exact(i + 1)),
                        ],
                        colour.filled(),
                    );
                    bar.set_margin(4, 4, 0, 0);
                    bar
                }))
                .map_err(err)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// ROC curves on a logarithmic false-accept axis: `curves` are (algorithm version, points of
/// (FAR, TAR) with FAR > 0), each drawn as a line in its own colour with a legend.
pub fn roc_curves(title: &str, curves: &[(String, Vec<(f64, f64)>)]) -> Result<String, ApiError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let min_far = curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(f, _)| *f))
            .filter(|f| *f > 0.0)
            .fold(1e-4f64, f64::min);
        let min_tar = curves
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(_, t)| *t))
            .fold(1.0f64, f64::min);
        // Start the TAR axis at the nearest tenth below the lowest point.
        let bottom = ((min_tar * 10.0).floor() / 10.0).clamp(0.0, 0.9);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d((min_far..1.0f64).log_scale(), bottom..1.0f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("false accept rate")
            .y_desc("true accept rate")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|v| format!("{:.0} %", v * 100.0))
            .draw()
            .map_err(err)?;
        for (i, (name, points)) in curves.iter().enumerate() {
            let colour = BUCKET_COLOURS[(i + 1) % BUCKET_COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|(f, t)| (*f, t.max(bottom))),
                    colour.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ovr_03_charts_are_svg_with_their_labels() {
        let months = vec![("2026-01".to_string(), 3), ("2026-02".to_string(), 0)];
        let svg = bars_by_month("FR requests by month", "requests", &months).expect("chart");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("2026-01") && svg.contains("<rect"), "{svg}");
        let rows = vec![("submitted".to_string(), vec![2, 1, 0, 0])];
        let svg = stacked_by_state("Time in state", &["a", "b", "c", "d"], &rows).expect("chart");
        assert!(svg.contains("submitted") && svg.contains("<rect"), "{svg}");
    }
}
