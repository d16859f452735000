//! Model-quality charts: the ROC curve, a calibration (reliability) plot and two probability
//! distributions overlaid. Each is a pure function from numbers to an SVG document.

use plotters::prelude::*;

const FIRST: RGBColor = RGBColor(0x1f, 0x5f, 0x99);
const SECOND: RGBColor = RGBColor(0xd9, 0x7b, 0x00);
const NEUTRAL: RGBColor = RGBColor(0x44, 0x55, 0x66);
const GRID: RGBColor = RGBColor(0xd9, 0xe0, 0xe7);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A named, coloured line through points.
type Series<'a> = (&'a str, RGBColor, &'a [(f64, f64)]);

/// A unit-square chart with the diagonal for reference and `series` drawn as lines.
fn unit_square(
    x_desc: &str,
    y_desc: &str,
    series: &[Series<'_>],
    size: u32,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (size, size)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(6)
            .y_labels(6)
            .label_style(("sans-serif", 12).into_font().color(&NEUTRAL))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                NEUTRAL.mix(0.5).stroke_width(1),
            )))
            .map_err(err)?;
        for (label, color, points) in series {
            let color = *color;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    points.to_vec(),
                    color.stroke_width(2),
                )))
                .map_err(err)?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
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

/// The ROC curve (false positive rate, true positive rate) with its AUC in the legend.
pub fn roc(points: &[(f64, f64)], auc: f64, size: u32) -> Result<String, String> {
    let label = format!("ROC, AUC {auc:.3}");
    unit_square(
        "false positive rate",
        "true positive rate",
        &[(&label, FIRST, points)],
        size,
    )
}

/// Observed default rate against mean predicted probability, one point per bin.
pub fn calibration(bins: &[(f64, f64)], size: u32) -> Result<String, String> {
    unit_square(
        "mean predicted probability of default",
        "observed default rate",
        &[("by score bin", FIRST, bins)],
        size,
    )
}

/// Two distributions over the same bins, as shares of their applications, overlaid.
pub fn overlaid_histograms(
    first: (&str, &[usize]),
    second: (&str, &[usize]),
    x_desc: &str,
    width: u32,
    height: u32,
) -> Result<String, String> {
    let share = |counts: &[usize]| -> Vec<f64> {
        let total = counts.iter().sum::<usize>().max(1) as f64;
        counts.iter().map(|&c| c as f64 / total).collect()
    };
    let (a, b) = (share(first.1), share(second.1));
    overlaid_shares((first.0, &a), (second.0, &b), x_desc, width, height)
}

/// Two distributions given as shares per bin (each summing to 1), overlaid.
pub fn overlaid_shares(
    first: (&str, &[f64]),
    second: (&str, &[f64]),
    x_desc: &str,
    width: u32,
    height: u32,
) -> Result<String, String> {
    let (a, b) = (first.1, second.1);
    let top = a.iter().chain(b).copied().fold(0.0, f64::max).max(0.01) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..1f64, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .x_desc(x_desc)
            .y_desc("share of applications")
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .label_style(("sans-serif", 12).into_font().color(&NEUTRAL))
            .draw()
            .map_err(err)?;
        for ((label, color), shares) in [(first.0, FIRST), (second.0, SECOND)]
            .into_iter()
            .zip([a, b])
        {
            let n = shares.len().max(1) as f64;
            let mut path = vec![(0.0, 0.0)];
            for (k, s) in shares.iter().enumerate() {
                path.push((k as f64 / n, *s));
                path.push(((k + 1) as f64 / n, *s));
            }
            path.push((1.0, 0.0));
            chart
                .draw_series(shares.iter().enumerate().map(|(k, s)| {
                    Rectangle::new(
                        [(k as f64 / n, 0.0), ((k + 1) as f64 / n, *s)],
                        color.mix(0.18).filled(),
                    )
                }))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    path,
                    color.stroke_width(2),
                )))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
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
    fn roc_and_calibration_draw_their_series_and_legend() {
        let svg = roc(&[(0.0, 0.0), (0.2, 0.6), (1.0, 1.0)], 0.78, 320).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("AUC 0.780"));
        assert!(svg.contains("<polyline"));
        let svg = calibration(&[(0.1, 0.12), (0.5, 0.45)], 320).unwrap();
        assert!(svg.contains("by score bin"));
    }

    #[test]
    fn overlaid_histograms_draw_one_bar_per_bin_and_side() {
        let svg = overlaid_histograms(
            ("champion", &[1, 2, 3, 4]),
            ("challenger", &[4, 3, 2, 1]),
            "probability of default",
            600,
            300,
        )
        .unwrap();
        assert!(svg.contains("champion") && svg.contains("challenger"));
        // background + 8 bars + 2 legend swatch backgrounds at least
        assert!(svg.matches("<rect").count() >= 9);
    }
}
