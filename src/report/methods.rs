//! The methods appendix, generated from the contract as parsed (`manifest.spec`): every
//! rule and parameter in plain words, section by section in the order of the contract
//! file, then every setting as a key = value table so nothing is left out. Sections the
//! report does not know (a newer contract field) are printed generically, never refused.

use serde_json::Value;

use super::html::{Cell, esc, p, table};
use crate::contract::terms::{Metric, MetricKind, Outcome};

/// The references cited by the appendix.
pub const REFERENCES: [&str; 8] = [
    "Betebenner, D. W. (2009). Norm- and criterion-referenced student growth. Educational Measurement: Issues and Practice, 28(4), 42-51.",
    "Efron, B. (1987). Better bootstrap confidence intervals. Journal of the American Statistical Association, 82(397), 171-185.",
    "Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.",
    "Koenker, R., & Bassett, G. (1978). Regression quantiles. Econometrica, 46(1), 33-50.",
    "Kraft, M. A. (2020). Interpreting effect sizes of education interventions. Educational Researcher, 49(4), 241-253.",
    "Nickow, A., Oreopoulos, P., & Quan, V. (2020). The impressive effects of tutoring on preK-12 learning: a systematic review and meta-analysis of the experimental evidence. NBER Working Paper 27476.",
    "What Works Clearinghouse (2022). Procedures and Standards Handbook, Version 5.0. U.S. Department of Education, Institute of Education Sciences.",
    "Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related estimators. Journal of Educational Statistics, 6(2), 107-128.",
];

/// The contract sections in file order with their headings.
const KNOWN: [(&str, &str); 17] = [
    ("contract", "What the contract covers"),
    ("files", "Input files"),
    ("columns", "Column names"),
    ("tests", "Which tests count as pre- and post-tests"),
    ("eligibility", "Who counts"),
    ("ids", "Student identifiers"),
    ("reporting", "Reporting and small cells"),
    ("history", "History windows"),
    ("outcome", "The outcome for each student"),
    ("norms", "Growth norms"),
    ("metric", "The provider metric"),
    ("decision", "The decision rule"),
    ("thresholds", "Thresholds (tiers)"),
    ("payment", "Payment"),
    ("inference", "Uncertainty"),
    ("baseline", "Target setting (obc baseline)"),
    ("midpoint", "Midpoint review"),
];

/// A JSON value in words: strings bare, lists joined, objects as `k = v`.
pub fn words(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => a.iter().map(words).collect::<Vec<_>>().join(", "),
        Value::Object(o) if o.is_empty() => "none".into(),
        Value::Object(o) => o.iter().map(|(k, v)| format!("{k} = {}", words(v))).collect::<Vec<_>>().join("; "),
    }
}

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur.get(k)?;
    }
    (!cur.is_null()).then_some(cur)
}

fn w(v: &Value, path: &str, default: &str) -> String {
    get(v, path).map_or_else(|| default.to_string(), words)
}

fn window(v: Option<&Value>) -> String {
    let Some(v) = v else { return "not set".into() };
    let mut parts = Vec::new();
    if let Some(l) = v.get("window").and_then(Value::as_str) {
        parts.push(format!("window labelled \"{l}\""));
    }
    if let Some(y) = v.get("school_year").and_then(Value::as_str) {
        parts.push(format!("school year {y}"));
    }
    match (v.get("from").and_then(Value::as_str), v.get("to").and_then(Value::as_str)) {
        (Some(a), Some(b)) => parts.push(format!("dated {a} to {b}")),
        (Some(a), None) => parts.push(format!("dated on or after {a}")),
        (None, Some(b)) => parts.push(format!("dated on or before {b}")),
        _ => {}
    }
    if parts.is_empty() { words(v) } else { parts.join(", ") }
}

fn breaks(v: Option<&Value>) -> String {
    let list: Vec<String> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|b| match (b.get("from").and_then(Value::as_str), b.get("to").and_then(Value::as_str)) {
            (Some(a), Some(z)) => format!("{a} to {z}"),
            _ => words(b),
        })
        .collect();
    if list.is_empty() { "none".into() } else { list.join(", ") }
}

