//! The report's "Warnings and what they mean": the run's warnings grouped by code, each
//! group saying whether it may affect a payment, what it means and what to do (README
//! "Warnings").

use super::html::{esc, p};
use crate::stats::warning::{Warning, group};

/// The section's body.
pub fn warnings_html(warnings: &[Warning]) -> String {
    let groups = group(warnings);
    if groups.is_empty() {
        return p("The run raised no warnings.");
    }
    let affecting = groups.iter().filter(|g| g.consequence.affects_payment).count();
    let mut s = p(&format!(
        "{} warning(s) in {} group(s); {} group(s) may affect a payment. Each group says what it means and what to do.",
        warnings.len(),
        groups.len(),
        affecting
    ));
    for g in &groups {
        let c = g.consequence;
        let code = g.code.as_str();
        s.push_str(&format!(
            "<h3>{} (<code>{}</code>, {})</h3>\n",
            esc(&code.replace('_', " ")),
            esc(&code),
            g.warnings.len()
        ));
        s.push_str(&format!(
            "<p><strong>{}</strong> What it means: {}. What to do: {}.</p>\n",
            if c.affects_payment { "May affect a payment." } else { "Does not affect any payment." },
            esc(c.meaning),
            esc(c.action)
        ));
        s.push_str("<ul>\n");
        for e in g.entries() {
            s.push_str(&format!("<li>{}</li>\n", esc(&e)));
        }
        s.push_str("</ul>\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::warning::WarningCode;

    #[test]
    fn a_group_says_whether_it_affects_a_payment_and_lists_its_subjects() {
        let ws = vec![
            Warning::new(WarningCode::BaselineEquivalence, "P1 ...").about("P1", "g = -1.10"),
            Warning::new(WarningCode::BaselineEquivalence, "P2 ...").about("P2", "g = -0.97"),
            Warning::new(WarningCode::Partial, "went on past the limit"),
        ];
        let h = warnings_html(&ws);
        assert_eq!(h.matches("<h3>").count(), 2, "{h}");
        assert!(h.contains("baseline equivalence (<code>baseline_equivalence</code>, 2)"), "{h}");
        assert!(h.contains("<li>P1 (g = -1.10), P2 (g = -0.97)</li>"), "{h}");
        assert!(h.contains("Does not affect any payment.") && h.contains("May affect a payment."), "{h}");
        assert!(warnings_html(&[]).contains("no warnings"));
    }
}
