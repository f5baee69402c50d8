//! HTML building blocks: escaping, number formats, tables with scoped headers, figures
//! with captions, and the page shell with its screen and print CSS.

use super::plots::Plot;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number with `digits` decimals; missing or non-finite: "not available". A value that
/// rounds to zero is written without a sign ("0.00", never "-0.00").
pub fn num(x: Option<f64>, digits: usize) -> String {
    match x {
        Some(v) if v.is_finite() => unsigned_zero(format!("{v:.digits$}")),
        _ => "not available".into(),
    }
}

/// A share as a percent with one decimal (no "-0.0%").
pub fn pct(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => unsigned_zero(format!("{:.1}%", 100.0 * v)),
        _ => "not available".into(),
    }
}

/// `text` without its minus sign when every digit is 0 (a negative value rounded to zero).
fn unsigned_zero(text: String) -> String {
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| !c.is_ascii_digit() || c == '0') => rest.to_string(),
        _ => text,
    }
}

/// Money with thousands separators and two decimals.
pub fn money(x: Option<f64>) -> String {
    let Some(v) = x.filter(|v| v.is_finite()) else { return "not available".into() };
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').expect("two decimals");
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    unsigned_zero(format!("{}{grouped}.{frac}", if v < 0.0 { "-" } else { "" }))
}

/// A plain count or "not available".
pub fn count(x: Option<u64>) -> String {
    x.map_or_else(|| "not available".into(), |v| v.to_string())
}

/// A table cell: text (escaped) or already-built HTML.
pub enum Cell {
    Text(String),
    Html(String),
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

/// A table: column headers with `scope="col"`, the first cell of each row a header with
/// `scope="row"`. Rows in `foot` go to `<tfoot>` (totals).
pub fn table(caption: &str, head: &[&str], rows: Vec<Vec<Cell>>, foot: Vec<Vec<Cell>>) -> String {
    let mut s = String::from("<div class=\"table\"><table>\n");
    if !caption.is_empty() {
        s.push_str(&format!("<caption>{}</caption>\n", esc(caption)));
    }
    s.push_str("<thead><tr>");
    for h in head {
        s.push_str(&format!("<th scope=\"col\">{}</th>", esc(h)));
    }
    s.push_str("</tr></thead>\n");
    let body = |s: &mut String, rows: Vec<Vec<Cell>>| {
        for row in rows {
            s.push_str("<tr>");
            for (i, c) in row.into_iter().enumerate() {
                let inner = match c {
                    Cell::Text(t) => esc(&t),
                    Cell::Html(h) => h,
                };
                if i == 0 {
                    s.push_str(&format!("<th scope=\"row\">{inner}</th>"));
                } else {
                    s.push_str(&format!("<td>{inner}</td>"));
                }
            }
            s.push_str("</tr>\n");
        }
    };
    s.push_str("<tbody>\n");
    body(&mut s, rows);
    s.push_str("</tbody>\n");
    if !foot.is_empty() {
        s.push_str("<tfoot>\n");
        body(&mut s, foot);
        s.push_str("</tfoot>\n");
    }
    s.push_str("</table></div>\n");
    s
}

/// A bulleted list of escaped items; empty list: `none` as a paragraph.
pub fn list(items: &[String], none: &str) -> String {
    if items.is_empty() {
        return format!("<p>{}</p>\n", esc(none));
    }
    let mut s = String::from("<ul>\n");
    for i in items {
        s.push_str(&format!("<li>{}</li>\n", esc(i)));
    }
    s.push_str("</ul>\n");
    s
}

/// A paragraph of escaped text.
pub fn p(text: &str) -> String {
    format!("<p>{}</p>\n", esc(text))
}

/// A figure: the inline SVG (also written as `figures/FILE`) with its caption, or the
/// message saying why there is none.
pub fn figure(plot: &Plot, file: &str, caption: &str) -> String {
    match plot {
        Plot::Svg(svg) => format!(
            "<figure>\n{svg}\n<figcaption>{} <span class=\"file\">(figures/{})</span></figcaption>\n</figure>\n",
            esc(caption),
            esc(file)
        ),
        Plot::Message(m) => format!("<p class=\"no-figure\"><strong>No figure:</strong> {}</p>\n", esc(m)),
    }
}

/// A section with an id (used by the snapshot tests) and a heading.
pub fn section(id: &str, heading: &str, body: &str) -> String {
    format!("<section id=\"{id}\">\n<h2>{}</h2>\n{body}</section>\n", esc(heading))
}

const CSS: &str = "body { font-family: Georgia, 'Times New Roman', serif; color: #111; background: #fff; \
max-width: 7.3in; margin: 1.5em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #444; margin-top: 1.6em; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.85em; }
th, td { border: 1px solid #888; padding: 0.2em 0.45em; text-align: left; vertical-align: top; }
thead th { background: #e6e6e6; }
tfoot th, tfoot td { font-weight: bold; border-top: 2px solid #111; }
caption { text-align: left; font-style: italic; padding-bottom: 0.3em; }
.table { overflow-x: auto; max-width: 100%; }
td code { word-break: break-all; }
dt { margin-top: 0.4em; }
dd { margin-left: 1.5em; }
figure { margin: 1em 0; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85em; margin-top: 0.3em; }
.file { color: #444; }
.no-figure { border: 1px dashed #666; padding: 0.5em; }
.summary { font-size: 1.05em; }
details { margin: 0.6em 0; }
code { font-family: 'DejaVu Sans Mono', monospace; font-size: 0.9em; }
@media print {
  @page { size: letter; margin: 0.6in; }
  body { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
  details { display: block; }
  details > * { display: block; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, figure, .no-figure { break-inside: avoid; page-break-inside: avoid; }
  .table { overflow: visible; }
}
";

/// The whole page.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(money(Some(1_845_135.0)), "1,845,135.00");
        assert_eq!(money(Some(-12.5)), "-12.50");
        assert_eq!(money(Some(999.999)), "1,000.00");
        assert_eq!(pct(Some(0.0781)), "7.8%");
        assert_eq!(num(None, 3), "not available");
        assert_eq!(num(Some(f64::NAN), 3), "not available");
        // a negative value that rounds to zero has no sign; other negatives keep theirs
        assert_eq!(num(Some(-0.0004), 2), "0.00");
        assert_eq!(num(Some(-0.0), 1), "0.0");
        assert_eq!(num(Some(-0.006), 2), "-0.01");
        assert_eq!(pct(Some(-0.0001)), "0.0%");
        assert_eq!(money(Some(-0.001)), "0.00");
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }

    #[test]
    fn table_headers_are_scoped() {
        let t = table("c", &["provider", "n"], vec![vec!["P1".into(), "3".into()]], vec![]);
        assert!(t.contains("<th scope=\"col\">provider</th>") && t.contains("<th scope=\"row\">P1</th>"));
    }
}