/// The paragraphs (HTML) describing contract section `key` with value `s`; `spec` is the
/// whole contract, for sections that refer to another (the norms name the history file).
fn section_text(key: &str, s: &Value, spec: &Value) -> String {
    let paragraphs = match key {
        "contract" => vec![contract_text(s)],
        "files" => vec![files_text(s)],
        "columns" => vec![columns_text(s)],
        "tests" => vec![tests_text(s), breaks_text(s)],
        "eligibility" => vec![eligibility_text(s)],
        "ids" => vec![ids_text(s)],
        "reporting" => vec![reporting_text(s)],
        "history" => vec![history_text(s)],
        "outcome" => vec![outcome_text(s)],
        "norms" => vec![norms_text(s, spec)],
        "metric" => vec![metric_text(s)],
        "decision" => vec![decision_text(s)],
        "thresholds" => vec![thresholds_text(s)],
        "payment" => vec![payment_text(s)],
        "inference" => vec![inference_text(s)],
        "baseline" => vec![baseline_text(s)],
        "midpoint" => vec![midpoint_text(s)],
        _ => vec![format!("Settings: {}.", words(s))],
    };
    paragraphs.iter().map(|t| p(t)).collect()
}

/// `[contract]`: name, subject, grades and providers.
fn contract_text(s: &Value) -> String {
    format!(
        "Contract \"{}\", subject {}. Grades: {}. Providers: {}.",
        w(s, "name", "(unnamed)"),
        w(s, "subject", "not set"),
        w(s, "grades", "all grades in the roster"),
        w(s, "providers", "every provider ID in the roster")
    )
}

/// `[files]`: the files read.
fn files_text(s: &Value) -> String {
    format!(
        "Files read (paths relative to the contract file): {}. The manifest below gives each file's SHA-256 and row counts.",
        words(s)
    )
}

/// `[columns]`: each mapped field and the district column it is read from.
fn columns_text(s: &Value) -> String {
    let mapped: Vec<String> = s
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(file, m)| {
            m.as_object()
                .into_iter()
                .flatten()
                .map(move |(field, col)| format!("{file}.{field} is read from column \"{}\"", words(col)))
        })
        .collect();
    if mapped.is_empty() {
        "No column mapping: every field is found by its own name, case-insensitively.".into()
    } else {
        format!("{}. Other fields are found by their own name.", mapped.join("; "))
    }
}

/// `[tests]`: the pre- and post-test windows, the retest rule and invalid tests.
fn tests_text(s: &Value) -> String {
    let retest = match get(s, "retest").and_then(Value::as_str) {
        Some("min_sem_then_latest") | None => {
            "the one with the smallest standard error of measurement, then the latest".into()
        }
        Some("latest") => "the latest".into(),
        Some("earliest") => "the earliest".into(),
        Some(other) => format!("by the rule \"{other}\""),
    };
    format!(
        "Pre-test: {}. Post-test: {}. When a student has several tests in a window, the one used is {retest}. {}",
        window(get(s, "pre")),
        window(get(s, "post")),
        if get(s, "require_valid").and_then(Value::as_bool).unwrap_or(true) {
            "Tests flagged invalid are not used."
        } else {
            "Tests flagged invalid are used."
        }
    )
}

/// `[tests]` breaks: the dates left out of instructional weeks.
fn breaks_text(s: &Value) -> String {
    format!(
        "Breaks left out of instructional weeks (growth is measured per instructional week): {}.",
        breaks(get(s, "breaks"))
    )
}

/// `[eligibility]`: who counts for a provider.
fn eligibility_text(s: &Value) -> String {
    format!(
        "A tutored student counts for the provider when enrolled (enroll_date, or the first session without one) on or before {}, attended at least {} sessions{}, and has a usable pre-test and post-test. Comparison students (no provider) have no dosage rule. Students not counted are shown in the flow section with the first rule they failed, in the order: no pre-test, enrolment, dosage, no post-test, no norm.",
        w(s, "enrolled_by", "any date (no enrolment rule)"),
        w(s, "min_sessions", "0"),
        match get(s, "min_minutes").and_then(Value::as_f64) {
            Some(m) if m > 0.0 => format!(" and at least {m} minutes"),
            _ => " (no minimum of minutes)".to_string(),
        }
    )
}

