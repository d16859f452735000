//! The SHAP waterfall of one decision: from the base value, each factor's contribution as a
//! step (largest first; the top ones and one "other factors" bar), to the final log-odds.
//! Red steps raise the risk, green steps lower it.

use plotters::prelude::*;

/// Risk-increasing (red) and risk-decreasing (green), readable for red–green colour blindness
/// together with the +/− labels.
const RISK_UP: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const RISK_DOWN: RGBColor = RGBColor(0x1b, 0x7f, 0x4b);
const NEUTRAL: RGBColor = RGBColor(0x44, 0x55, 0x66);
const GRID: RGBColor = RGBColor(0xd9, 0xe0, 0xe7);

/// One factor of the explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterfallItem {
    /// What the factor is, e.g. "Late payments in 12 months".
    pub label: String,
    /// The applicant's value, e.g. "4" or "not provided".
    pub value: String,
    /// Contribution in log-odds of default.
    pub contribution: f64,
}

/// Draws the waterfall. `items` are grouped per input already; the `top` largest by absolute
/// contribution get a bar each, the rest one "other factors" bar. Returns the SVG document.
pub fn waterfall(
    base_value: f64,
    items: &[WaterfallItem],
    top: usize,
    width: u32,
) -> Result<String, String> {
    let mut sorted: Vec<&WaterfallItem> = items.iter().collect();
    sorted.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    let (shown, rest) = sorted.split_at(top.min(sorted.len()));
    let mut rows: Vec<(String, f64)> = shown
        .iter()
        .map(|i| (format!("{} = {}", i.label, i.value), i.contribution))
        .collect();
    if !rest.is_empty() {
        rows.push((
            format!("{} other factors", rest.len()),
            rest.iter().map(|i| i.contribution).sum(),
        ));
    }
    let final_value = base_value + rows.iter().map(|r| r.1).sum::<f64>();

    // Running positions: each step starts where the previous one ended.
    let mut steps = Vec::with_capacity(rows.len());
    let mut at = base_value;
    for (label, c) in &rows {
        steps.push((label.as_str(), at, at + c, *c));
        at += c;
    }
    let lo = steps
        .iter()
        .map(|s| s.1.min(s.2))
        .fold(base_value.min(final_value), f64::min);
    let hi = steps
        .iter()
        .map(|s| s.1.max(s.2))
        .fold(base_value.max(final_value), f64::max);
    let pad = ((hi - lo) * 0.08).max(0.05);
    let (x0, x1) = (lo - pad, hi + pad);

    let row_height = 30u32;
    let n_rows = steps.len() as u32 + 2;
    let height = 70 + n_rows * row_height;
    let label_width = (width as f64 * 0.42) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(label_width)
            .build_cartesian_2d(x0..x1, 0f64..f64::from(n_rows))
            .map_err(|e| e.to_string())?;
        let names: Vec<String> = std::iter::once("Base value (average applicant)".to_owned())
            .chain(steps.iter().map(|s| s.0.to_owned()))
            .chain(std::iter::once("This application".to_owned()))
            .collect();
        let row_label = move |y: &f64| -> String {
            let k = (f64::from(n_rows) - y - 0.5).round();
            if (f64::from(n_rows) - y - 0.5 - k).abs() < 0.01 && k >= 0.0 {
                names.get(k as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_labels(8)
            .x_desc("log-odds of default (right = riskier)")
            .y_labels(n_rows as usize * 2 + 1)
            .y_label_formatter(&row_label)
            .label_style(("sans-serif", 13).into_font().color(&NEUTRAL))
            .draw()
            .map_err(|e| e.to_string())?;
        // Row k (0 = base) is centred at y = n_rows − k − 0.5.
        let y = |k: usize| f64::from(n_rows) - k as f64 - 0.5;
        let bar = |k: usize, a: f64, b: f64, color: RGBColor| {
            Rectangle::new(
                [(a.min(b), y(k) - 0.32), (a.max(b), y(k) + 0.32)],
                color.filled(),
            )
        };
        chart
            .draw_series(std::iter::once(bar(
                0,
                base_value - pad * 0.05,
                base_value + pad * 0.05,
                NEUTRAL,
            )))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(steps.iter().enumerate().map(|(i, s)| {
                bar(
                    i + 1,
                    s.1,
                    s.2,
                    if s.3 >= 0.0 { RISK_UP } else { RISK_DOWN },
                )
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(std::iter::once(bar(
                steps.len() + 1,
                final_value - pad * 0.05,
                final_value + pad * 0.05,
                NEUTRAL,
            )))
            .map_err(|e| e.to_string())?;
        // Connectors between consecutive steps.
        chart
            .draw_series(steps.iter().enumerate().map(|(i, s)| {
                PathElement::new(
                    vec![(s.1, y(i) - 0.32), (s.1, y(i + 1) + 0.32)],
                    NEUTRAL.stroke_width(1),
                )
            }))
            .map_err(|e| e.to_string())?;
        let font = ("sans-serif", 12).into_font();
        let value_label = |k: usize, x: f64, text: String| {
            Text::new(text, (x, y(k) + 0.12), font.clone().color(&NEUTRAL))
        };
        chart
            .draw_series(
                std::iter::once(value_label(
                    0,
                    base_value + pad * 0.1,
                    format!("{base_value:+.3}"),
                ))
                .chain(steps.iter().enumerate().map(|(i, s)| {
                    value_label(i + 1, s.1.max(s.2) + pad * 0.1, format!("{:+.3}", s.3))
                }))
                .chain(std::iter::once(value_label(
                    steps.len() + 1,
                    final_value + pad * 0.1,
                    format!("{final_value:+.3}"),
                ))),
            )
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<WaterfallItem> {
        (0..n)
            .map(|i| WaterfallItem {
                label: format!("Factor {i}"),
                value: format!("{i}"),
                contribution: if i % 2 == 0 {
                    0.5 / (i as f64 + 1.0)
                } else {
                    -0.4 / (i as f64 + 1.0)
                },
            })
            .collect()
    }

    #[test]
    fn top_factors_get_a_bar_each_and_the_rest_one() {
        let svg = waterfall(-2.0, &items(14), 10, 900).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        // Base + 10 factors + "other" + final = 13 bars.
        assert_eq!(
            svg.matches("<rect").count() - 1,
            13,
            "one rect is the background"
        );
        assert!(svg.contains("4 other factors"));
        assert!(svg.contains("Factor 0 = 0"));
        assert!(
            svg.contains("#C62828") || svg.contains("#c62828"),
            "red for risk up"
        );
        assert!(
            svg.contains("#1B7F4B") || svg.contains("#1b7f4b"),
            "green for risk down"
        );
        assert!(
            !svg.contains("style="),
            "no inline styles (the CSP forbids them)"
        );
    }

    #[test]
    fn the_final_label_is_base_plus_contributions() {
        let it = items(3);
        let total = -1.0 + it.iter().map(|i| i.contribution).sum::<f64>();
        let svg = waterfall(-1.0, &it, 10, 800).unwrap();
        assert!(svg.contains(&format!("{total:+.3}")), "{total}");
        assert!(!svg.contains("other factors"));
    }
}
