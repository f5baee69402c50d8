//! The report's figures as SVG text (plotters' SVG backend, no fonts needed: text is written
//! as `<text>` and the viewer's fonts draw it). Every figure reads in black and white:
//! shapes, dash patterns and greys with labels carry the meaning, never colour alone. Each
//! SVG carries a `<title>` and `role="img"` with an `aria-label` text alternative.
//!
//! A figure with nothing to draw (no data, everything suppressed) is a [`Plot::Message`]
//! saying why, never an empty plot. Widths are 700 px (7.3 in at 96 px an inch); label
//! areas are sized by hand from ~0.7 em a character.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ReportError;

/// Figure width in pixels.
pub const WIDTH: u32 = 700;
const FONT: &str = "sans-serif";

/// A figure, or the reason there is none.
#[derive(Clone, Debug, PartialEq)]
pub enum Plot {
    Svg(String),
    Message(String),
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;
type RowChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The mesh of a line panel ([`curves`], [`bands`]): light grey grid, axis descriptions, y
/// labels by `y_label` (plotters' own without).
fn line_mesh(
    chart: &mut RowChart<'_, '_>,
    x_desc: &str,
    y_desc: &str,
    y_label: Option<&dyn Fn(&f64) -> String>,
) -> DrawResult {
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(text_style(12))
        .axis_desc_style(text_style(13));
    if let Some(f) = y_label {
        mesh.y_label_formatter(f);
    }
    mesh.draw()?;
    Ok(())
}

/// The mesh of a chart with one row per label (flow, quantiles, caterpillar): vertical grid
/// lines only, no y tick labels (the rows are labelled by the caller).
fn row_mesh(chart: &mut RowChart<'_, '_>, x_desc: &str, whole_numbers: bool) -> DrawResult {
    let whole = |v: &f64| format!("{v:.0}");
    let mut mesh = chart.configure_mesh();
    mesh.disable_y_mesh()
        .y_labels(0)
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .x_desc(x_desc)
        .label_style(text_style(12))
        .axis_desc_style(text_style(13));
    if whole_numbers {
        mesh.x_label_formatter(&whole);
    }
    mesh.draw()?;
    Ok(())
}

/// Renders `draw` into an SVG string of `size` and adds the text alternative.
fn svg(alt: &str, size: (u32, u32), draw: impl FnOnce(&Area) -> DrawResult) -> Result<Plot, ReportError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| ReportError::Plot(e.to_string()))?;
        draw(&root).map_err(|e| ReportError::Plot(e.to_string()))?;
        root.present().map_err(|e| ReportError::Plot(e.to_string()))?;
    }
    Ok(Plot::Svg(accessible(&buf, alt)))
}

/// Adds `role="img"`, `aria-label` and a `<title>` to the opening `<svg>` tag.
pub fn accessible(svg: &str, alt: &str) -> String {
    let alt = super::html::esc(alt);
    match svg.find("<svg").and_then(|s| svg[s..].find('>').map(|e| s + e)) {
        Some(end) => {
            let (head, tail) = svg.split_at(end);
            let head = head.trim_end_matches('/');
            format!("{head} role=\"img\" aria-label=\"{alt}\">\n<title>{alt}</title>{}", &tail[1..])
        }
        None => svg.to_string(),
    }
}

fn text_style(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&BLACK)
}

fn anchored(size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    text_style(size).pos(Pos::new(h, v))
}

/// Pixel width of `text` at font `size` (0.7 em a character, as plotters estimates).
fn text_width(text: &str, size: u32) -> i32 {
    (text.chars().count() as f64 * f64::from(size) * 0.62).ceil() as i32
}

/// `[lo, hi]` widened by `pad` of its span on each side; a zero span becomes ±0.5 (or
/// ±10% of the value); non-finite input gives `None`.
pub fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return None;
    }
    let span = hi - lo;
    if span <= 0.0 {
        let d = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        return Some((lo - d, hi + d));
    }
    Some((lo - pad * span, hi + pad * span))
}

/// Grey fills for up to six categories, darkest first (stacked bars).
const GREYS: [RGBColor; 6] = [
    RGBColor(255, 255, 255),
    RGBColor(60, 60, 60),
    RGBColor(110, 110, 110),
    RGBColor(160, 160, 160),
    RGBColor(205, 205, 205),
    RGBColor(235, 235, 235),
];

/// One provider's bar of the flow plot: counted, then students not counted by each rule.
pub struct FlowBar {
    pub provider: String,
    /// (label, students), counted first.
    pub segments: Vec<(String, u64)>,
}