/// `[ids]`: how student IDs are compared.
fn ids_text(s: &Value) -> String {
    match get(s, "pad_width") {
        Some(n) => format!(
            "All-digit student IDs are left-padded with zeros to {} characters in every file (repairs lost leading zeros). IDs are otherwise compared as text.",
            words(n)
        ),
        None => "Student IDs are compared as text, exactly as written (00123 and 123 are different students).".into(),
    }
}

/// `[reporting]`: equity groups, small-cell suppression and the attrition boundary.
fn reporting_text(s: &Value) -> String {
    format!(
        "Equity groups reported: {}. Public tables suppress any cell with fewer than {} students (min_cell), and a second cell where needed so a suppressed cell cannot be recovered by subtraction (complementary suppression). Attrition is rated against the WWC {} boundary.",
        w(s, "groups", "none"),
        w(s, "min_cell", "10"),
        w(s, "attrition_boundary", "cautious")
    )
}

/// `[history]`: the prior year's test windows and breaks.
fn history_text(s: &Value) -> String {
    format!(
        "Prior-year (history) tests: pre {}; post {}; breaks {}. Unset windows use the current contract's window labels.",
        window(get(s, "pre")),
        window(get(s, "post")),
        breaks(get(s, "breaks"))
    )
}

/// `[outcome]`: when a counted student meets the outcome.
fn outcome_text(s: &Value) -> String {
    let text = serde_json::from_value::<Outcome>(s.clone()).map_or_else(|_| words(s), |o| o.describe());
    format!("A counted student meets the outcome with {text}.")
}

/// `[norms]`: how the growth norms are made (`spec` names the history file).
fn norms_text(s: &Value, spec: &Value) -> String {
    let method = get(s, "method").and_then(Value::as_str).unwrap_or("conditional");
    let history = get(spec, "files.history").map_or_else(|| "the history file".to_string(), words);
    match method {
        "conditional" => format!(
            "Conditional-normal norms fitted on {history} (the prior year) per subject and grade: expected growth is a spline in the start score and instructional weeks; the SD of growth is {} in the start score. A student's conditional growth index (CGI) is (growth − expected growth) / SD, and the conditional growth percentile (CGP) is its normal percentile. Groups with fewer than {} history students are not fitted.",
            match get(s, "sd_model").and_then(Value::as_str) {
                Some("linear_log") => "linear in the log",
                _ => "constant",
            },
            w(s, "min_n", "30")
        ),
        "sgp" => format!(
            "Student growth percentiles (Betebenner 2009) fitted on {history} per subject and grade by quantile regression (Koenker & Bassett 1978) of the post-test on a B-spline of the pre-test at the 1st to 99th percentiles. Groups with fewer than {} history students are not fitted. SGP norms give percentiles, not an expected growth in points.",
            w(s, "min_n", "1000")
        ),
        "file" => format!(
            "Norms read from the file {} (made by obc norms fit or obc norms import).",
            w(s, "file", "(not named)")
        ),
        other => format!("Norms method \"{other}\": {}.", words(s)),
    }
}

/// `[metric]`: the provider metric.
fn metric_text(s: &Value) -> String {
    let metric = serde_json::from_value::<Metric>(s.clone()).ok();
    let text = metric.as_ref().map_or_else(|| words(s), |m| m.kind.describe().into());
    let comparison = match metric.map(|m| m.kind) {
        Some(MetricKind::ShareMeetingVsComparison) => "its share meeting the outcome",
        _ => "the same metric",
    };
    format!(
        "Each provider's metric is the {text}, computed on the provider's counted students; the comparison group's value is {comparison} for untutored counted students."
    )
}

