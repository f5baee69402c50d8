//! The public CSV tables of a settlement, shaped from the (already suppressed) settlement:
//! `providers.csv`, `groups.csv` and, at a midpoint review, `dosage.csv` (README "Settling
//! a contract"); and of a baseline, `oc.csv` and `cost.csv` (README "Setting targets").
//! Pure: the commands write them.

use crate::contract::baseline::Baseline;
use crate::contract::cost::CostCell;
use crate::contract::midpoint::Midpoint;
use crate::contract::results::MidpointReport;
use crate::contract::settle::{self, Rule, Settlement, Student};
use crate::contract::terms::{Contract, InferenceMethod};
use crate::data::table::{Column, Table};

/// `dosage.csv` of a midpoint review.
pub fn dosage(m: &Midpoint, students: &[Student]) -> Table {
    let rows = m.dosage(students);
    let mut t = Table::new();
    t.push("provider", text(rows.iter().map(|r| Some(r.provider.clone()))));
    t.push("rostered", int(rows.iter().map(|r| r.rostered)));
    t.push("sessions_attended", int(rows.iter().map(|r| r.attended)));
    t.push("meeting_prorated_dosage_rule", int(rows.iter().map(|r| r.meeting_dosage_rule)));
    t.push("mean_sessions_per_student", float(rows.iter().map(|r| Some(r.mean))));
    t.push("contracted_to_date_per_student", float(rows.iter().map(|r| r.contracted_to_date)));
    t.push("delivered_share_of_contracted", float(rows.iter().map(|r| r.share)));
    t
}

fn text(v: impl IntoIterator<Item = Option<String>>) -> Column {
    Column::Text(v.into_iter().collect())
}

fn float(v: impl IntoIterator<Item = Option<f64>>) -> Column {
    Column::Float(v.into_iter().collect())
}

fn int(v: impl IntoIterator<Item = u64>) -> Column {
    Column::Int(v.into_iter().map(|x| Some(x as i64)).collect())
}