/// Horizontal stacked bars: rostered = counted + not counted by each rule.
pub fn flow(bars: &[FlowBar], categories: &[String]) -> Result<Plot, ReportError> {
    let total = |b: &FlowBar| b.segments.iter().map(|s| s.1).sum::<u64>();
    let max = bars.iter().map(total).max().unwrap_or(0);
    if bars.is_empty() || max == 0 {
        return Ok(Plot::Message("No rostered students: nothing to draw.".into()));
    }
    let n = bars.len();
    let legend_rows = categories.len().div_ceil(3) as u32;
    let height = 70 + 30 * n as u32 + 22 * legend_rows;
    let label_w = bars.iter().map(|b| text_width(&b.provider, 13)).max().unwrap_or(20) + 16;
    let alt = format!(
        "Stacked bars, one per provider: rostered students split into counted and not counted by each rule. {}",
        bars.iter()
            .map(|b| format!(
                "{}: {}",
                b.provider,
                b.segments.iter().map(|(l, v)| format!("{l} {v}")).collect::<Vec<_>>().join(", ")
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    svg(&alt, (WIDTH, height), |root| {
        let (top, legend) = root.split_vertically(height - 22 * legend_rows - 6);
        let mut chart = ChartBuilder::on(&top)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(0f64..max as f64 * 1.02, 0f64..n as f64)?;
        row_mesh(&mut chart, "students", true)?;
        for (i, b) in bars.iter().enumerate() {
            let y0 = (n - i) as f64 - 0.8;
            let y1 = (n - i) as f64 - 0.2;
            let mut x = 0.0;
            for (k, (_, v)) in b.segments.iter().enumerate() {
                let w = *v as f64;
                if w > 0.0 {
                    let fill = GREYS[k % GREYS.len()];
                    chart.draw_series(std::iter::once(Rectangle::new([(x, y0), (x + w, y1)], fill.filled())))?;
                    chart
                        .draw_series(std::iter::once(Rectangle::new([(x, y0), (x + w, y1)], BLACK.stroke_width(1))))?;
                    let (px0, py) = chart.backend_coord(&(x, (y0 + y1) / 2.0));
                    let (px1, _) = chart.backend_coord(&(x + w, y0));
                    let label = v.to_string();
                    if px1 - px0 > text_width(&label, 11) + 4 {
                        let ink = if k % GREYS.len() == 1 || k % GREYS.len() == 2 { WHITE } else { BLACK };
                        root.draw(&Text::new(
                            label,
                            ((px0 + px1) / 2, py),
                            anchored(11, HPos::Center, VPos::Center).color(&ink),
                        ))?;
                    }
                }
                x += w;
            }
            let (px, py) = chart.backend_coord(&(0.0, (y0 + y1) / 2.0));
            root.draw(&Text::new(b.provider.clone(), (px - 8, py), anchored(13, HPos::Right, VPos::Center)))?;
        }
        for (k, c) in categories.iter().enumerate() {
            let (row, col) = ((k / 3) as i32, (k % 3) as i32);
            let (x, y) = (20 + col * 225, 4 + row * 22);
            let fill = GREYS[k % GREYS.len()];
            legend.draw(&Rectangle::new([(x, y), (x + 18, y + 14)], fill.filled()))?;
            legend.draw(&Rectangle::new([(x, y), (x + 18, y + 14)], BLACK.stroke_width(1)))?;
            legend.draw(&Text::new(c.clone(), (x + 24, y + 7), anchored(12, HPos::Left, VPos::Center)))?;
        }
        Ok(())
    })
}

/// Where a point label of width `w` goes: the first of the places around the point `at`
/// (right, left, above, below, then diagonals further out) whose box (14 px high) meets no
/// box of `taken`; the first place when none is free. Returns the label's left end and its
/// vertical centre.
fn place_label(at: (i32, i32), w: i32, taken: &[[i32; 4]]) -> (i32, i32) {
    let (x, y) = at;
    let mut places = vec![(x + 8, y), (x - 8 - w, y), (x - w / 2, y - 14), (x - w / 2, y + 14)];
    for step in [14, 28, 42] {
        places.extend([(x + 8, y - step), (x + 8, y + step), (x - 8 - w, y - step), (x - 8 - w, y + step)]);
    }
    let free = |&(lx, ly): &(i32, i32)| {
        let b = [lx, ly - 7, lx + w, ly + 7];
        taken.iter().all(|t| b[0] >= t[2] || t[0] >= b[2] || b[1] >= t[3] || t[1] >= b[3])
    };
    places.iter().copied().find(free).unwrap_or(places[0])
}

/// One row of a quantile (box) plot.
pub struct QuantileRow {
    pub label: String,
    /// p10, p25, p50, p75, p90, mean; `None`: shown as `note`.
    pub q: Option<[f64; 6]>,
    pub note: String,
}

/// Horizontal box plots: whisker p10 to p90, box p25 to p75, thick bar at the median, a
/// cross at the mean; an optional dashed reference line (value, label).
pub fn quantiles(
    alt: &str,
    x_desc: &str,
    rows: &[QuantileRow],
    reference: Option<(f64, String)>,
) -> Result<Plot, ReportError> {
    if rows.iter().all(|r| r.q.is_none()) {
        return Ok(Plot::Message(if rows.is_empty() {
            "No providers: nothing to draw.".into()
        } else {
            "Every provider's distribution is suppressed or missing: nothing to draw.".into()
        }));
    }
    let values = rows.iter().flat_map(|r| r.q.into_iter().flatten()).chain(reference.iter().map(|r| r.0));
    let (_, hi) = padded_range(values.chain([0.0]), 0.05).expect("a finite value");
    let n = rows.len();
    let height = 110 + 30 * n as u32;
    let label_w = rows.iter().map(|r| text_width(&r.label, 13)).max().unwrap_or(20) + 16;
    svg(alt, (WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .margin_right(20)
            .margin_top(if reference.is_some() { 28 } else { 10 })
            .x_label_area_size(40)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(0f64..hi, 0f64..n as f64)?;
        row_mesh(&mut chart, x_desc, false)?;
        for (i, r) in rows.iter().enumerate() {
            let yc = (n - i) as f64 - 0.5;
            let (px, py) = chart.backend_coord(&(0.0, yc));
            root.draw(&Text::new(r.label.clone(), (px - 8, py), anchored(13, HPos::Right, VPos::Center)))?;
            let Some([p10, p25, p50, p75, p90, mean]) = r.q else {
                root.draw(&Text::new(r.note.clone(), (px + 6, py), anchored(12, HPos::Left, VPos::Center)))?;
                continue;
            };
            let style = BLACK.stroke_width(1);
            chart.draw_series(std::iter::once(PathElement::new(vec![(p10, yc), (p25, yc)], style)))?;
            chart.draw_series(std::iter::once(PathElement::new(vec![(p75, yc), (p90, yc)], style)))?;
            for x in [p10, p90] {
                chart.draw_series(std::iter::once(PathElement::new(vec![(x, yc - 0.15), (x, yc + 0.15)], style)))?;
            }
            chart.draw_series(std::iter::once(Rectangle::new(
                [(p25, yc - 0.28), (p75, yc + 0.28)],
                RGBColor(215, 215, 215).filled(),
            )))?;
            chart.draw_series(std::iter::once(Rectangle::new([(p25, yc - 0.28), (p75, yc + 0.28)], style)))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(p50, yc - 0.28), (p50, yc + 0.28)],
                BLACK.stroke_width(3),
            )))?;
            chart.draw_series(std::iter::once(Cross::new((mean, yc), 5, BLACK.stroke_width(2))))?;
        }
        if let Some((x, label)) = &reference {
            chart.draw_series(DashedLineSeries::new(vec![(*x, 0.0), (*x, n as f64)], 6, 4, BLACK.stroke_width(2)))?;
            let (px, py) = chart.backend_coord(&(*x, n as f64));
            root.draw(&Text::new(label.clone(), (px, py - 6), anchored(12, HPos::Center, VPos::Bottom)))?;
        }
        Ok(())
    })
}