/// `[decision]`: the rule deciding each tier at the contract's level.
fn decision_text(s: &Value) -> String {
    let level = w(s, "level", "0.9");
    let rule = match get(s, "rule").and_then(Value::as_str) {
        Some("point") => format!(
            "a tier is met when the point estimate reaches its threshold (the {level} interval is reported but does not decide)"
        ),
        Some("probability") => format!(
            "a tier is met when the bootstrap probability that the metric is at least the threshold is at least {level}, not met when it is at most 1 − {level}, and inconclusive otherwise"
        ),
        Some("lower_bound") | None => format!(
            "a tier is met when the lower end of the two-sided {level} interval reaches its threshold, not met when the upper end is below it, and inconclusive when the interval contains it"
        ),
        Some(other) => format!("rule \"{other}\" at level {level}"),
    };
    format!("Decision rule: {rule}.")
}

/// `[[thresholds]]`: each tier's threshold and pool share.
fn thresholds_text(s: &Value) -> String {
    let tiers: Vec<String> = s
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| {
            let name = t.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
            let name = name.map_or_else(|| format!("tier {}", i + 1), str::to_string);
            let share =
                get(t, "pool_share").map_or(String::new(), |v| format!(", earning {} of the outcome pool", words(v)));
            format!("{name}: metric at least {}{share}", w(t, "value", "?"))
        })
        .collect();
    if tiers.is_empty() {
        "No thresholds.".into()
    } else {
        format!("{}. The tier reached is the highest tier met.", tiers.join("; "))
    }
}

/// `[payment]`: base, outcome payments, penalty, cap and the payable formula.
fn payment_text(s: &Value) -> String {
    let basis = match get(s, "base_basis").and_then(Value::as_str) {
        Some("rostered") => "rostered student",
        Some("counted") => "counted student",
        _ => "student served (enrolled in time and met the dosage rule, tested or not)",
    };
    format!(
        "Base: {} fixed plus {} per {basis}. Outcome: {} per counted student meeting the outcome{}; outcome pool {} plus {} per counted student, of which the highest tier met earns its pool share. Penalty: {} per counted student whose growth (post − pre) is below {} scale-score points. Cap: {}. Payable = min(cap, max(0, base + outcome − penalty)).",
        w(s, "base_fixed", "0"),
        w(s, "base_per_student", "0"),
        w(s, "outcome_per_student", "0"),
        if get(s, "per_student_requires_tier").and_then(Value::as_bool) == Some(true) {
            ", paid only if the first tier is met"
        } else {
            ""
        },
        w(s, "outcome_pool", "0"),
        w(s, "outcome_pool_per_student", "0"),
        w(s, "penalty_per_regressed", "0"),
        w(s, "regressed_below", "0"),
        w(s, "cap", "none")
    )
}