/// `providers.csv`: one row per provider. At a midpoint review (`midpoint`), a first column
/// `review` says the row is a projection and nothing is payable, and every outcome column
/// (metric, interval, decisions, tier, payment) is named `projected_...`; when no interim
/// test is available yet those columns are left empty. Without a review the table is the
/// settlement's.
pub fn providers(contract: &Contract, s: &Settlement, midpoint: Option<&MidpointReport>) -> Table {
    let p = &s.providers;
    let mut t = Table::new();
    let projected = |name: &str| if midpoint.is_some() { format!("projected_{name}") } else { name.to_string() };
    // outcome columns are left empty when outcomes cannot be projected yet
    let blank = midpoint.is_some_and(|m| m.projection_not_possible.is_some());
    if let Some(m) = midpoint {
        let note = review_note(m, blank);
        t.push("review", text(p.iter().map(|_| Some(note.clone()))));
    }
    t.push("provider", text(p.iter().map(|r| Some(r.provider.clone()))));
    t.push("rostered", int(p.iter().map(|r| r.counts.rostered)));
    t.push("served", int(p.iter().map(|r| r.counts.served)));
    t.push("counted", int(p.iter().map(|r| r.counts.counted)));
    for rule in Rule::ALL {
        t.push(
            &format!("excluded_{}", rule.as_str()),
            int(p.iter().map(|r| r.excluded.get(&rule).copied().unwrap_or(0))),
        );
    }
    fn shown(r: &settle::ProviderResult) -> Option<&settle::Estimate> {
        if r.suppressed { None } else { r.estimate.as_ref() }
    }
    let outcome = |v: Option<f64>| v.filter(|_| !blank);
    t.push("met_outcome", Column::Int(p.iter().map(|r| r.counts.met.map(|v| v as i64)).collect()));
    t.push("regressed", Column::Int(p.iter().map(|r| r.counts.regressed.map(|v| v as i64)).collect()));
    t.push(&projected("metric"), float(p.iter().map(|r| outcome(shown(r).map(|e| e.point)))));
    t.push(&projected("ci_low"), float(p.iter().map(|r| outcome(shown(r).and_then(|e| e.low)))));
    t.push(&projected("ci_high"), float(p.iter().map(|r| outcome(shown(r).and_then(|e| e.high)))));
    t.push("level", float(p.iter().map(|_| Some(contract.decision.level))));
    // the bootstrap's interval method, or the cluster-robust method
    let interval = |e: &settle::Estimate| match e.inference {
        InferenceMethod::Bootstrap => e.method.as_str(),
        m => m.as_str(),
    };
    t.push("interval", text(p.iter().map(|r| r.estimate.as_ref().map(|e| interval(e).to_string()))));
    t.push(
        "note",
        text(p.iter().map(|r| {
            if blank {
                midpoint.and_then(|m| m.projection_not_possible.clone())
            } else if r.suppressed {
                Some(format!("metric suppressed: fewer than {} counted students", contract.reporting.min_cell))
            } else {
                r.no_estimate.as_ref().map(ToString::to_string)
            }
        })),
    );
    // snake_case identifiers by position (`decision_tier_1`), the tier's name and value in
    // their own columns
    for (k, th) in contract.thresholds.iter().enumerate() {
        let name = if th.name.is_empty() { format!("tier {}", k + 1) } else { th.name.clone() };
        let tier = format!("tier_{}", k + 1);
        t.push(&format!("{tier}_name"), text(p.iter().map(|_| Some(name.clone()))));
        t.push(&format!("{tier}_value"), float(p.iter().map(|_| Some(th.value))));
        t.push(
            &projected(&format!("decision_{tier}")),
            text(p.iter().map(|r| Some(r.tiers[k].verdict.as_str().to_string()).filter(|_| !blank))),
        );
        if midpoint.is_some() {
            t.push(
                &format!("projected_chance_of_meeting_{tier}"),
                float(p.iter().map(|r| outcome(r.tiers[k].p_at_least).filter(|_| !r.suppressed))),
            );
        }
    }
    t.push(&projected("tier_reached"), text(p.iter().map(|r| r.tier_reached.clone().filter(|_| !blank))));
    t.push(&projected("base"), float(p.iter().map(|r| outcome(Some(r.payment.base)))));
    // each rate line's students and amount (rate cards only; docs/contracts.md section 16)
    for k in 0..p.iter().map(|r| r.payment.lines.len()).max().unwrap_or(0) {
        let line = |r: &settle::ProviderResult| r.payment.lines.get(k).cloned();
        let col = |what: &str| projected(&format!("rate_{}_{what}", k + 1));
        t.push(&col("name"), text(p.iter().map(|r| line(r).map(|l| l.name))));
        t.push(
            &col("students"),
            Column::Int(
                p.iter().map(|r| line(r).and_then(|l| l.students).map(|v| v as i64).filter(|_| !blank)).collect(),
            ),
        );
        t.push(&col("amount"), float(p.iter().map(|r| outcome(line(r).and_then(|l| l.amount)))));
    }
    if contract.payment.student_cap.is_some() {
        t.push(&projected("student_cap_cut"), float(p.iter().map(|r| outcome(Some(r.payment.student_cap_cut)))));
    }
    t.push(&projected("outcome_payment"), float(p.iter().map(|r| outcome(Some(r.payment.outcome)))));
    t.push(&projected("penalty"), float(p.iter().map(|r| outcome(Some(r.payment.penalty)))));
    t.push(&projected("before_cap"), float(p.iter().map(|r| outcome(Some(r.payment.before_cap)))));
    t.push(
        &projected("cap_binding"),
        Column::Bool(p.iter().map(|r| Some(r.payment.cap_cut().is_some()).filter(|_| !blank)).collect()),
    );
    t.push(&projected("cap_cut"), float(p.iter().map(|r| outcome(Some(r.payment.cap_cut().unwrap_or(0.0))))));
    t.push(&projected("payable"), float(p.iter().map(|r| outcome(Some(r.payment.payable)))));
    // the expected payment under test error (docs/methods.md 9.9), or why there is none
    let exp = |r: &settle::ProviderResult| r.payment.expected.clone();
    t.push(&projected("expected_payable"), float(p.iter().map(|r| outcome(exp(r).map(|e| e.payable)))));
    t.push(&projected("expected_low"), float(p.iter().map(|r| outcome(exp(r).map(|e| e.low)))));
    t.push(&projected("expected_high"), float(p.iter().map(|r| outcome(exp(r).map(|e| e.high)))));
    t.push(
        "expected_note",
        text(p.iter().map(|r| match (&r.payment.no_expected, r.payment.settled_on_expected) {
            (Some(why), _) => Some(why.to_string()),
            (None, true) => Some("settled on the expected payment".into()),
            (None, false) => None,
        })),
    );
    t.push(&projected("arithmetic"), text(p.iter().map(|r| Some(r.payment.arithmetic.join("; ")).filter(|_| !blank))));
    t
}