/// A labelled series of (expected, observed) points.
pub struct GrowthSeries {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Observed against expected growth with the 45-degree line (growing exactly as expected);
/// series as filled circles, triangles, then crosses; providers as labelled squares.
pub fn growth(
    alt: &str,
    unit: &str,
    series: &[GrowthSeries],
    providers: &[(String, f64, f64)],
) -> Result<Plot, ReportError> {
    let all = series.iter().flat_map(|s| s.points.iter().flat_map(|p| [p.0, p.1]));
    let all = all.chain(providers.iter().flat_map(|p| [p.1, p.2]));
    let Some((lo, hi)) = padded_range(all, 0.06) else {
        return Ok(Plot::Message("No growth values to compare with the norms.".into()));
    };
    svg(alt, (WIDTH, 520), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .margin_right(30)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, lo..hi)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_desc(format!("expected growth ({unit})"))
            .y_desc(format!("observed growth ({unit})"))
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .draw()?;
        chart
            .draw_series(DashedLineSeries::new(vec![(lo, lo), (hi, hi)], 6, 4, BLACK.stroke_width(1)))?
            .label("growing exactly as expected")
            .legend(|(x, y)| DashedPathElement::new(vec![(x, y), (x + 20, y)], 4, 3, BLACK.stroke_width(1)));
        for (k, s) in series.iter().enumerate() {
            let pts = s.points.clone();
            let anno = match k {
                0 => chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, BLACK.filled())))?,
                1 => chart.draw_series(pts.into_iter().map(|p| TriangleMarker::new(p, 6, BLACK.stroke_width(1))))?,
                _ => chart.draw_series(pts.into_iter().map(|p| Cross::new(p, 4, BLACK.stroke_width(1))))?,
            };
            let label = s.label.clone();
            anno.label(label).legend(move |(x, y)| -> DynElement<'static, _, _> {
                match k {
                    0 => Circle::new((x + 10, y), 4, BLACK.filled()).into_dyn(),
                    1 => TriangleMarker::new((x + 10, y), 6, BLACK.stroke_width(1)).into_dyn(),
                    _ => Cross::new((x + 10, y), 4, BLACK.stroke_width(1)).into_dyn(),
                }
            });
        }
        if !providers.is_empty() {
            chart
                .draw_series(providers.iter().map(|(_, e, o)| {
                    EmptyElement::at((*e, *o))
                        + Rectangle::new([(-4, -4), (4, 4)], RGBColor(120, 120, 120).filled())
                        + Rectangle::new([(-4, -4), (4, 4)], BLACK.stroke_width(1))
                }))?
                .label("provider (counted students)")
                .legend(|(x, y)| Rectangle::new([(x + 6, y - 4), (x + 14, y + 4)], RGBColor(120, 120, 120).filled()));
            // every point (series and providers) is an obstacle for the provider labels
            let mut taken: Vec<[i32; 4]> = series
                .iter()
                .flat_map(|s| s.points.iter())
                .map(|p| {
                    let (x, y) = chart.backend_coord(p);
                    [x - 7, y - 7, x + 7, y + 7]
                })
                .collect();
            for (_, e, o) in providers {
                let (x, y) = chart.backend_coord(&(*e, *o));
                taken.push([x - 5, y - 5, x + 5, y + 5]);
            }
            for (name, e, o) in providers {
                let at = chart.backend_coord(&(*e, *o));
                let (x0, y) = place_label(at, text_width(name, 12), &taken);
                taken.push([x0, y - 7, x0 + text_width(name, 12), y + 7]);
                root.draw(&Text::new(name.clone(), (x0, y), anchored(12, HPos::Left, VPos::Center)))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(text_style(12))
            .draw()?;
        Ok(())
    })
}

