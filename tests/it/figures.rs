//! Every figure of `obc check` and `obc baseline` (data-samples, and a simulated district
//! with 12 providers) is readable: no two text boxes intersect, and no text box sits on a
//! marker.
//!
//! Text boxes are estimated from the `<text>` element: `x`, `y`, `font-size`,
//! `text-anchor`, `dy` (plotters writes `0.76em` for top-anchored, `0.5ex` for centred and
//! `-0.5ex` for bottom-anchored text) and the string's length, at [`CHAR_WIDTH`] em a
//! character (a sans-serif average; digits and lower-case letters are narrower), with the
//! box's height one em. `rotate(270, x, y)` (the y axis title) turns the box. Markers are
//! circles of radius at most 8 px, and polygons and rectangles at most 16 px across
//! (triangles, diamonds, squares); crosses are drawn as lines and are not checked.

use crate::common::{obc_ok, samples};
use std::path::Path;

/// Width of a character in em.
const CHAR_WIDTH: f64 = 0.6;
/// Boxes closer than this (px) are not counted as intersecting (anti-aliasing slack).
const SLACK: f64 = 0.5;

#[derive(Clone, Debug)]
struct Box2 {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    what: String,
}

impl Box2 {
    fn hits(&self, o: &Box2) -> bool {
        self.x0 + SLACK < o.x1 && o.x0 + SLACK < self.x1 && self.y0 + SLACK < o.y1 && o.y0 + SLACK < self.y1
    }
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

fn num(tag: &str, name: &str) -> f64 {
    attr(tag, name).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// Unescapes the few entities plotters writes, so a character counts once.
fn text_len(s: &str) -> usize {
    s.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").chars().count()
}

/// The text boxes of an SVG.
fn text_boxes(svg: &str) -> Vec<Box2> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text ") {
        let tag_end = rest[i..].find('>').unwrap() + i;
        let tag = &rest[i..=tag_end];
        let close = rest[tag_end..].find("</text>").unwrap() + tag_end;
        let content = rest[tag_end + 1..close].trim();
        rest = &rest[close..];
        if content.is_empty() {
            continue;
        }
        let (x, y, size) = (num(tag, "x"), num(tag, "y"), num(tag, "font-size"));
        let w = text_len(content) as f64 * size * CHAR_WIDTH;
        let (bx0, bx1) = match attr(tag, "text-anchor").as_deref() {
            Some("middle") => (x - w / 2.0, x + w / 2.0),
            Some("end") => (x - w, x),
            _ => (x, x + w),
        };
        let (by0, by1) = match attr(tag, "dy").as_deref() {
            Some("0.76em") => (y, y + size),
            Some("0.5ex") => (y - size / 2.0, y + size / 2.0),
            Some("-0.5ex") => (y - size, y),
            _ => (y - 0.8 * size, y + 0.2 * size),
        };
        let mut b = Box2 { x0: bx0, y0: by0, x1: bx1, y1: by1, what: content.to_string() };
        if let Some(t) = attr(tag, "transform") {
            assert!(t.starts_with("rotate(270"), "unexpected transform {t}");
            // rotate(270, x, y) maps (x + dx, y + dy) to (x + dy, y − dx)
            let (dx0, dx1, dy0, dy1) = (b.x0 - x, b.x1 - x, b.y0 - y, b.y1 - y);
            b = Box2 { x0: x + dy0, x1: x + dy1, y0: y - dx1, y1: y - dx0, what: b.what };
        }
        out.push(b);
    }
    out
}

