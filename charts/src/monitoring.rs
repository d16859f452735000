//! Monitoring charts: horizontal bars with reference lines (PSI per feature, approval rate
//! per group), metrics over periods (realized AUC per model version) and estimated against
//! realized performance over chunks of decisions.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

const BAR: RGBColor = RGBColor(0x1f, 0x5f, 0x99);
const ALERT: RGBColor = RGBColor(0xb3, 0x26, 0x1e);
const NEUTRAL: RGBColor = RGBColor(0x44, 0x55, 0x66);
const GRID: RGBColor = RGBColor(0xd9, 0xe0, 0xe7);
const PALETTE: [RGBColor; 4] = [
    RGBColor(0x1f, 0x5f, 0x99),
    RGBColor(0xd9, 0x7b, 0x00),
    RGBColor(0x2e, 0x7d, 0x32),
    RGBColor(0x6a, 0x1b, 0x9a),
];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One bar: label, value, drawn in the alert colour when `flagged`.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub flagged: bool,
}

/// Horizontal bars, one per item, with dashed vertical reference lines (value, label).
pub fn bars(
    items: &[Bar],
    lines: &[(f64, &str)],
    x_desc: &str,
    percent: bool,
    width: u32,
) -> Result<String, String> {
    let height = 60 + 22 * items.len().max(1) as u32;
    let top = items
        .iter()
        .map(|b| b.value)
        .chain(lines.iter().map(|l| l.0))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(0.01)
        * 1.1;
    let n = items.len().max(1);
    let label_width = items
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 32) as u32
        * 7
        + 10;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..top, 0f64..n as f64)
            .map_err(err)?;
        let labels: Vec<String> = items.iter().map(|b| b.label.clone()).collect();
        let fmt_x = move |x: &f64| {
            if percent {
                format!("{:.0}%", x * 100.0)
            } else {
                format!("{x:.2}")
            }
        };
        let fmt_y = move |y: &f64| {
            // Bars are drawn top to bottom: item k occupies [n-k-1, n-k).
            let k = n as f64 - y - 0.5;
            if (k - k.round()).abs() < 1e-9 && k >= 0.0 {
                labels.get(k.round() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .disable_y_mesh()
            .x_desc(x_desc)
            .x_label_formatter(&fmt_x)
            .y_labels(n * 2 + 1)
            .y_label_formatter(&fmt_y)
            .label_style(("sans-serif", 12).into_font().color(&NEUTRAL))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(items.iter().enumerate().map(|(k, b)| {
                let y = (n - k - 1) as f64;
                let color = if b.flagged { ALERT } else { BAR };
                Rectangle::new(
                    [(0.0, y + 0.18), (b.value.max(0.0), y + 0.82)],
                    color.mix(0.85).filled(),
                )
            }))
            .map_err(err)?;
        for (value, label) in lines {
            let v = *value;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(v, 0.0), (v, n as f64)],
                    ALERT.mix(0.6).stroke_width(1),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    (*label).to_owned(),
                    (v, n as f64),
                    ("sans-serif", 11).into_font().color(&ALERT),
                )))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A chart with one slot per label along x (slot k at x = k, labelled with `labels[k]`; at
/// most `max_labels` labels shown), y over `y_range`, and its mesh drawn.
fn slots_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    labels: &[String],
    y_range: (f64, f64),
    max_labels: usize,
    (x_desc, y_desc): (Option<&str>, Option<&str>),
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let n = labels.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y_range.0..y_range.1)
        .map_err(err)?;
    let labels = labels.to_vec();
    let fmt_x = move |x: &f64| {
        let k = x.round();
        if (x - k).abs() < 1e-9 && k >= 0.0 {
            labels.get(k as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_labels(n.min(max_labels))
        .x_label_formatter(&fmt_x)
        .label_style(("sans-serif", 12).into_font().color(&NEUTRAL));
    if let Some(d) = x_desc {
        mesh.x_desc(d);
    }
    if let Some(d) = y_desc {
        mesh.y_desc(d);
    }
    mesh.draw().map_err(err)?;
    Ok(chart)
}

/// Lines over periods: each series gives a value (or none) per period label; `lines` are
/// dashed reference levels.
pub fn over_periods(
    periods: &[String],
    series: &[(String, Vec<Option<f64>>)],
    y_range: (f64, f64),
    y_desc: &str,
    width: u32,
    height: u32,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = slots_chart(&root, periods, y_range, 12, (None, Some(y_desc)))?;
        for (i, (name, values)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (k as f64, v)))
                .collect();
            chart
                .draw_series(std::iter::once(PathElement::new(
                    points.clone(),
                    color.stroke_width(2),
                )))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GRID)
            .label_font(("sans-serif", 12).into_font().color(&NEUTRAL))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One figure of one version over chunks: the estimate with its band, the realized value
/// where outcomes exist, the alert thresholds and which chunks alerted.
pub struct EstimatedSeries {
    pub name: String,
    pub estimate: Vec<Option<f64>>,
    pub band: Vec<Option<(f64, f64)>>,
    pub realized: Vec<Option<f64>>,
    pub thresholds: (Option<f64>, Option<f64>),
    pub alerts: Vec<bool>,
}

/// Estimated against realized over chunks (performance before outcomes): per series a shaded
/// sampling-error band, the estimate as a line (alerting chunks in the alert colour), the
/// realized values as hollow squares and the thresholds as dashed lines; y from 0 to 1.
pub fn estimated(
    chunks: &[String],
    series: &[EstimatedSeries],
    width: u32,
    height: u32,
) -> Result<String, String> {
    let n = chunks.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = slots_chart(
            &root,
            chunks,
            (0.0, 1.0),
            10,
            (Some("chunks, oldest to newest (last decision #)"), None),
        )?;
        for (i, s) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let band: Vec<(usize, (f64, f64))> = s
                .band
                .iter()
                .enumerate()
                .filter_map(|(k, b)| b.map(|b| (k, b)))
                .collect();
            if band.len() >= 2 {
                let mut outline: Vec<(f64, f64)> =
                    band.iter().map(|&(k, (_, hi))| (k as f64, hi)).collect();
                outline.extend(band.iter().rev().map(|&(k, (lo, _))| (k as f64, lo)));
                chart
                    .draw_series(std::iter::once(Polygon::new(outline, color.mix(0.15))))
                    .map_err(err)?;
            }
            for t in [s.thresholds.0, s.thresholds.1].into_iter().flatten() {
                chart
                    .draw_series(std::iter::once(DashedPathElement::new(
                        vec![(-0.5, t), (n as f64 - 0.5, t)],
                        6,
                        4,
                        color.mix(0.7).stroke_width(1),
                    )))
                    .map_err(err)?;
            }
            let points: Vec<(usize, f64)> = s
                .estimate
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            chart
                .draw_series(std::iter::once(PathElement::new(
                    points
                        .iter()
                        .map(|&(k, v)| (k as f64, v))
                        .collect::<Vec<_>>(),
                    color.stroke_width(2),
                )))
                .map_err(err)?
                .label(format!("{} (estimated)", s.name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(points.iter().map(|&(k, v)| {
                    let alert = s.alerts.get(k).copied().unwrap_or(false);
                    let c = if alert { ALERT } else { color };
                    Circle::new((k as f64, v), if alert { 5 } else { 3 }, c.filled())
                }))
                .map_err(err)?;
            let realized: Vec<(f64, f64)> = s
                .realized
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (k as f64, v)))
                .collect();
            if !realized.is_empty() {
                chart
                    .draw_series(realized.into_iter().map(|(x, y)| {
                        Rectangle::new([(x - 0.08, y - 0.012), (x + 0.08, y + 0.012)], color)
                    }))
                    .map_err(err)?
                    .label(format!("{} (realized)", s.name))
                    .legend(move |(x, y)| Rectangle::new([(x + 4, y - 4), (x + 12, y + 4)], color));
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GRID)
            .label_font(("sans-serif", 12).into_font().color(&NEUTRAL))
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
    fn bars_draw_every_item_and_the_reference_lines() {
        let items = vec![
            Bar {
                label: "monthly_income".into(),
                value: 0.31,
                flagged: true,
            },
            Bar {
                label: "loan_amount".into(),
                value: 0.02,
                flagged: false,
            },
        ];
        let svg = bars(&items, &[(0.1, "0.1"), (0.25, "0.25")], "PSI", false, 600).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("monthly_income") && svg.contains("loan_amount"));
        assert!(svg.contains("0.25"));
        assert!(svg.matches("<rect").count() >= 2);
    }

    #[test]
    fn estimates_draw_bands_thresholds_realized_values_and_alerts() {
        let series = vec![
            EstimatedSeries {
                name: "ROC AUC".into(),
                estimate: vec![Some(0.78), Some(0.77), Some(0.64)],
                band: vec![Some((0.74, 0.82)), Some((0.73, 0.81)), Some((0.60, 0.68))],
                realized: vec![Some(0.8), None, None],
                thresholds: (Some(0.7), Some(0.86)),
                alerts: vec![false, false, true],
            },
            EstimatedSeries {
                name: "default rate".into(),
                estimate: vec![Some(0.12), Some(0.13), Some(0.2)],
                band: vec![None; 3],
                realized: vec![None; 3],
                thresholds: (None, None),
                alerts: vec![false; 3],
            },
        ];
        let chunks = ["12-01".to_owned(), "12-02".to_owned(), "12-03".to_owned()];
        let svg = estimated(&chunks, &series, 640, 300).unwrap();
        assert!(svg.contains("ROC AUC (estimated)") && svg.contains("ROC AUC (realized)"));
        assert!(svg.contains("default rate (estimated)"));
        assert!(!svg.contains("default rate (realized)"));
        assert!(svg.contains("<polygon"), "the band");
        // The alerting chunk is drawn in the alert colour.
        assert!(svg.contains("#B3261E"), "{svg}");
        assert!(svg.contains("12-03"));
    }

    #[test]
    fn periods_draw_one_line_per_series() {
        let svg = over_periods(
            &["2026-11-01".into(), "2026-11-02".into()],
            &[
                ("credit v1".into(), vec![Some(0.71), Some(0.69)]),
                ("credit v2".into(), vec![None, Some(0.74)]),
            ],
            (0.5, 1.0),
            "AUC",
            600,
            300,
        )
        .unwrap();
        assert!(svg.contains("credit v1") && svg.contains("credit v2"));
        assert!(svg.contains("2026-11-02"));
    }
}