/// A row of the caterpillar or dose-response plot.
pub struct Interval {
    pub label: String,
    pub point: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// Each provider's metric with its interval, sorted by the caller, with labelled dashed
/// reference lines (thresholds) and a dotted one (the comparison group).
pub fn caterpillar(
    alt: &str,
    x_desc: &str,
    rows: &[Interval],
    thresholds: &[(String, f64)],
    comparison: Option<(String, f64)>,
    note: &str,
) -> Result<Plot, ReportError> {
    if rows.is_empty() {
        return Ok(Plot::Message(format!("No provider metric can be shown. {note}").trim().to_string()));
    }
    let values = rows
        .iter()
        .flat_map(|r| [Some(r.point), r.low, r.high])
        .flatten()
        .chain(thresholds.iter().map(|t| t.1))
        .chain(comparison.iter().map(|c| c.1));
    let (lo, hi) = padded_range(values, 0.08).expect("a finite value");
    let refs: Vec<(String, f64, bool)> = thresholds
        .iter()
        .map(|(l, v)| (l.clone(), *v, true))
        .chain(comparison.iter().map(|(l, v)| (l.clone(), *v, false)))
        .collect();
    let n = rows.len();
    let top = 14 + 16 * refs.len() as u32;
    let bottom = if note.is_empty() { 0 } else { 24 };
    let height = 60 + top + 30 * n as u32 + bottom;
    let label_w = rows.iter().map(|r| text_width(&r.label, 13)).max().unwrap_or(20) + 16;
    svg(alt, (WIDTH, height), |root| {
        let (area, foot) = root.split_vertically(height - bottom);
        let mut chart = ChartBuilder::on(&area)
            .margin(10)
            .margin_right(24)
            .margin_top(top)
            .x_label_area_size(40)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(lo..hi, 0f64..n as f64)?;
        row_mesh(&mut chart, x_desc, false)?;
        let label_rows =
            reference_rows(&refs.iter().map(|r| chart.backend_coord(&(r.1, n as f64)).0).collect::<Vec<_>>());
        for (k, (label, v, dashed)) in refs.iter().enumerate() {
            let line = vec![(*v, 0.0), (*v, n as f64)];
            if *dashed {
                chart.draw_series(DashedLineSeries::new(line, 6, 4, BLACK.stroke_width(1)))?;
            } else {
                chart.draw_series(DashedLineSeries::new(line, 2, 3, BLACK.stroke_width(2)))?;
            }
            let (px, py) = chart.backend_coord(&(*v, n as f64));
            let y = py - 4 - 16 * (refs.len() - 1 - label_rows[k]) as i32;
            let right = px > (WIDTH as i32) * 3 / 4;
            let (h, dx) = if right { (HPos::Right, -3) } else { (HPos::Left, 3) };
            root.draw(&PathElement::new(vec![(px, y), (px, py)], BLACK.stroke_width(1)))?;
            root.draw(&Text::new(label.clone(), (px + dx, y), anchored(12, h, VPos::Center)))?;
        }
        for (i, r) in rows.iter().enumerate() {
            let yc = (n - i) as f64 - 0.5;
            if let (Some(l), Some(h)) = (r.low, r.high) {
                chart.draw_series(std::iter::once(PathElement::new(vec![(l, yc), (h, yc)], BLACK.stroke_width(2))))?;
                for x in [l, h] {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, yc - 0.2), (x, yc + 0.2)],
                        BLACK.stroke_width(2),
                    )))?;
                }
            }
            chart.draw_series(std::iter::once(Circle::new((r.point, yc), 5, BLACK.filled())))?;
            let (px, py) = chart.backend_coord(&(lo, yc));
            root.draw(&Text::new(r.label.clone(), (px - 8, py), anchored(13, HPos::Right, VPos::Center)))?;
        }
        if !note.is_empty() {
            foot.draw(&Text::new(note.to_string(), (10, 12), anchored(12, HPos::Left, VPos::Center)))?;
        }
        Ok(())
    })
}

