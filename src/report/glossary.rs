//! The glossary of the report's appendix: the README's "Glossary", word for word (a test
//! compares the two, so there is one wording).

use super::html::esc;

/// (term, plain-language meaning), in the README's order.
pub const GLOSSARY: &[(&str, &str)] = &[
    (
        "Business as usual",
        "how much students like the provider's grow without tutoring, from the district's own history (or the comparison group at settlement). A target at or below it pays a provider for growth that would have happened anyway.",
    ),
    (
        "CGI (conditional growth index)",
        "how far a student's growth is above or below the typical growth of students who started at the same score in the same grade, in units of the spread of that growth. 0 is typical; +1 is one spread above.",
    ),
    (
        "CGP (conditional growth percentile)",
        "the CGI as a percentile: 50 is typical growth, 60 means the student grew more than 60% of like students.",
    ),
    (
        "SGP (student growth percentile)",
        "the percentile of a student's score among students with the same prior score(s), from quantile regression on the history (the method state accountability systems use). Read like the CGP.",
    ),
    (
        "Percent of typical growth",
        "growth divided by the norm's expected growth for a student with that start score, times 100.",
    ),
    (
        "Rostered, served, counted",
        "rostered students are on a provider's roster; served students also enrolled in time and met the dosage rule; counted students are served and have both tests. Only counted students enter a provider's metric. Every other student is listed with the first rule they failed.",
    ),
    (
        "Comparison group",
        "students not tutored, in the same grades and subject; used for the metrics \"vs comparison\" and the effect size.",
    ),
    (
        "Effect size",
        "the gap between tutored and comparison students after adjusting for the pre-test, in standard deviations of the post-test (WWC's Hedges' g).",
    ),
    ("Tier", "one threshold of the contract; the tier reached is the highest one met."),
    (
        "Lower-bound rule",
        "a tier is met only when the whole interval is above it, so chance alone rarely pays; \"inconclusive\" means the interval straddles the threshold.",
    ),
    (
        "Interval (e.g. 90%)",
        "the range the provider's true metric lies in with that confidence, given the students it served.",
    ),
    (
        "Cluster",
        "a group of students who share something that moves their results together (a tutor, a school). With few clusters, intervals must be wider (\"Which standard errors?\").",
    ),
    (
        "Cap",
        "the most a provider can be paid. When base + outcome - penalty is above it, the cap binds: the payment is cut to the cap, and the outputs say so (`cap_binding`, `cap_cut` in `providers.csv`).",
    ),
    (
        "Attrition",
        "the share of rostered students who are not counted. A provider's own rate is its rostered students not counted divided by its rostered students; the comparison group's rate is the same for untutored students; the overall rate (WWC) pools both; the differential is the gap between the provider's and the comparison group's rates. High attrition means the counted students may not represent the roster.",
    ),
    (
        "Baseline equivalence",
        "how close a provider's counted students were to the comparison group before tutoring, as the pre-test gap in SD (Hedges' g): within 0.05 is equivalent, 0.05 to 0.25 needs adjustment, over 0.25 is not equivalent (WWC). It matters for metrics against the comparison group, not for growth against norms.",
    ),
    (
        "OC curve (operating characteristic)",
        "for a threshold, the chance a provider of a given size and true effect meets it. A good threshold is rarely met with no effect and usually met with a real one.",
    ),
    ("Midpoint review", "a projection from an interim test (`--as-of`); nothing is payable."),
    (
        "Excluded / invalid rows",
        "excluded rows are fine but left out by the contract's rules (another test window, a retest not chosen); invalid rows have bad data. Both are listed in `exceptions.csv`.",
    ),
    (
        "Restricted output",
        "a file with student identifiers, to be shared only under the data-sharing agreement; public outputs never show a number about fewer than `min_cell` students.",
    ),
];

/// The glossary as an HTML definition list.
pub fn glossary_html() -> String {
    let mut s = String::from("<p>Plain-language meanings of the words this report uses.</p>\n<dl>\n");
    for (term, meaning) in GLOSSARY {
        s.push_str(&format!("<dt><strong>{}</strong></dt>\n<dd>{}</dd>\n", esc(term), code_spans(meaning)));
    }
    s.push_str("</dl>\n");
    s
}

/// Escaped text with the README's `code` spans as `<code>`.
fn code_spans(text: &str) -> String {
    esc(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { format!("<code>{part}</code>") } else { part.to_string() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's glossary entries, each joined onto one line.
    fn readme_glossary() -> Vec<(String, String)> {
        let readme = include_str!("../../README.md");
        let start = readme.find("\n## Glossary\n").expect("README has a Glossary section");
        let rest = &readme[start + 1..];
        let section = &rest[..rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3)];
        let mut out: Vec<(String, String)> = Vec::new();
        for line in section.lines() {
            if let Some(item) = line.strip_prefix("- **") {
                let (term, meaning) = item.split_once("**: ").expect("an entry is - **term**: meaning");
                out.push((term.to_string(), meaning.to_string()));
            } else if line.starts_with("  ")
                && let Some(last) = out.last_mut()
            {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        }
        out
    }

    #[test]
    fn the_report_glossary_is_the_readme_glossary_word_for_word() {
        let readme = readme_glossary();
        let ours: Vec<(String, String)> = GLOSSARY.iter().map(|(t, m)| (t.to_string(), m.to_string())).collect();
        assert_eq!(ours, readme);
        for term in [
            "CGI",
            "CGP",
            "SGP",
            "Percent of typical growth",
            "OC curve",
            "Business as usual",
            "Lower-bound rule",
            "Tier",
            "Rostered, served, counted",
            "Attrition",
            "Baseline equivalence",
            "Cap",
        ] {
            assert!(GLOSSARY.iter().any(|(t, _)| t.starts_with(term)), "{term} is not in the glossary");
        }
    }

    #[test]
    fn code_spans_become_code_elements() {
        assert_eq!(code_spans("see `cap_cut` & more"), "see <code>cap_cut</code> &amp; more");
    }
}
