//! The target-setting report's "Population" section: which history students stood in for a
//! provider's students, what they look like against the whole history and against the
//! students the district plans to serve (effective size, balance table), and the
//! calibration study's evidence for that population (docs/methods.md 10.1 and 10.5).

use super::html::{Cell, num, p, pct, table};
use crate::contract::baseline::{Baseline, Served};
use crate::contract::calibration::population_name;
use crate::contract::population::BALANCE_LIMIT;
use crate::contract::terms::PopulationKind;

/// The section's body.
pub(super) fn population_section(b: &Baseline) -> String {
    let pop = &b.population;
    let mut body = p(&describe(b));
    if let Some(c) = &b.calibration {
        body.push_str(&p(c));
    }
    body.push_str(&cohort(b));
    if let Some(c) = &b.comparison {
        body.push_str(&p(&format!(
            "The metric is measured against a concurrent comparison group: the OC curves assume {} comparison students meeting the outcome as often as the {} eligible history students did ({}), drawn afresh in every replicate; a shift of the whole cohort moves both shares alike and cancels.",
            c.size,
            c.history_students,
            pct(Some(c.share))
        )));
    }
    if !pop.balance.is_empty() {
        let served = pop.balance.iter().any(|r| r.served.is_some() || r.suppressed.is_some()) && pop.served.is_some();
        let mut head = vec!["covariate", "all eligible history", "population"];
        if served {
            head.extend(["planned students", "standardised difference"]);
        }
        let rows = pop
            .balance
            .iter()
            .map(|r| {
                let value = |x: Option<f64>| -> Cell {
                    match (r.suppressed, r.covariate.starts_with("pre-test")) {
                        (Some(s), _) => s.as_str().to_string().into(),
                        (None, true) => num(x, 2).into(),
                        (None, false) => pct(x).into(),
                    }
                };
                let mut row = vec![r.covariate.clone().into(), value(r.history), value(r.population)];
                if served {
                    row.push(value(r.served));
                    row.push(if r.suppressed.is_some() { value(None) } else { num(r.std_diff, 2).into() });
                }
                row
            })
            .collect();
        let caption = if served {
            format!(
                "Balance: the population (weighted) against the planned students; a standardised difference over {BALANCE_LIMIT} in size is poor balance"
            )
        } else {
            "The population against all eligible history students".to_string()
        };
        body.push_str(&table(&caption, &head, rows, vec![]));
    }
    body
}

/// The between-year variation of business as usual, when the history holds several years.
fn cohort(b: &Baseline) -> String {
    let Some(c) = &b.cohort else { return String::new() };
    let mut s = p(&format!(
        "Business as usual varies between history years beyond sampling error by an SD of {} (DerSimonian-Laird τ² = {}, Q = {} on {} df, I² = {}): the OC curves add a cohort shift of that SD to every replicate, since the cohort a provider serves is one more year.",
        num(Some(c.tau), 3),
        num(Some(c.tau2), 5),
        num(Some(c.q), 2),
        c.df,
        pct(Some(c.i2))
    ));
    let rows = c
        .years
        .iter()
        .map(|y| {
            vec![
                y.school_year.clone().into(),
                y.students.to_string().into(),
                num(Some(y.level), 3).into(),
                num(Some(y.se), 3).into(),
            ]
        })
        .collect();
    s.push_str(&table("Business as usual by history year", &["school year", "students", "level", "SE"], rows, vec![]));
    s
}

/// The population in words.
fn describe(b: &Baseline) -> String {
    let pop = &b.population;
    let ess = pop.effective_size.map_or_else(String::new, |e| format!(" (effective size {e:.0})"));
    let who = match (pop.kind, &pop.served) {
        (PopulationKind::All, _) => "every history student with both tests".to_string(),
        (PopulationKind::LikePre, _) => format!(
            "history students whose pre-test is at or below the {} percentile of their grade",
            num(pop.max_pre_percentile, 0)
        ),
        (PopulationKind::LikeServed, Some(Served::Rules { grades, pre_percentile, groups })) => {
            let mut rules = Vec::new();
            if let Some(g) = grades {
                rules.push(format!("grades {}", g.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")));
            }
            if let Some([lo, hi]) = pre_percentile {
                rules.push(format!("pre-test between the {lo} and {hi} percentiles of their grade"));
            }
            for (g, v) in groups {
                rules.push(format!("{g} {}", v.join(" or ")));
            }
            format!("history students the district's rules would serve ({})", rules.join("; "))
        }
        (
            PopulationKind::LikeServed,
            Some(Served::Roster { file, planned, matched, match_groups, pre_bins, max_weight, .. }),
        ) => {
            let on = if match_groups.is_empty() { String::new() } else { format!(" and {}", match_groups.join(", ")) };
            format!(
                "history students reweighted (raking) to the {matched} of {planned} planned students in {file} that have like history students, on grade × pre-score bin ({pre_bins} bins per grade){on}; the largest weight is {max_weight:.1} times the mean"
            )
        }
        (PopulationKind::LikeServed, None) => "history students like those served".to_string(),
    };
    format!(
        "Population ({}): {who}. {} of {} history students stand in for a provider's students{ess}.",
        population_name(pop.kind),
        pop.target_students,
        pop.history_students
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::results::{BalanceRow, CohortVariation, CohortYear};

    #[test]
    fn the_section_names_the_population_and_shows_balance() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/report/baseline_v2.json")).unwrap();
        let mut b = crate::report::read::baseline(&v).unwrap().baseline;
        let text = population_section(&b);
        assert!(text.contains("Population (all): every history student with both tests"), "{text}");
        b.population.kind = PopulationKind::LikeServed;
        b.population.served = Some(Served::Roster {
            file: "planned.csv".into(),
            planned: 120,
            matched: 118,
            match_groups: vec!["low_income".into()],
            pre_bins: 5,
            iterations: 4,
            converged: true,
            max_weight: 3.25,
        });
        b.population.balance = vec![BalanceRow {
            covariate: "low_income = Y".into(),
            history: Some(0.4),
            population: Some(0.7),
            served: Some(0.7),
            std_diff: Some(0.0),
            suppressed: None,
        }];
        b.calibration = Some("In 100 simulated districts ...".into());
        b.cohort = Some(CohortVariation {
            years: vec![
                CohortYear { school_year: "2023-24".into(), students: 900, level: 0.47, se: 0.017 },
                CohortYear { school_year: "2024-25".into(), students: 950, level: 0.53, se: 0.016 },
            ],
            tau2: 0.0013,
            tau: 0.036,
            mean: 0.5,
            q: 6.6,
            df: 1,
            i2: 0.85,
        });
        let text = population_section(&b);
        assert!(text.contains("the 118 of 120 planned students in planned.csv"), "{text}");
        assert!(text.contains("<td>70.0%</td>") && text.contains("In 100 simulated districts"), "{text}");
        assert!(
            text.contains("by an SD of 0.036")
                && text.contains("<th scope=\"row\">2023-24</th><td>900</td><td>0.470</td>"),
            "{text}"
        );
    }
}