/// The label row of each reference line of a caterpillar plot from its x pixel (row 0 at
/// the top): labels anchored right of their line (x up to three quarters of the width) run
/// rightwards, so the leftmost takes the highest of their rows and no label crosses the
/// leader line of a reference to its right; labels anchored left of their line (further
/// right) take the rows above them, the rightmost first.
fn reference_rows(px: &[i32]) -> Vec<usize> {
    let right = |x: i32| x > (WIDTH as i32) * 3 / 4;
    let mut order: Vec<usize> = (0..px.len()).collect();
    order.sort_by_key(|&i| if right(px[i]) { (0, -px[i], i) } else { (1, px[i], i) });
    let mut rows = vec![0; px.len()];
    for (row, i) in order.into_iter().enumerate() {
        rows[i] = row;
    }
    rows
}

/// Value with interval per bin (left to right); `None` bins are gaps marked "suppressed".
pub fn bins(alt: &str, y_desc: &str, bins: &[(String, Option<Interval>)]) -> Result<Plot, ReportError> {
    let shown: Vec<&Interval> = bins.iter().filter_map(|b| b.1.as_ref()).collect();
    if shown.is_empty() {
        return Ok(Plot::Message(if bins.is_empty() {
            "No dosage bins: nothing to draw.".into()
        } else {
            "Every dosage bin is suppressed: nothing to draw.".into()
        }));
    }
    let values = shown.iter().flat_map(|r| [Some(r.point), r.low, r.high]).flatten();
    let (mut lo, mut hi) = padded_range(values, 0.1).expect("a finite value");
    if y_desc.contains("share") {
        lo = lo.max(0.0);
        hi = hi.min(1.0);
    }
    let n = bins.len();
    let font = if n > 7 { 10 } else { 12 };
    svg(alt, (WIDTH, 380), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .margin_right(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n as f64, lo..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .y_desc(y_desc)
            .x_desc("sessions attended (bins)")
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .draw()?;
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        for (i, (label, b)) in bins.iter().enumerate() {
            let xc = i as f64 + 0.5;
            let (px, py) = chart.backend_coord(&(xc, lo));
            root.draw(&Text::new(label.clone(), (px, py + 6), anchored(font, HPos::Center, VPos::Top)))?;
            match b {
                Some(r) => {
                    if let (Some(l), Some(h)) = (r.low, r.high) {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(xc, l), (xc, h)],
                            BLACK.stroke_width(2),
                        )))?;
                        for y in [l, h] {
                            chart.draw_series(std::iter::once(PathElement::new(
                                vec![(xc - 0.12, y), (xc + 0.12, y)],
                                BLACK.stroke_width(2),
                            )))?;
                        }
                    }
                    chart.draw_series(std::iter::once(Circle::new((xc, r.point), 5, BLACK.filled())))?;
                    run.push((xc, r.point));
                }
                None => {
                    runs.push(std::mem::take(&mut run));
                    let (px, py) = chart.backend_coord(&(xc, (lo + hi) / 2.0));
                    root.draw(&Text::new("suppressed", (px, py), anchored(font, HPos::Center, VPos::Center)))?;
                    root.draw(&Text::new("(gap)", (px, py + 14), anchored(font, HPos::Center, VPos::Center)))?;
                }
            }
        }
        runs.push(run);
        for r in runs.into_iter().filter(|r| r.len() > 1) {
            chart.draw_series(LineSeries::new(r, BLACK.stroke_width(1)))?;
        }
        Ok(())
    })
}