/// `[inference]`: bootstrap replicates, seed, resampling unit and interval method.
fn inference_text(s: &Value) -> String {
    let interval = match get(s, "interval").and_then(Value::as_str) {
        Some("bca") => "bias-corrected and accelerated (BCa; Efron 1987)",
        Some("basic") => "basic (reverse percentile)",
        Some("normal") => "normal (bootstrap standard error)",
        _ => "percentile",
    };
    let unit = match get(s, "cluster").and_then(Value::as_str) {
        Some("student") | None => "students".to_string(),
        Some(c) => format!("whole {c}s (students of the same {c} stay together)"),
    };
    let clusters = match get(s, "cluster").and_then(Value::as_str) {
        Some("student") | None => "each student its own cluster".to_string(),
        Some("tutor") => "clustered by tutor (a comparison student without a tutor is a cluster of their own)".into(),
        Some(c) => format!("clustered by {c}"),
    };
    let scale = "for the effect size divided by the pooled SD and multiplied by ω, both held fixed";
    match get(s, "method").and_then(Value::as_str) {
        Some("cr2") => format!(
            "Intervals are t intervals on the effect model's provider coefficient with the bias-reduced (CR2) cluster-robust standard error (Bell & McCaffrey 2002) and Satterthwaite degrees of freedom (Pustejovsky & Tipton 2018), {clusters}, over every student in the model; {scale}. The probability rule reads Student's t with those degrees of freedom."
        ),
        Some("cluster_t") => format!(
            "Intervals are t intervals on the provider's metric as a regression coefficient (its mean; for a share against the comparison group, the difference with the comparison group's students in the same model) with the bias-reduced (CR2) cluster-robust standard error (Bell & McCaffrey 2002) and Satterthwaite degrees of freedom (Pustejovsky & Tipton 2018), {clusters}. With clusters of equal size this is the t interval on the cluster means with one degree of freedom fewer than clusters. The probability rule reads Student's t with those degrees of freedom."
        ),
        Some("wild_cluster") => format!(
            "Intervals invert the wild cluster restricted bootstrap test (Cameron, Gelbach & Miller 2008) of the effect model's provider coefficient, {clusters}, with {} weights and {} replicates (all sign vectors when they are fewer) seeded from {} and the provider; {scale}. An end the test cannot bound is reported as unbounded and never meets a lower-bound rule. The same inputs and seed give identical results.",
            w(s, "weights", "rademacher"),
            w(s, "replicates", "2000"),
            w(s, "seed", "20251"),
        ),
        _ => format!(
            "Intervals come from {} bootstrap replicates (Efron & Tibshirani 1993) with seed {}, resampling {unit}, as {interval} intervals. The same inputs and seed give identical results.",
            w(s, "replicates", "2000"),
            w(s, "seed", "20251"),
        ),
    }
}

/// `[baseline]`: target setting by operating characteristic curves.
fn baseline_text(s: &Value) -> String {
    format!(
        "Target setting resamples history students as provider caseloads of sizes {} with true effects {} SD added, {} times each, and reports the chance each threshold is met (operating characteristic curves). The recommended threshold for a provider of {} students is the lowest at which a provider with no effect meets it at most {} of the time; power is reported at an effect of {} SD, and the minimum provider size is the smallest with power at least {}. Like-performing students: {}. Contract length: {}.",
        w(s, "sizes", "25, 50, 100, 200, 400"),
        w(s, "effects", "0, 0.1, 0.2, 0.3, 0.4"),
        w(s, "replicates", "1000"),
        w(s, "provider_size", "100"),
        w(s, "alpha", "0.1"),
        w(s, "power_effect", "0.2"),
        w(s, "power", "0.8"),
        get(s, "max_pre_percentile").map_or_else(
            || "all history students".to_string(),
            |v| format!("history students at or below the {} percentile of their grade's pre-test", words(v))
        ),
        get(s, "weeks").map_or_else(
            || "the median weeks between pre- and post-test in the history".to_string(),
            |v| format!("{} instructional weeks", words(v))
        )
    )
}

/// `[midpoint]`: the interim test, service period and contracted sessions of a midpoint review.
fn midpoint_text(s: &Value) -> String {
    format!(
        "For a midpoint review (obc check --as-of): interim test {}; contracted service period {} to {}; {} sessions contracted per student. Dosage rules are prorated to the share of the period elapsed, and growth to the interim test is projected to the planned post-test date.",
        window(get(s, "interim")),
        w(s, "service_start", "the first session"),
        w(s, "service_end", "the last session"),
        w(s, "contracted_sessions", "no number of")
    )
}

/// Flattens a JSON value to (dotted key, value in words) rows.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, x) in o {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, x, out);
            }
        }
        Value::Array(a) if a.iter().any(Value::is_object) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        _ => out.push((prefix.to_string(), words(v))),
    }
}

