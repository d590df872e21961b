//! Charts drawn on the server as SVG with `plotters` (its SVG backend writes text as
//! `<text>` elements, so no font files are needed). Each chart is an inline `<svg>`
//! with `role="img"`, a `<title>` and an `aria-label` carrying the same text summary
//! the page shows beside it; the numbers are also in a table beside the chart (H75).

use plotters::prelude::*;

/// One line of a chart: a value per point on the x axis (none: no point drawn).
pub struct Line {
    pub label: String,
    pub values: Vec<Option<f64>>,
    /// Drawn dashed (a limit such as a place's capacity).
    pub dashed: bool,
}

/// A line chart over labelled points (months, days).
#[derive(Default)]
pub struct LineChart<'a> {
    /// The chart's accessible name: a sentence with its numbers.
    pub summary: &'a str,
    pub x_labels: &'a [String],
    pub y_label: &'a str,
    pub lines: Vec<Line>,
    /// The y axis's top; the largest value (at least 1) with some room when none.
    pub y_max: Option<f64>,
    /// Shaded spans of points, first to last included (a stay at an institution).
    pub bands: Vec<(usize, usize)>,
    /// What the shaded spans are, for the legend.
    pub bands_label: &'a str,
    /// Single events at a point: (point, drawn as a warning); e.g. drug tests,
    /// positive ones as filled red squares, negative as open green circles.
    pub marks: Vec<(usize, bool)>,
    /// The marks' legend: (warning, other).
    pub marks_labels: (&'a str, &'a str),
}

pub const WIDTH: u32 = 720;
pub const HEIGHT: u32 = 300;

/// Colours with enough contrast on white, told apart also by the legend's order.
const COLOURS: [RGBColor; 8] = [
    RGBColor(11, 92, 173),
    RGBColor(196, 69, 0),
    RGBColor(0, 122, 61),
    RGBColor(128, 50, 160),
    RGBColor(160, 20, 60),
    RGBColor(70, 70, 70),
    RGBColor(0, 110, 130),
    RGBColor(130, 100, 0),
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart as an `<svg>` element, ready to put inline in a page.
pub fn line_chart(chart: &LineChart<'_>) -> String {
    let mut svg = String::new();
    if let Err(error) = draw(chart, &mut svg) {
        tracing::warn!(%error, "chart not drawn");
        svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} 40\"><text x=\"10\" y=\"25\">Diagrammet kunne ikke tegnes; se tabellen.</text></svg>"
        );
    }
    let summary = escape(chart.summary);
    let open = format!("<svg role=\"img\" class=\"chart\" aria-label=\"{summary}\" ");
    let svg = svg.replacen("<svg ", &open, 1);
    match svg.find('>') {
        Some(end) => format!("{}<title>{summary}</title>{}", &svg[..=end], &svg[end + 1..]),
        None => svg,
    }
}

fn draw(chart: &LineChart<'_>, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let n = chart.x_labels.len().max(1);
    let top = chart.y_max.unwrap_or_else(|| {
        let max = chart
            .lines
            .iter()
            .flat_map(|l| l.values.iter().flatten())
            .fold(0.0_f64, |a, b| a.max(*b));
        (max * 1.15).max(1.0).ceil()
    });
    let x = |i: usize| SegmentValue::CenterOf(i32::try_from(i).unwrap_or(i32::MAX));
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut plot = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d((0..n as i32).into_segmented(), 0.0_f64..top)?;
    let labels = chart.x_labels;
    // Each point sits in the middle of its segment, labelled there.
    let format_x = |x: &SegmentValue<i32>| match x {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| labels.get(i).cloned())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let format_y = |y: &f64| {
        if top <= 10.0 && y.fract() != 0.0 {
            format!("{y:.1}")
        } else {
            format!("{y:.0}")
        }
    };
    plot.configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(12))
        .x_label_formatter(&format_x)
        .y_label_formatter(&format_y)
        .y_desc(chart.y_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;
    if !chart.bands.is_empty() {
        let shade = RGBColor(200, 200, 215).mix(0.6).filled();
        plot.draw_series(chart.bands.iter().map(|(a, b)| {
            Rectangle::new(
                [
                    (SegmentValue::Exact(i32::try_from(*a).unwrap_or(0)), top),
                    (SegmentValue::Exact(i32::try_from(*b + 1).unwrap_or(0)), 0.0),
                ],
                shade,
            )
        }))?
        .label(chart.bands_label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], shade));
    }
    for (i, line) in chart.lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<(SegmentValue<i32>, f64)> = line
            .values
            .iter()
            .enumerate()
            .filter_map(|(x, v)| Some((SegmentValue::CenterOf(i32::try_from(x).ok()?), (*v)?)))
            .collect();
        let style = colour.stroke_width(2);
        let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 18, y)], style);
        if line.dashed {
            plot.draw_series(DashedLineSeries::new(points, 6, 4, style))?
                .label(line.label.clone())
                .legend(legend);
        } else {
            plot.draw_series(LineSeries::new(points.clone(), style))?
                .label(line.label.clone())
                .legend(legend);
            plot.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    let (warn, calm) = (RGBColor(190, 0, 30), RGBColor(0, 122, 61));
    let base = top * 0.04;
    for (warning, label) in [(true, chart.marks_labels.0), (false, chart.marks_labels.1)] {
        let points: Vec<usize> = chart
            .marks
            .iter()
            .filter(|(_, w)| *w == warning)
            .map(|(i, _)| *i)
            .collect();
        if points.is_empty() {
            continue;
        }
        if warning {
            plot.draw_series(
                points
                    .iter()
                    .map(|i| TriangleMarker::new((x(*i), base), 7, warn.filled())),
            )?
            .label(label)
            .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 7, warn.filled()));
        } else {
            plot.draw_series(
                points
                    .iter()
                    .map(|i| Circle::new((x(*i), base), 5, calm.stroke_width(2))),
            )?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, calm.stroke_width(2)));
        }
    }
    plot.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// H75: the chart carries its summary for screen readers, and its labels as text.
    #[test]
    fn a_chart_is_an_svg_image_with_its_summary_and_labels_as_text() {
        let months = vec!["2026-01".to_string(), "2026-02".to_string()];
        let svg = line_chart(&LineChart {
            summary: "Enheten: 3 i behandling i 2026-01, 4 i 2026-02 & mer",
            x_labels: &months,
            y_label: "Pasienter",
            lines: vec![Line {
                label: "Enheten".into(),
                values: vec![Some(3.0), Some(4.0)],
                dashed: false,
            }],
            y_max: None,
            bands: vec![(0, 0)],
            bands_label: "Opphold",
            marks: vec![(1, true)],
            marks_labels: ("Positiv", "Negativ"),
        });
        assert!(
            svg.contains("\nOpphold\n</text>") && svg.contains("\nPositiv\n</text>"),
            "{svg}"
        );
        assert!(svg.starts_with("<svg role=\"img\" class=\"chart\" aria-label=\"Enheten: 3 i behandling i 2026-01, 4 i 2026-02 &amp; mer\""), "{svg}");
        assert!(svg.contains("<title>Enheten: 3 i behandling"), "{svg}");
        assert!(svg.contains("\n2026-02\n</text>"), "{svg}");
        assert!(svg.contains("\nPasienter\n</text>"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