/// Marker shape `k` (filled circle, triangle, cross, open square, open circle, filled
/// square, open triangle, filled diamond), then repeating.
fn marker<DB: DrawingBackend>(k: usize, p: (i32, i32)) -> DynElement<'static, DB, (i32, i32)> {
    let s = BLACK.stroke_width(1);
    let diamond = vec![(p.0, p.1 - 5), (p.0 + 5, p.1), (p.0, p.1 + 5), (p.0 - 5, p.1)];
    match k % 8 {
        0 => Circle::new(p, 4, BLACK.filled()).into_dyn(),
        1 => TriangleMarker::new(p, 6, s).into_dyn(),
        2 => Cross::new(p, 5, s).into_dyn(),
        3 => Rectangle::new([(p.0 - 4, p.1 - 4), (p.0 + 4, p.1 + 4)], s).into_dyn(),
        4 => Circle::new(p, 4, s).into_dyn(),
        5 => Rectangle::new([(p.0 - 4, p.1 - 4), (p.0 + 4, p.1 + 4)], BLACK.filled()).into_dyn(),
        6 => TriangleMarker::new(p, 6, BLACK.filled()).into_dyn(),
        _ => Polygon::new(diamond, BLACK.filled()).into_dyn(),
    }
}

/// Dash pattern of series `k` as (dash, gap) in px; `None`: solid. Eight patterns, then
/// repeating (with a different marker, [`marker`]).
const DASHES: [Option<(u32, u32)>; 8] =
    [None, Some((10, 4)), Some((3, 3)), Some((14, 4)), Some((6, 6)), Some((1, 3)), Some((18, 6)), Some((8, 2))];

/// The reference lines' dash pattern (grey, so they read apart from the series).
const REFERENCE_DASH: (u32, u32) = (4, 8);
const REFERENCE_GREY: RGBColor = RGBColor(120, 120, 120);

/// One curve of an OC plot.
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Horizontal reference line on an OC plot.
pub struct Reference {
    pub label: String,
    pub y: f64,
}

/// Height of an OC panel in pixels.
const PANEL_HEIGHT: u32 = 340;
/// Vertical distance between two labels of the label column (font 11 px).
const LABEL_GAP: i32 = 15;

/// Probability curves (y in 0..1), one panel: curve `k` has marker [`marker`]`(k)` and dash
/// pattern `DASHES[k]`, distinct for every series up to eight; references are grey dashed
/// lines. Every label sits in a column right of the plot at the height of its curve's last
/// point (or its reference line), pushed apart so that none overlaps another, and none sits
/// on a point.
pub fn curves(
    alt: &str,
    x_desc: &str,
    y_desc: &str,
    curves: &[Curve],
    references: &[Reference],
) -> Result<Plot, ReportError> {
    let xs = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let Some((x0, x1)) = padded_range(xs, 0.0) else {
        return Ok(Plot::Message("No operating-characteristic cells: nothing to draw.".into()));
    };
    let longest = curves.iter().map(|c| &c.label).chain(references.iter().map(|r| &r.label));
    // plotters writes a font of size s as s / 1.24 px: an 11 px label is 8.9 px wide a em
    let label_w = longest.map(|l| text_width(l, 9)).max().unwrap_or(20) as u32 + 40;
    svg(alt, (WIDTH, PANEL_HEIGHT), |root| {
        let (plot, labels) = root.split_horizontally(WIDTH - label_w);
        let pad = (x1 - x0) * 0.04;
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .margin_top(14)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((x0 - pad)..(x1 + pad), 0f64..1f64)?;
        line_mesh(&mut chart, x_desc, y_desc, Some(&|v: &f64| format!("{v:.1}")))?;
        draw_curves(&mut chart, root, &labels, curves, references, (x0 - pad, x1 + pad), (0.0, 1.0))
    })
}