/// The appendix body (inside its section).
pub fn appendix(spec: &Value) -> String {
    let mut s = String::new();
    let Some(obj) = spec.as_object() else {
        return p("The contract as parsed is not in this file's manifest: no methods to describe.");
    };
    s.push_str(&p(
        "Generated from the contract as parsed (manifest.spec), in the order of the contract file. Each heading names its contract section.",
    ));
    for (key, heading) in KNOWN {
        if let Some(v) = obj.get(key) {
            s.push_str(&format!("<h3>{} (<code>[{key}]</code>)</h3>\n", esc(heading)));
            s.push_str(&section_text(key, v, spec));
        }
    }
    for (key, v) in obj.iter().filter(|(k, _)| !KNOWN.iter().any(|(n, _)| n == k)) {
        s.push_str(&format!("<h3>Other settings (<code>[{}]</code>)</h3>\n", esc(key)));
        s.push_str(&section_text(key, v, spec));
    }
    s.push_str("<h3>Statistical notes</h3>\n");
    s.push_str(&p(
        "Baseline equivalence (WWC Procedures and Standards Handbook v5.0): the difference in pre-test means between a provider's counted students and the comparison group, as Hedges' g (pooled SD with the small-sample correction); |g| ≤ 0.05 SD satisfies equivalence, 0.05 < |g| ≤ 0.25 SD requires statistical adjustment, and |g| > 0.25 SD does not satisfy it. Attrition: a provider's own attrition is the share of its rostered students not counted; the comparison group's is the same for untutored students; the WWC overall attrition pools the provider's students with the comparison group; differential attrition is the difference between the provider's and the comparison group's rates; overall and differential are rated together against the WWC boundary named above.",
    ));
    s.push_str(&p(
        "Effect sizes in SD units are compared with published tutoring effects (Nickow, Oreopoulos & Quan 2020; Kraft 2020 for interpreting effect sizes in education).",
    ));
    s.push_str("<details open>\n<summary>Every setting, as parsed</summary>\n");
    let mut rows = Vec::new();
    flatten("", spec, &mut rows);
    s.push_str(&table(
        "Every contract setting (key = value), including defaults the contract did not write",
        &["setting", "value"],
        rows.into_iter().map(|(k, v)| vec![Cell::from(k), Cell::from(v)]).collect(),
        vec![],
    ));
    s.push_str("</details>\n<h3>References</h3>\n<ul>\n");
    for r in REFERENCES {
        s.push_str(&format!("<li>{}</li>\n", esc(r)));
    }
    s.push_str("</ul>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sections_and_fields_are_printed_not_refused() {
        let spec = serde_json::json!({
            "outcome": { "kind": "cgp", "at_least": 40.0 },
            "metric": { "kind": "brand_new_metric" },
            "surprise": { "depth": { "x": 1 } }
        });
        let a = appendix(&spec);
        assert!(a.contains("conditional growth percentile (CGP) at least 40"), "{a}");
        assert!(a.contains("kind = brand_new_metric"), "{a}");
        assert!(a.contains("[surprise]") && a.contains("surprise.depth.x"), "{a}");
    }

    #[test]
    fn no_spec_is_said_in_words() {
        assert!(appendix(&Value::Null).contains("not in this file"));
    }

    #[test]
    fn every_known_section_has_its_own_text_even_with_every_key_left_out() {
        let spec = serde_json::json!({});
        for (key, _) in KNOWN {
            let text = section_text(key, &serde_json::json!({}), &spec);
            assert!(text.starts_with("<p>") && !text.contains("Settings:"), "{key}: {text}");
        }
        assert_eq!(section_text("tests", &serde_json::json!({}), &spec).matches("<p>").count(), 2);
        assert_eq!(section_text("payment", &serde_json::json!({}), &spec).matches("<p>").count(), 1);
        let other = section_text("surprise", &serde_json::json!({ "x": 1 }), &spec);
        assert_eq!(other, "<p>Settings: x = 1.</p>\n");
    }

    #[test]
    fn the_norms_section_names_the_history_file_and_the_method_defaults() {
        let spec = serde_json::json!({ "files": { "history": "prior.csv" } });
        let text = section_text("norms", &serde_json::json!({ "method": "sgp" }), &spec);
        assert!(text.contains("fitted on prior.csv") && text.contains("fewer than 1000"), "{text}");
        let text = section_text("norms", &serde_json::json!({}), &serde_json::json!({}));
        assert!(text.contains("Conditional-normal norms fitted on the history file") && text.contains("fewer than 30"));
    }
}