/// The markers of an SVG (module docs).
fn markers(svg: &str) -> Vec<Box2> {
    let mut out = Vec::new();
    for (open, kind) in [("<circle ", "circle"), ("<polygon ", "polygon"), ("<rect ", "rect")] {
        let mut rest = svg;
        while let Some(i) = rest.find(open) {
            let end = rest[i..].find('>').unwrap() + i;
            let tag = &rest[i..=end];
            rest = &rest[end..];
            let b = match kind {
                "circle" => {
                    let (cx, cy, r) = (num(tag, "cx"), num(tag, "cy"), num(tag, "r"));
                    (r <= 8.0).then_some((cx - r, cy - r, cx + r, cy + r))
                }
                "rect" => {
                    let (x, y, w, h) = (num(tag, "x"), num(tag, "y"), num(tag, "width"), num(tag, "height"));
                    (w <= 16.0 && h <= 16.0).then_some((x, y, x + w, y + h))
                }
                _ => {
                    let pts: Vec<(f64, f64)> = attr(tag, "points")
                        .unwrap_or_default()
                        .split_whitespace()
                        .filter_map(|p| p.split_once(','))
                        .filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                        .collect();
                    let (x0, x1) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
                    let (y0, y1) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
                    (!pts.is_empty() && x1 - x0 <= 16.0 && y1 - y0 <= 16.0).then_some((x0, y0, x1, y1))
                }
            };
            if let Some((x0, y0, x1, y1)) = b {
                out.push(Box2 { x0, y0, x1, y1, what: format!("{kind} at ({x0}, {y0})") });
            }
        }
    }
    out
}

/// Every collision of one SVG, as sentences.
fn collisions(name: &str, svg: &str) -> Vec<String> {
    let texts = text_boxes(svg);
    let marks = markers(svg);
    let mut out = Vec::new();
    for (i, a) in texts.iter().enumerate() {
        for b in &texts[i + 1..] {
            if a.hits(b) {
                out.push(format!("{name}: text {:?} overlaps text {:?} ({a:?} / {b:?})", a.what, b.what));
            }
        }
        for m in &marks {
            if a.hits(m) {
                out.push(format!("{name}: text {:?} sits on the {}", a.what, m.what));
            }
        }
    }
    out
}

fn figure_collisions(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut n = 0;
    for e in std::fs::read_dir(dir.join("figures")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "svg") {
            n += 1;
            let svg = std::fs::read_to_string(&p).unwrap();
            found.extend(collisions(&p.file_name().unwrap().to_string_lossy(), &svg));
        }
    }
    assert!(n > 0, "no figures in {}", dir.display());
    found
}

#[test]
fn the_box_estimate_catches_overlaps_and_rotations() {
    let svg = "<text x=\"10\" y=\"10\" dy=\"0.5ex\" font-size=\"10\">\nabcdef\n</text>\
               <text x=\"50\" y=\"12\" dy=\"0.5ex\" font-size=\"10\">\nxy\n</text>\
               <text x=\"200\" y=\"100\" dy=\"0.76em\" text-anchor=\"middle\" font-size=\"10\" transform=\"rotate(270, 200, 100)\">\nvertical\n</text>\
               <circle cx=\"205\" cy=\"80\" r=\"4\"/>";
    let t = text_boxes(svg);
    // 6 characters at 0.6 em of 10 px: 36 px wide, so the text at x = 50 is clear of it
    assert!((t[0].x1 - 46.0).abs() < 1e-9 && !t[0].hits(&t[1]), "{t:?}");
    // the rotated text runs from y = 76 to 124 and x = 200 to 210: the circle is on it
    assert!((t[2].y0 - 76.0).abs() < 1e-9 && (t[2].x1 - 210.0).abs() < 1e-9, "{:?}", t[2]);
    assert_eq!(collisions("t", svg).len(), 1, "{:?}", collisions("t", svg));
}

#[test]
fn no_label_collides_in_the_figures_of_data_samples() {
    let contract = samples().join("contract.toml");
    let contract = contract.to_str().unwrap();
    let base = tempfile::tempdir().unwrap();
    obc_ok(&["baseline", contract, "--out", base.path().to_str().unwrap()]);
    // the baseline's figures include the price of the contract (figures/cost.svg)
    assert!(base.path().join("figures/cost.svg").exists(), "no cost.svg");
    let check = tempfile::tempdir().unwrap();
    obc_ok(&["check", contract, "--out", check.path().to_str().unwrap()]);
    let mut found = figure_collisions(base.path());
    found.extend(figure_collisions(check.path()));
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_label_collides_in_the_figures_of_a_district_with_12_providers() {
    let sim = tempfile::tempdir().unwrap();
    let d = sim.path().to_str().unwrap();
    obc_ok(&["simulate", "--providers", "12", "--out", d]);
    let contract = sim.path().join("contract.toml");
    let out = tempfile::tempdir().unwrap();
    obc_ok(&["check", contract.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    let found = figure_collisions(out.path());
    assert!(found.is_empty(), "{}", found.join("\n"));
}