/// One series of [`bands`]: points `(x, y, low, high)`, the line through `y` and a grey band
/// from `low` to `high`.
pub struct Band {
    pub label: String,
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Lines with bands (y from 0 up): series `k` is drawn as curve `k` of [`curves`] (its
/// marker, dash pattern and label in the column right of the plot), over a light grey band
/// (translucent, so overlapping bands read darker); references are grey dashed lines.
pub fn bands(
    alt: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Band],
    references: &[Reference],
) -> Result<Plot, ReportError> {
    let xs = series.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let Some((x0, x1)) = padded_range(xs, 0.0) else {
        return Ok(Plot::Message("No cells: nothing to draw.".into()));
    };
    let top = series
        .iter()
        .flat_map(|c| c.points.iter().flat_map(|p| [p.1, p.3]))
        .chain(references.iter().map(|r| r.y))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y1 = if top > 0.0 { top * 1.08 } else { 1.0 };
    let curves: Vec<Curve> = series
        .iter()
        .map(|b| Curve { label: b.label.clone(), points: b.points.iter().map(|p| (p.0, p.1)).collect() })
        .collect();
    let longest = curves.iter().map(|c| &c.label).chain(references.iter().map(|r| &r.label));
    let label_w = longest.map(|l| text_width(l, 9)).max().unwrap_or(20) as u32 + 40;
    svg(alt, (WIDTH, PANEL_HEIGHT), |root| {
        let (plot, labels) = root.split_horizontally(WIDTH - label_w);
        let pad = (x1 - x0) * 0.04;
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .margin_top(14)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((x0 - pad)..(x1 + pad), 0f64..y1)?;
        line_mesh(&mut chart, x_desc, y_desc, None)?;
        for b in series {
            let mut outline: Vec<(f64, f64)> = b.points.iter().map(|p| (p.0, p.3)).collect();
            outline.extend(b.points.iter().rev().map(|p| (p.0, p.2)));
            chart.draw_series(std::iter::once(Polygon::new(outline, BLACK.mix(0.08).filled())))?;
        }
        draw_curves(&mut chart, root, &labels, &curves, references, (x0 - pad, x1 + pad), (0.0, y1))
    })
}

/// A label of the label column: its wanted height, text, and what its sample shows.
struct ColumnLabel {
    y: i32,
    text: String,
    /// `Some(k)`: series `k`; `None`: a reference line.
    series: Option<usize>,
}

/// Label heights: each at its wanted height, pushed down to at least `LABEL_GAP` below the
/// previous one, then the stack shifted up if it runs past `bottom`.
pub fn spread(wanted: &[i32], top: i32, bottom: i32) -> Vec<i32> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| (wanted[i], i));
    let mut placed = vec![0; wanted.len()];
    let mut prev = i32::MIN;
    for &i in &order {
        let y = wanted[i].max(top).max(prev.saturating_add(LABEL_GAP));
        placed[i] = y;
        prev = y;
    }
    // shift the stack up from the bottom when it overflows
    let mut limit = bottom;
    for &i in order.iter().rev() {
        if placed[i] > limit {
            placed[i] = limit;
        }
        limit = placed[i] - LABEL_GAP;
    }
    placed
}