/// `groups.csv`: the equity table with suppression. At a midpoint review (`midpoint`) it is
/// marked as `providers.csv` is: a first column `review`, and the metric and its interval named
/// `projected_...` (left empty when no interim test is available yet).
pub fn groups(s: &Settlement, midpoint: Option<&MidpointReport>) -> Table {
    let g = &s.groups;
    let mut t = Table::new();
    let projected = |name: &str| if midpoint.is_some() { format!("projected_{name}") } else { name.to_string() };
    let blank = midpoint.is_some_and(|m| m.projection_not_possible.is_some());
    let outcome = |v: Option<f64>| v.filter(|_| !blank);
    if let Some(m) = midpoint {
        let note = review_note(m, blank);
        t.push("review", text(g.iter().map(|_| Some(note.clone()))));
    }
    t.push("provider", text(g.iter().map(|c| Some(c.provider.clone()))));
    t.push("group", text(g.iter().map(|c| Some(c.group.clone()))));
    t.push("value", text(g.iter().map(|c| Some(c.value.clone()))));
    t.push("counted", Column::Int(g.iter().map(|c| c.counted.map(|v| v as i64)).collect()));
    t.push("met_outcome", Column::Int(g.iter().map(|c| c.met.filter(|_| !blank).map(|v| v as i64)).collect()));
    t.push(&projected("metric"), float(g.iter().map(|c| outcome(c.metric))));
    t.push(&projected("ci_low"), float(g.iter().map(|c| outcome(c.low))));
    t.push(&projected("ci_high"), float(g.iter().map(|c| outcome(c.high))));
    t.push("suppressed", text(g.iter().map(|c| c.suppressed.map(|s| s.as_str().to_string()))));
    t
}

/// `vendor_agreement.csv`: obc's CGP/CGI against the vendor's per provider, cells of fewer
/// than `reporting.min_cell` students with no number (README "Vendor growth measures").
pub fn vendor_agreement(s: &Settlement) -> Table {
    let a = &s.vendor_agreement;
    let mut t = Table::new();
    t.push("provider", text(a.iter().map(|r| Some(r.provider.clone()))));
    t.push("measure", text(a.iter().map(|r| Some(r.measure.clone()))));
    t.push("n", Column::Int(a.iter().map(|r| r.n.map(|v| v as i64)).collect()));
    t.push("correlation", float(a.iter().map(|r| r.correlation)));
    t.push("mean_difference_obc_minus_vendor", float(a.iter().map(|r| r.mean_difference)));
    t.push("threshold", float(a.iter().map(|r| r.threshold)));
    t.push("disagree_share", float(a.iter().map(|r| r.disagree_share)));
    t.push("suppressed", text(a.iter().map(|r| r.suppressed.clone())));
    t
}

/// The `review` cell of the public tables at a midpoint review.
fn review_note(m: &MidpointReport, blank: bool) -> String {
    if blank {
        format!(
            "midpoint review as of {}: dosage only, outcome projection not yet possible; nothing is payable",
            m.as_of
        )
    } else {
        format!("midpoint review as of {}: projection, nothing is payable", m.as_of)
    }
}

/// `oc.csv`: one row per (effect, provider size, threshold); `tier` and `tier_name` name the
/// contract's tier at that threshold (empty for the other thresholds of the grid).
pub fn oc(b: &Baseline) -> Table {
    let c = &b.cells;
    let tier_of = |th: f64| b.tiers.iter().find(|t| t.threshold == th);
    let mut t = Table::new();
    t.push("effect_sd", Column::Float(c.iter().map(|x| Some(x.effect)).collect()));
    t.push("provider_size", Column::Int(c.iter().map(|x| Some(x.n as i64)).collect()));
    t.push("threshold", Column::Float(c.iter().map(|x| Some(x.threshold)).collect()));
    t.push("tier", Column::Int(c.iter().map(|x| tier_of(x.threshold).map(|t| t.tier as i64)).collect()));
    t.push("tier_name", Column::Text(c.iter().map(|x| tier_of(x.threshold).map(|t| t.name.clone())).collect()));
    t.push("p_met", Column::Float(c.iter().map(|x| Some(x.p_met)).collect()));
    t.push("mc_se", Column::Float(c.iter().map(|x| Some(x.mc_se)).collect()));
    t
}

/// `cost.csv`: one row per (provider size, effect): the distribution of a provider's total
/// payment under the contract's card (docs/methods.md 10.7).
pub fn cost(b: &Baseline) -> Table {
    let c: &[CostCell] = b.cost.as_ref().map_or(&[], |c| &c.cells);
    let col = |f: fn(&CostCell) -> f64| Column::Float(c.iter().map(|x| Some(f(x))).collect());
    let mut t = Table::new();
    t.push("provider_size", Column::Int(c.iter().map(|x| Some(x.n as i64)).collect()));
    t.push("effect_sd", col(|x| x.effect));
    t.push("mean", col(|x| x.mean));
    t.push("p10", col(|x| x.p10));
    t.push("p90", col(|x| x.p90));
    t.push("p_cap_binds", col(|x| x.p_cap_binds));
    t.push("mean_per_student", col(|x| x.mean_per_student));
    t.push("mc_se", col(|x| x.mc_se));
    t
}