fn series_line<'a, X>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    points: Vec<(f64, f64)>,
    dash: Option<(u32, u32)>,
    style: ShapeStyle,
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
{
    match dash {
        None => chart.draw_series(LineSeries::new(points, style))?,
        Some((d, g)) => chart.draw_series(DashedLineSeries::new(points, d, g, style))?,
    };
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw_curves<'a, X>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    root: &Area,
    labels: &Area,
    curves: &[Curve],
    references: &[Reference],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
{
    let mut column: Vec<ColumnLabel> = Vec::new();
    for r in references {
        let style = REFERENCE_GREY.stroke_width(1);
        series_line(chart, vec![(x0, r.y), (x1, r.y)], Some(REFERENCE_DASH), style)?;
        column.push(ColumnLabel { y: chart.backend_coord(&(x1, r.y)).1, text: r.label.clone(), series: None });
    }
    for (k, c) in curves.iter().enumerate() {
        series_line(chart, c.points.clone(), DASHES[k % DASHES.len()], BLACK.stroke_width(1))?;
        for p in &c.points {
            root.draw(&marker(k, chart.backend_coord(p)))?;
        }
        if let Some(last) = c.points.last() {
            column.push(ColumnLabel { y: chart.backend_coord(last).1, text: c.label.clone(), series: Some(k) });
        }
    }
    let (top, bottom) = (chart.backend_coord(&(x0, y1)).1, chart.backend_coord(&(x0, y0)).1);
    let ys = spread(&column.iter().map(|l| l.y).collect::<Vec<_>>(), top, bottom);
    let (lx, _) = labels.get_base_pixel();
    for (l, y) in column.iter().zip(ys) {
        let sample = vec![(lx, y), (lx + 24, y)];
        match l.series {
            Some(k) => {
                match DASHES[k % DASHES.len()] {
                    None => root.draw(&PathElement::new(sample, BLACK.stroke_width(1)))?,
                    Some((d, g)) => root.draw(&DashedPathElement::new(sample, d, g, BLACK.stroke_width(1)))?,
                }
                root.draw(&marker(k, (lx + 12, y)))?;
            }
            None => {
                let (d, g) = REFERENCE_DASH;
                root.draw(&DashedPathElement::new(sample, d, g, REFERENCE_GREY.stroke_width(1)))?;
            }
        }
        root.draw(&Text::new(l.text.clone(), (lx + 30, y), anchored(11, HPos::Left, VPos::Center)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg_of(p: &Plot) -> &str {
        match p {
            Plot::Svg(s) => s,
            Plot::Message(m) => panic!("expected a figure, got the message {m:?}"),
        }
    }

    #[test]
    fn padded_range_widens_and_handles_degenerate_input() {
        assert_eq!(padded_range([0.0, 10.0], 0.1), Some((-1.0, 11.0)));
        assert_eq!(padded_range([2.0, 2.0], 0.1), Some((1.8, 2.2)));
        assert_eq!(padded_range([0.0], 0.1), Some((-0.5, 0.5)));
        assert_eq!(padded_range([f64::NAN, f64::INFINITY], 0.1), None);
        assert_eq!(padded_range(std::iter::empty(), 0.1), None);
    }

    #[test]
    fn empty_or_suppressed_data_give_a_message_not_an_empty_plot() {
        assert!(matches!(flow(&[], &[]).unwrap(), Plot::Message(_)));
        let rows = vec![QuantileRow { label: "P1".into(), q: None, note: "suppressed".into() }];
        let m = quantiles("alt", "sessions", &rows, None).unwrap();
        assert!(matches!(&m, Plot::Message(t) if t.contains("suppressed")), "{m:?}");
        let b = bins("alt", "share", &[("0-9".into(), None), ("10-19".into(), None)]).unwrap();
        assert!(matches!(&b, Plot::Message(t) if t.contains("suppressed")), "{b:?}");
        let c = caterpillar("alt", "metric", &[], &[("tier 1".into(), 0.5)], None, "P1 suppressed").unwrap();
        assert!(matches!(&c, Plot::Message(t) if t.contains("P1 suppressed")), "{c:?}");
        assert!(matches!(growth("alt", "points", &[], &[]).unwrap(), Plot::Message(_)));
        assert!(matches!(curves("alt", "x", "y", &[], &[]).unwrap(), Plot::Message(_)));
    }

    #[test]
    fn a_figure_has_a_title_and_a_text_alternative() {
        let rows = vec![
            QuantileRow { label: "P1".into(), q: Some([2.0, 10.0, 20.0, 30.0, 40.0, 21.0]), note: String::new() },
            QuantileRow { label: "P2".into(), q: None, note: "suppressed".into() },
        ];
        let p = quantiles("Sessions per provider", "sessions attended", &rows, Some((20.0, "minimum".into()))).unwrap();
        let s = svg_of(&p);
        assert!(s.starts_with("<svg"), "{}", &s[..40]);
        assert!(s.contains("role=\"img\" aria-label=\"Sessions per provider\""));
        assert!(s.contains("<title>Sessions per provider</title>"));
        // plotters writes each text on its own line inside <text>.
        assert!(s.contains("\nsessions attended\n") && s.contains("\nminimum\n") && s.contains("\nsuppressed\n"));
        assert!(s.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn axis_range_covers_every_interval_and_reference() {
        let rows = vec![Interval { label: "P1".into(), point: 0.6, low: Some(0.55), high: Some(0.65) }];
        let p =
            caterpillar("alt", "share", &rows, &[("tier 2 = 0.90".into(), 0.9)], Some(("comparison".into(), 0.1)), "")
                .unwrap();
        let s = svg_of(&p);
        // The x axis spans 0.1 to 0.9 padded by 8%: tick labels at both ends of the data.
        assert!(s.contains("\n0.1\n"), "no tick at the comparison: {s}");
        assert!(s.contains("\n0.9\n"), "no tick at the threshold");
        assert!(s.contains("\ntier 2 = 0.90\n") && s.contains("\ncomparison\n"));
    }

    #[test]
    fn spread_labels_keep_their_gap_and_stay_in_range() {
        let ys = spread(&[100, 102, 101, 300], 20, 310);
        let mut sorted = ys.clone();
        sorted.sort_unstable();
        assert!(sorted.windows(2).all(|w| w[1] - w[0] >= LABEL_GAP), "{ys:?}");
        assert_eq!(ys[0], 100);
        // a stack running past the bottom is shifted up
        let ys = spread(&[300, 300, 300], 20, 305);
        assert!(ys.iter().all(|&y| y <= 305) && ys.iter().min() == Some(&(305 - 2 * LABEL_GAP)), "{ys:?}");
    }

    #[test]
    fn reference_labels_of_lines_further_right_sit_lower() {
        // 100 and 200 px (labels run right), 650 px (label runs left): 650 on top, then 100, 200
        assert_eq!(reference_rows(&[200, 650, 100]), vec![2, 0, 1]);
    }

    #[test]
    fn accessible_escapes_the_text_alternative() {
        let s = accessible("<svg width=\"1\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>", "a < b & \"c\"");
        assert!(s.starts_with("<svg width=\"1\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""), "{s}");
        assert!(s.contains("<title>a &lt; b &amp; &quot;c&quot;</title>"), "{s}");
    }
}
