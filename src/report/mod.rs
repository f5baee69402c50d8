//! The public report: one self-contained `report.html` (inline SVG figures, no scripts, no
//! external assets, print CSS for US letter) and each figure as its own SVG, rendered from
//! the JSON an `obc check` (`results.json`) or `obc baseline` (`recommendation.json`) run
//! wrote. Pure functions, no file I/O: `obc report` and the two commands write the result
//! ([`crate::cli::report::write`]).
//!
//! Rendering is deterministic: the same JSON gives byte-identical HTML and SVG (no
//! timestamps; every list is in the JSON's order or sorted). The report is public: it shows
//! no student identifiers or audit rows, and suppressed values appear as words.
//!
//! ```
//! let json = serde_json::json!({ "manifest": { "command": "validate" } });
//! assert!(obc::report::render(&json).is_err()); // neither check results nor a baseline
//! ```

pub mod glossary;
pub mod html;
pub mod methods;
pub mod plots;
mod population;
pub mod read;
pub mod tables;
mod warnings;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::contract::baseline::Baseline as BaselineBody;
use crate::contract::figures::Summary;
use crate::contract::results::{BaselineResults as Baseline, CheckResults as Check, Drift, MidpointReport};
use crate::contract::results::{TierChance, TierChances};
use crate::contract::settle::{Estimate, ExclusionRow, ProviderResult as Provider, Rule, Verdict};
use crate::contract::suppress::Suppression;
use crate::contract::terms::InferenceMethod;
use crate::manifest::Manifest;
use crate::stats::warning::Warning;
use html::{Cell, count, esc, figure, list, money, num, p, pct, section, table};
use plots::{FlowBar, Interval, Plot, QuantileRow};

/// The report: the HTML page and each figure as (file name, SVG text).
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    pub html: String,
    pub svgs: Vec<(String, String)>,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the results JSON has no `{field}` (or it is null)")]
    Missing { field: String },
    #[error("the results JSON's `{field}` cannot be read: {message}")]
    Invalid { field: String, message: String },
    #[error("manifest.command is {command:?}: the report needs the results of `obc check` or `obc baseline`")]
    UnknownKind { command: String },
    #[error("drawing a figure failed: {0}")]
    Plot(String),
}

/// Which command wrote a JSON file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Check,
    Baseline,
}

/// Tells check results (`manifest.command` starts with "check") from a baseline
/// recommendation (`manifest.command == "baseline"`).
pub fn kind(v: &Value) -> Result<Kind, ReportError> {
    let manifest = v.get("manifest").ok_or(ReportError::Missing { field: "manifest".into() })?;
    let command = manifest
        .get("command")
        .and_then(Value::as_str)
        .ok_or(ReportError::Missing { field: "manifest.command".into() })?;
    if command.starts_with("check") {
        Ok(Kind::Check)
    } else if command == "baseline" {
        Ok(Kind::Baseline)
    } else {
        Err(ReportError::UnknownKind { command: command.into() })
    }
}

/// Renders either kind of results, detected by [`kind`].
pub fn render(v: &Value) -> Result<Rendered, ReportError> {
    match kind(v)? {
        Kind::Check => render_check(&read::check(v)?),
        Kind::Baseline => render_baseline(&read::baseline(v)?),
    }
}

/// Collects figures as they are drawn.
#[derive(Default)]
struct Figures {
    svgs: Vec<(String, String)>,
}

impl Figures {
    fn add(&mut self, plot: &Plot, file: &str, caption: &str) -> String {
        if let Plot::Svg(s) = plot {
            self.svgs.push((file.to_string(), s.clone()));
        }
        figure(plot, file, caption)
    }
}

/// The messages of warnings, as the report lists them.
fn messages(warnings: &[Warning]) -> Vec<String> {
    warnings.iter().map(|w| w.message.clone()).collect()
}

/// An input's role as written in the manifest (`roster`, `sessions`, ...).
fn role_name(role: crate::data::schema::Role) -> String {
    serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn min_cell(spec: &Value) -> u64 {
    spec.pointer("/reporting/min_cell").and_then(Value::as_u64).unwrap_or(10)
}

/// `0.690 [0.631, 0.750]`; a cluster-robust interval names its method (`0.120 [0.010,
/// 0.230] (CR2, 4.2 df)`), and an end it could not bound is written as unbounded.
fn with_interval(e: &Estimate) -> String {
    let method = match (e.inference, &e.robust) {
        (InferenceMethod::Bootstrap, _) => String::new(),
        (m, Some(t)) => match t.df {
            Some(df) => format!(" ({}, {df:.1} df)", interval_words(m)),
            None => format!(" ({}, {} clusters)", interval_words(m), t.clusters),
        },
        (m, None) => format!(" ({})", interval_words(m)),
    };
    let end = |v: Option<f64>, side: &str| if v.is_some() { num(v, 3) } else { format!("unbounded {side}") };
    match (e.low, e.high, e.robust.is_some()) {
        (Some(_), Some(_), _) | (_, _, true) => {
            format!("{} [{}, {}]{method}", num(Some(e.point), 3), end(e.low, "below"), end(e.high, "above"))
        }
        _ => format!("{} (no interval){method}", num(Some(e.point), 3)),
    }
}

/// The interval method in words (`[inference] method`).
fn interval_words(m: InferenceMethod) -> &'static str {
    match m {
        InferenceMethod::Bootstrap => "bootstrap",
        InferenceMethod::ClusterT => "cluster t",
        InferenceMethod::Cr2 => "CR2",
        InferenceMethod::WildCluster => "wild cluster bootstrap",
    }
}

/// A provider's metric as the public sees it.
fn shown_metric(p: &Provider, min_cell: u64) -> String {
    if p.suppressed {
        return format!("suppressed (fewer than {min_cell} counted students)");
    }
    match (&p.estimate, &p.no_estimate) {
        (Some(e), _) if e.point.is_finite() => with_interval(e),
        (_, Some(why)) => format!("no estimate: {why}"),
        _ => "no estimate".into(),
    }
}

/// The suppression reason in words.
fn suppressed_words(reason: Suppression) -> String {
    match reason {
        Suppression::SmallCell => "suppressed (n < min_cell)".into(),
        Suppression::Complementary => "suppressed (complementary)".into(),
    }
}

/// An exclusion rule in words.
pub fn rule_words(rule: Rule) -> &'static str {
    match rule {
        Rule::NoPreTest => "no pre-test",
        Rule::Enrolment => "not enrolled in time",
        Rule::Dosage => "below the dosage rule",
        Rule::NoPostTest => "no post-test",
        Rule::NoNorm => "no norm for the student",
    }
}

/// The rules of the flow, in flow order, with their words.
fn flow_rules() -> Vec<(Rule, String)> {
    Rule::ALL.iter().map(|&r| (r, rule_words(r).to_string())).collect()
}

fn thresholds(spec: &Value) -> Vec<(String, f64)> {
    spec.get("thresholds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, t)| {
            let v = t.get("value")?.as_f64()?;
            let name = t.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
            Some((name.map_or_else(|| format!("tier {}", i + 1), str::to_string), v))
        })
        .collect()
}

/// Renders the report of `obc check` from its results.json.
pub fn render_check(c: &Check) -> Result<Rendered, ReportError> {
    let spec = &c.manifest.spec;
    let cell = min_cell(spec);
    let mut figs = Figures::default();
    let mut body = format!("<h1>{}</h1>\n", esc(&c.header.contract));
    if let Some(m) = &c.midpoint {
        body.push_str(&format!("<p class=\"summary\"><strong>{}</strong></p>\n", esc(&midpoint_title(m))));
    }
    if let Some(why) = c.midpoint.as_ref().and_then(|m| m.projection_not_possible.as_ref()) {
        // Before the interim test: no outcomes, so no decisions, flow, growth or fairness.
        body.push_str(&section(
            "summary",
            "Summary: dosage only",
            &p(&format!("Outcome projections are not yet possible: {why}. Nothing is payable; the dosage delivered against the contract is below.")),
        ));
        body.push_str(&dosage_section(c, &mut figs)?);
        body.push_str(&midpoint_section(c.midpoint.as_ref().expect("checked above")));
        body.push_str(&section(
            "warnings",
            "Warnings and what they mean",
            &warnings::warnings_html(&c.manifest.warnings),
        ));
        body.push_str(&section("methods", "Methods (from the contract)", &methods::appendix(spec)));
        body.push_str(&manifest_section(&c.manifest));
        body.push_str(&section("glossary", "Appendix: glossary", &glossary::glossary_html()));
        return Ok(Rendered { html: html::page(&midpoint_page_title(c), &body), svgs: figs.svgs });
    }
    body.push_str(&summary_section(c, cell));
    body.push_str(&flow_section(c, &mut figs)?);
    body.push_str(&dosage_section(c, &mut figs)?);
    body.push_str(&growth_section(c, &mut figs)?);
    body.push_str(&metric_section(c, cell, &mut figs)?);
    body.push_str(&dose_section(c, &mut figs)?);
    body.push_str(&equity_section(c));
    body.push_str(&fairness_section(c));
    if let Some(d) = &c.settlement.drift {
        body.push_str(&drift_section(d));
    }
    if !c.settlement.vendor_agreement.is_empty() {
        body.push_str(&vendor_section(c));
    }
    if let Some(m) = &c.midpoint {
        body.push_str(&midpoint_section(m));
    }
    body.push_str(&section("warnings", "Warnings and what they mean", &warnings::warnings_html(&c.manifest.warnings)));
    body.push_str(&section("methods", "Methods (from the contract)", &methods::appendix(spec)));
    body.push_str(&manifest_section(&c.manifest));
    body.push_str(&section("glossary", "Appendix: glossary", &glossary::glossary_html()));
    let title =
        if c.midpoint.is_some() { midpoint_page_title(c) } else { format!("{}: settlement report", c.header.contract) };
    Ok(Rendered { html: html::page(&title, &body), svgs: figs.svgs })
}

/// "Midpoint review as of DATE: projections, nothing is payable" (or, before the interim
/// test, dosage only).
fn midpoint_title(m: &MidpointReport) -> String {
    match m.projection_not_possible {
        None => format!("Midpoint review as of {}: projections, nothing is payable", m.as_of),
        Some(_) => {
            format!(
                "Midpoint review as of {}: dosage only, outcome projections not yet possible; nothing is payable",
                m.as_of
            )
        }
    }
}

fn midpoint_page_title(c: &Check) -> String {
    c.midpoint.as_ref().map_or_else(String::new, |m| format!("{}: {}", c.header.contract, midpoint_title(m)))
}

fn summary_section(c: &Check, cell: u64) -> String {
    let s = &c.settlement;
    let rostered: u64 = s.providers.iter().map(|p| p.counts.rostered).sum();
    let counted: u64 = s.providers.iter().map(|p| p.counts.counted).sum();
    let tiers = thresholds(&c.manifest.spec);
    let mid = c.midpoint.is_some();
    let mut text = if mid {
        format!(
            "This midpoint review projects the contract for {} provider{}. Of {rostered} tutored students on the providers' rosters, {counted} count so far under the contract's rules with the dosage rule prorated (who counts is set out in the methods section).",
            s.providers.len(),
            if s.providers.len() == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "This report settles the contract for {} provider{}. Of {rostered} tutored students on the providers' rosters, {counted} were counted under the contract's rules (who counts is set out in the methods section).",
            s.providers.len(),
            if s.providers.len() == 1 { "" } else { "s" }
        )
    };
    if !c.header.outcome.is_empty() {
        text.push_str(&format!(" A student meets the outcome with {}.", c.header.outcome));
    }
    if !c.header.metric.is_empty() {
        text.push_str(&format!(" Each provider is judged on the {}.", c.header.metric));
    }
    if let Some(cmp) = s.comparison.as_ref().filter(|e| e.point.is_finite()) {
        text.push_str(&format!(" The comparison group (untutored students) reached {}.", with_interval(cmp)));
    }
    for (k, (name, value)) in tiers.iter().enumerate() {
        let met = s.providers.iter().filter(|p| p.tiers.get(k).is_some_and(|t| t.verdict == Verdict::Met)).count();
        let verb = if mid { "are projected to meet" } else { "met" };
        text.push_str(&format!(" {met} of {} {verb} {name} ({value}).", s.providers.len()));
    }
    if mid {
        text.push_str(&format!(
            " This is a midpoint review: the metric, decisions and payments are projections, and nothing is payable. Projected total if the contract were settled on these projections: {}.",
            money(Some(s.totals.payable))
        ));
    } else {
        text.push_str(&format!(" Total payable: {}.", money(Some(s.totals.payable))));
    }
    let projected = |name: String| if mid { format!("projected {name}") } else { name };
    let level = s.providers.iter().find_map(|p| p.estimate.as_ref().map(|e| e.level).filter(|l| l.is_finite()));
    let mut head: Vec<String> = vec![
        "provider".into(),
        "rostered".into(),
        "counted".into(),
        projected(format!("metric [{} interval]", level.map_or("".into(), |l| format!("{}%", (l * 100.0).round())))),
    ];
    for (name, v) in &tiers {
        head.push(if mid {
            format!("projected decision {name} ({v}) (projected chance of meeting)")
        } else {
            format!("{name} ({v})")
        });
    }
    head.extend([
        projected("tier reached".into()),
        if mid { "projected payment (not payable)".into() } else { "payable".into() },
    ]);
    let rows = s
        .providers
        .iter()
        .map(|p| {
            let mut r: Vec<Cell> = vec![
                p.provider.as_str().into(),
                p.counts.rostered.to_string().into(),
                p.counts.counted.to_string().into(),
                shown_metric(p, cell).into(),
            ];
            for k in 0..tiers.len() {
                r.push(
                    p.tiers
                        .get(k)
                        .map_or("not decided".into(), |t| {
                            let verdict = t.verdict.as_str();
                            match t.p_at_least.filter(|_| mid && !p.suppressed) {
                                Some(c) => format!("{verdict} ({} chance)", pct(Some(c))),
                                None => verdict.to_string(),
                            }
                        })
                        .into(),
                );
            }
            r.push(p.tier_reached.clone().unwrap_or_else(|| "none".into()).into());
            r.push(match p.payment.cap_note() {
                Some(note) => format!("{} ({note})", money(Some(p.payment.payable))).into(),
                None => money(Some(p.payment.payable)).into(),
            });
            r
        })
        .collect();
    let mut total: Vec<Cell> = vec!["total".into(), rostered.to_string().into(), counted.to_string().into(), "".into()];
    total.extend((0..tiers.len()).map(|_| Cell::from("")));
    total.extend(["".into(), money(Some(s.totals.payable)).into()]);
    let heads: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut body = format!("<p class=\"summary\">{}</p>\n", esc(&text));
    let caption = if mid {
        "Projected decisions and payments per provider (nothing is payable)"
    } else {
        "Decisions and payments per provider"
    };
    body.push_str(&table(caption, &heads, rows, vec![total]));
    if mid {
        body.push_str(&p(&chance_note(&c.manifest.spec)));
    }
    body.push_str(&p(&format!(
        "{}: base {}, outcome {}, penalty {}, payable {}.",
        if mid { "Projected totals (not payable)" } else { "Totals" },
        money(Some(s.totals.base)),
        money(Some(s.totals.outcome)),
        money(Some(s.totals.penalty)),
        money(Some(s.totals.payable))
    )));
    body.push_str(if mid {
        "<details open>\n<summary>Projected payment arithmetic per provider (not payable)</summary>\n"
    } else {
        "<details open>\n<summary>Payment arithmetic per provider</summary>\n"
    });
    for p in &s.providers {
        body.push_str(&format!("<h3>{}</h3>\n", esc(&p.provider)));
        body.push_str(&list(&p.payment.arithmetic, "No arithmetic recorded."));
        body.push_str(&payment_lines(p));
        // a midpoint review's projections are not settled: no expected payment is shown
        match (&p.payment.expected, &p.payment.no_expected) {
            _ if mid => {}
            (Some(e), _) => body.push_str(&html::p(&format!("The {}.", e.sentence(p.payment.base)))),
            (None, Some(why)) => body.push_str(&html::p(&format!("No expected payment under test error: {why}."))),
            (None, None) => {}
        }
    }
    body.push_str("</details>\n");
    if !s.warnings.is_empty() {
        body.push_str("<h3>Settlement warnings</h3>\n");
        body.push_str(&list(&messages(&s.warnings), ""));
    }
    let title = if mid { "Summary: projected decisions and payments" } else { "Summary: decisions and payments" };
    section("summary", title, &body)
}

/// A provider's rate lines as a table a program officer can check with a calculator: each
/// line's students, amount and arithmetic (nothing for a contract paid by the flat terms).
fn payment_lines(p: &Provider) -> String {
    if p.payment.lines.is_empty() {
        return String::new();
    }
    let rows = p
        .payment
        .lines
        .iter()
        .map(|l| {
            vec![
                Cell::from(l.name.clone()),
                Cell::from(l.kind.as_str().to_string()),
                Cell::from(count(l.students)),
                Cell::from(money(l.amount)),
                Cell::from(l.arithmetic.clone()),
            ]
        })
        .collect();
    table(
        &format!("Rate lines of {}", p.provider),
        &["line", "kind", "students", "amount", "arithmetic"],
        rows,
        Vec::new(),
    )
}

/// How the projected chance of meeting a tier relates to the projected decision, from the
/// contract's `[decision]` rule.
fn chance_note(spec: &Value) -> String {
    let rule = spec.pointer("/decision/rule").and_then(Value::as_str).unwrap_or("");
    let level = spec.pointer("/decision/level").and_then(Value::as_f64);
    let how = match (rule, level) {
        ("point", _) => "met when the projected metric is at least the threshold".to_string(),
        ("lower_bound", Some(l)) => format!(
            "met when the lower end of the projected metric's {} interval is at least the threshold, not met when its upper end is below it, otherwise inconclusive",
            pct(Some(l))
        ),
        ("probability", Some(l)) => format!(
            "met when the projected chance is at least {}, not met when it is at most {}, otherwise inconclusive",
            pct(Some(l)),
            pct(Some(1.0 - l))
        ),
        _ => "the contract's decision rule applied to the projected metric".to_string(),
    };
    format!(
        "Each tier cell gives the projected decision and, in brackets, the projected chance of meeting the tier: the share of bootstrap replicates of the projected metric at or above the threshold. The projected decision follows the contract's rule ({how}), so a high chance can still come with an inconclusive decision."
    )
}

fn flow_section(c: &Check, figs: &mut Figures) -> Result<String, ReportError> {
    let ps = &c.settlement.providers;
    let rules = flow_rules();
    let ex = |p: &Provider, k: &Rule| p.excluded.get(k).copied().unwrap_or(0);
    let bars: Vec<FlowBar> = ps
        .iter()
        .map(|p| FlowBar {
            provider: p.provider.clone(),
            segments: std::iter::once(("counted".to_string(), p.counts.counted))
                .chain(rules.iter().map(|(k, w)| (w.clone(), ex(p, k))))
                .collect(),
        })
        .collect();
    let categories: Vec<String> =
        std::iter::once("counted".to_string()).chain(rules.iter().map(|(_, w)| format!("not counted: {w}"))).collect();
    let plot = plots::flow(&bars, &categories)?;
    let mut body = p(
        "Every rostered student is either counted or not counted by the first contract rule they failed, checked in this order: pre-test, enrolment date, dosage, post-test, norm.",
    );
    body.push_str(&figs.add(
        &plot,
        "flow.svg",
        "Flow of students per provider: each bar is the provider's roster, split into counted students (white) and students not counted by each rule (greys, in the legend's order, with counts written in the bars).",
    ));
    let mut head: Vec<String> = vec!["provider".into(), "rostered".into()];
    head.extend(rules.iter().map(|(_, w)| format!("not counted: {w}")));
    head.push("counted".into());
    let rows = ps
        .iter()
        .map(|p| {
            let mut r: Vec<Cell> = vec![p.provider.as_str().into(), p.counts.rostered.to_string().into()];
            r.extend(rules.iter().map(|(k, _)| Cell::from(ex(p, k).to_string())));
            r.push(p.counts.counted.to_string().into());
            r
        })
        .collect();
    let heads: Vec<&str> = head.iter().map(String::as_str).collect();
    body.push_str(&table("Students per provider: rostered, not counted by rule, counted", &heads, rows, vec![]));
    Ok(section("flow", "Who was counted", &body))
}

fn no_figures(c: &Check) -> Option<String> {
    c.figures.is_none().then(|| {
        p("This results file has no `figures` section (it was written by an older obc): re-run obc check to get this part of the report.")
    })
}

fn quantile_row(label: &str, q: Option<&Summary>, suppressed: bool) -> QuantileRow {
    let q = q.map(|q| [q.p10, q.p25, q.p50, q.p75, q.p90, q.mean]).filter(|q| q.iter().all(|v| v.is_finite()));
    let note = if suppressed { "suppressed (fewer than min_cell students)" } else { "no data" };
    QuantileRow { label: label.to_string(), q: if suppressed { None } else { q }, note: note.into() }
}

fn dosage_section(c: &Check, figs: &mut Figures) -> Result<String, ReportError> {
    if let Some(m) = no_figures(c) {
        return Ok(section("dosage", "Dosage delivered", &m));
    }
    let Some(d) = c.figures.as_ref().map(|f| &f.dosage) else {
        return Ok(section("dosage", "Dosage delivered", &p("The results give no dosage distribution.")));
    };
    let measure = d.measure.clone();
    let min = Some(f64::from(d.min_sessions)).filter(|m| *m > 0.0);
    let rows: Vec<QuantileRow> =
        d.providers.iter().map(|p| quantile_row(&p.provider, p.sessions.as_ref(), p.suppressed)).collect();
    let reference = min.map(|m| (m, format!("contract minimum: {m} sessions")));
    let alt = format!(
        "Box plots of {measure} per provider (10th, 25th, 50th, 75th, 90th percentiles and mean){}.",
        min.map_or(String::new(), |m| format!(", with the contract minimum of {m} sessions as a dashed line"))
    );
    let plot = plots::quantiles(&alt, &measure, &rows, reference)?;
    let mut body = figs.add(
        &plot,
        "dosage_sessions.svg",
        &format!(
            "{} per rostered student, by provider: whiskers from the 10th to the 90th percentile, box from the 25th to the 75th, thick bar at the median, cross at the mean.{}",
            capitalise(&measure),
            min.map_or(String::new(), |m| format!(" Dashed line: the contract's minimum of {m} sessions."))
        ),
    );
    let week_rows: Vec<QuantileRow> =
        d.providers.iter().map(|p| quantile_row(&p.provider, p.per_week.as_ref(), p.suppressed)).collect();
    let basis = d.per_week_basis.clone();
    let plot = plots::quantiles(
        &format!("Box plots of sessions attended per week per provider, over {basis}."),
        "sessions attended per week",
        &week_rows,
        None,
    )?;
    body.push_str(&figs.add(
        &plot,
        "dosage_per_week.svg",
        &format!(
            "Sessions attended per week per rostered student, by provider (weeks: {basis}). Same box plot as above."
        ),
    ));
    let q = |x: Option<&Summary>, f: fn(&Summary) -> f64| num(x.map(f), 1);
    let rows = d
        .providers
        .iter()
        .map(|p| {
            if p.suppressed {
                let s = "suppressed (n < min_cell)";
                return vec![p.provider.as_str().into(), s.into(), s.into(), s.into(), s.into(), s.into()];
            }
            vec![
                p.provider.as_str().into(),
                count(Some(p.rostered)).into(),
                format!(
                    "{} / {} / {}",
                    q(p.sessions.as_ref(), |x| x.p25),
                    q(p.sessions.as_ref(), |x| x.p50),
                    q(p.sessions.as_ref(), |x| x.p75)
                )
                .into(),
                q(p.sessions.as_ref(), |x| x.mean).into(),
                num(p.per_week.as_ref().map(|x| x.p50), 2).into(),
                num(p.per_week.as_ref().map(|x| x.mean), 2).into(),
            ]
        })
        .collect();
    body.push_str(&table(
        &format!("{} per provider", capitalise(&measure)),
        &[
            "provider",
            "rostered",
            "sessions: 25th / median / 75th",
            "sessions: mean",
            "per week: median",
            "per week: mean",
        ],
        rows,
        vec![],
    ));
    Ok(section("dosage", "Dosage delivered", &body))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + c.as_str())
}

fn growth_section(c: &Check, figs: &mut Figures) -> Result<String, ReportError> {
    if let Some(m) = no_figures(c) {
        return Ok(section("growth", "Growth against the norms", &m));
    }
    let Some(g) = c.figures.as_ref().and_then(|f| f.growth_vs_norm.as_ref()) else {
        let spec = &c.manifest.spec;
        let method = spec.pointer("/norms/method").and_then(Value::as_str);
        let outcome = spec.pointer("/outcome/kind").and_then(Value::as_str);
        let why = if method == Some("sgp") {
            "The contract's norms are student growth percentiles (SGP): they rank a student's growth among like students but give no expected growth in scale-score points, so observed growth cannot be set against expected growth."
        } else if outcome == Some("scale_growth") && !c.header.metric.contains("CGI") {
            "The contract uses no growth norms (the outcome is scale-score growth), so there is no expected growth to compare with."
        } else {
            "The results give no comparison of observed with expected growth."
        };
        return Ok(section("growth", "Growth against the norms", &p(why)));
    };
    let unit = g.unit.clone();
    let series: Vec<plots::GrowthSeries> = g
        .series
        .iter()
        .map(|s| plots::GrowthSeries {
            label: s.label.clone(),
            points: s
                .points
                .iter()
                .filter(|p| p.expected.is_finite() && p.observed.is_finite())
                .map(|p| (p.expected, p.observed))
                .collect(),
        })
        .collect();
    let providers: Vec<(String, f64, f64)> = g
        .providers
        .iter()
        .filter(|p| !p.suppressed)
        .filter_map(|p| Some((p.provider.clone(), p.expected?, p.observed?)))
        .collect();
    let alt = format!(
        "Scatter of observed against expected growth in {unit}, by bins of expected growth, for {}; each provider's counted students as a labelled square; the dashed 45-degree line is growth exactly as expected.",
        g.series.iter().map(|s| s.label.as_str()).collect::<Vec<_>>().join(" and ")
    );
    let plot = plots::growth(&alt, &unit, &series, &providers)?;
    let mut body = figs.add(
        &plot,
        "growth_vs_norm.svg",
        &format!(
            "Observed against expected growth ({unit}). Points above the dashed 45-degree line grew more than the norms expect for like students. Filled circles: {}; triangles: {}; grey squares: providers' counted students.",
            g.series.first().map_or("first series", |s| s.label.as_str()),
            g.series.get(1).map_or("second series", |s| s.label.as_str())
        ),
    );
    let rows = g
        .providers
        .iter()
        .map(|p| {
            if p.suppressed {
                let s = "suppressed (n < min_cell)";
                return vec![p.provider.as_str().into(), s.into(), s.into(), s.into(), s.into()];
            }
            let diff = p.observed.zip(p.expected).map(|(o, e)| o - e);
            vec![
                p.provider.as_str().into(),
                count(Some(p.n)).into(),
                num(p.expected, 1).into(),
                num(p.observed, 1).into(),
                num(diff, 1).into(),
            ]
        })
        .collect();
    body.push_str(&table(
        &format!("Mean growth of counted students per provider ({unit})"),
        &["provider", "counted", "expected", "observed", "observed − expected"],
        rows,
        vec![],
    ));
    Ok(section("growth", "Growth against the norms", &body))
}

fn metric_section(c: &Check, cell: u64, figs: &mut Figures) -> Result<String, ReportError> {
    let s = &c.settlement;
    let mut shown: Vec<&Provider> = s
        .providers
        .iter()
        .filter(|p| !p.suppressed && p.estimate.as_ref().is_some_and(|e| e.point.is_finite()))
        .collect();
    shown.sort_by(|a, b| {
        let pa = a.estimate.as_ref().map_or(0.0, |e| e.point);
        let pb = b.estimate.as_ref().map_or(0.0, |e| e.point);
        pb.total_cmp(&pa).then_with(|| a.provider.cmp(&b.provider))
    });
    let rows: Vec<Interval> = shown
        .iter()
        .map(|p| {
            let e = p.estimate.as_ref().expect("filtered");
            Interval { label: p.provider.clone(), point: e.point, low: e.low, high: e.high }
        })
        .collect();
    let hidden: Vec<String> = s
        .providers
        .iter()
        .filter(|p| !shown.iter().any(|q| q.provider == p.provider))
        .map(|p| {
            if p.suppressed {
                format!("{} (suppressed: fewer than {cell} counted)", p.provider)
            } else {
                format!("{} (no estimate)", p.provider)
            }
        })
        .collect();
    let note = if hidden.is_empty() { String::new() } else { format!("Not plotted: {}.", hidden.join(", ")) };
    let tiers: Vec<(String, f64)> =
        thresholds(&c.manifest.spec).into_iter().map(|(n, v)| (format!("{n} = {v}"), v)).collect();
    let comparison = s
        .comparison
        .as_ref()
        .map(|e| e.point)
        .filter(|v| v.is_finite())
        .map(|v| (format!("comparison group = {v:.3}"), v));
    let level = s.providers.iter().find_map(|p| p.estimate.as_ref().map(|e| e.level).filter(|l| l.is_finite()));
    let level = level.map_or_else(|| "the contract's".to_string(), |l| format!("{}%", (l * 100.0).round()));
    let metric = if c.header.metric.is_empty() { "provider metric".to_string() } else { c.header.metric.clone() };
    let alt = format!(
        "Caterpillar plot of the {metric} per provider, highest first, with {level} intervals; thresholds as dashed lines and the comparison group as a dotted line. {}",
        rows.iter()
            .map(|r| format!("{} {:.3} [{}, {}]", r.label, r.point, num(r.low, 3), num(r.high, 3)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let plot = plots::caterpillar(&alt, &metric, &rows, &tiers, comparison, &note)?;
    let inference = s.providers.iter().find_map(|p| p.estimate.as_ref().map(|e| e.inference));
    let method = interval_words(inference.unwrap_or_default());
    let mut body = figs.add(
        &plot,
        "caterpillar.svg",
        &format!(
            "Each provider's metric (dot) with its {level} {method} interval (bar), highest first. Dashed lines: the contract's thresholds; dotted line: the comparison group. {note}"
        ),
    );
    let rows = s
        .providers
        .iter()
        .map(|p| {
            let mut r: Vec<Cell> = vec![p.provider.as_str().into(), shown_metric(p, cell).into()];
            r.push(
                p.tiers
                    .iter()
                    .map(|t| format!("{}: {}", t.name, t.verdict.as_str()))
                    .collect::<Vec<_>>()
                    .join("; ")
                    .into(),
            );
            r
        })
        .collect();
    let mut foot = Vec::new();
    if let Some(e) = &s.comparison {
        foot.push(vec!["comparison group".into(), with_interval(e).into(), "".into()]);
    }
    body.push_str(&table(
        "Provider metric and decision per tier",
        &["provider", "metric [interval]", "decisions"],
        rows,
        foot,
    ));
    Ok(section("metric", "Provider metrics against the thresholds", &body))
}

fn dose_section(c: &Check, figs: &mut Figures) -> Result<String, ReportError> {
    if let Some(m) = no_figures(c) {
        return Ok(section("dose-response", "Dose and response", &m));
    }
    let Some(d) = c.figures.as_ref().map(|f| &f.dose_response) else {
        return Ok(section("dose-response", "Dose and response", &p("The results give no dose-response bins.")));
    };
    let measure = d.measure.clone();
    let level = Some(d.level)
        .filter(|l| l.is_finite())
        .map_or_else(|| "the contract's".to_string(), |l| format!("{}%", (l * 100.0).round()));
    let bins: Vec<(String, Option<Interval>)> = d
        .bins
        .iter()
        .map(|b| {
            let shown = if b.suppressed.is_some() {
                None
            } else {
                b.value.map(|v| Interval { label: b.label.clone(), point: v, low: b.low, high: b.high })
            };
            (b.label.clone(), shown)
        })
        .collect();
    let suppressed: Vec<&str> = d.bins.iter().filter(|b| b.suppressed.is_some()).map(|b| b.label.as_str()).collect();
    let note = if suppressed.is_empty() {
        String::new()
    } else {
        format!(" Suppressed bins (too few students), shown as gaps: {}.", suppressed.join(", "))
    };
    let alt = format!(
        "The {measure} with {level} intervals by bins of sessions attended. {}",
        d.bins
            .iter()
            .map(|b| match &b.suppressed {
                Some(r) => format!("{}: suppressed ({})", b.label, r.as_str()),
                None => format!("{}: {}", b.label, num(b.value, 3)),
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    let plot = plots::bins(&alt, &measure, &bins)?;
    let mut body = String::new();
    if !d.population.is_empty() {
        let pop = &d.population;
        body.push_str(&p(&format!(
            "Population: {pop}. This describes, it does not prove that more sessions cause more growth."
        )));
    }
    body.push_str(&figs.add(
        &plot,
        "dose_response.svg",
        &format!("{} by sessions attended, with {level} intervals (bars).{note}", capitalise(&measure)),
    ));
    let rows = d
        .bins
        .iter()
        .map(|b| match &b.suppressed {
            Some(r) => {
                let s = format!("suppressed ({})", r.as_str());
                vec![b.label.as_str().into(), s.clone().into(), s.into()]
            }
            None => vec![
                b.label.as_str().into(),
                count(b.n).into(),
                format!("{} [{}, {}]", num(b.value, 3), num(b.low, 3), num(b.high, 3)).into(),
            ],
        })
        .collect();
    body.push_str(&table(
        &format!("{} by sessions attended", capitalise(&measure)),
        &["sessions", "students", "value [interval]"],
        rows,
        vec![],
    ));
    Ok(section("dose-response", "Dose and response", &body))
}

fn equity_section(c: &Check) -> String {
    let groups = &c.settlement.groups;
    if groups.is_empty() {
        return section("equity", "Equity groups", &p("No equity groups are reported (the contract names none)."));
    }
    let mut order: Vec<&str> = Vec::new();
    for g in groups {
        if !order.contains(&g.group.as_str()) {
            order.push(&g.group);
        }
    }
    let mut body = p(&format!(
        "Each provider's metric within each equity group. Cells with fewer than {} counted students are suppressed, and a second cell where needed so a suppressed count cannot be recovered by subtraction (complementary).",
        min_cell(&c.manifest.spec)
    ));
    for name in order {
        let rows = groups
            .iter()
            .filter(|g| g.group == name)
            .map(|g| match &g.suppressed {
                Some(r) => {
                    let s = suppressed_words(*r);
                    vec![
                        g.provider.as_str().into(),
                        g.value.as_str().into(),
                        s.clone().into(),
                        s.clone().into(),
                        s.into(),
                    ]
                }
                None => vec![
                    g.provider.as_str().into(),
                    g.value.as_str().into(),
                    count(g.counted).into(),
                    count(g.met).into(),
                    format!("{} [{}, {}]", num(g.metric, 3), num(g.low, 3), num(g.high, 3)).into(),
                ],
            })
            .collect();
        body.push_str(&format!("<h3>{}</h3>\n", esc(name)));
        body.push_str(&table(
            &format!("Metric by {name}"),
            &["provider", "value", "counted", "met the outcome", "metric [interval]"],
            rows,
            vec![],
        ));
    }
    section("equity", "Equity groups", &body)
}

fn fairness_section(c: &Check) -> String {
    let f = &c.settlement.fairness;
    let mut body = String::from("<h3>Baseline equivalence (pre-test)</h3>\n");
    body.push_str(&table(
        "Difference in pre-test between each provider's counted students and the comparison group (Hedges' g; WWC: |g| ≤ 0.05 satisfied, 0.05-0.25 needs adjustment, > 0.25 not satisfied)",
        &["provider", "g (SD)", "tutored counted", "comparison counted", "rating"],
        f.equivalence
            .iter()
            .map(|e| {
                vec![
                    e.provider.as_str().into(),
                    num(Some(e.g), 3).into(),
                    count(Some(e.n_t)).into(),
                    count(Some(e.n_c)).into(),
                    e.rating.as_str().into(),
                ]
            })
            .collect(),
        vec![],
    ));
    body.push_str("<h3>Attrition</h3>\n");
    body.push_str(&attrition_table(&f.attrition));
    body.push_str("<h3>Exclusions by rule</h3>\n");
    let mut by: BTreeMap<&str, Vec<&ExclusionRow>> = BTreeMap::new();
    let mut rules: Vec<Rule> = Vec::new();
    for e in &f.exclusions {
        by.entry(&e.provider).or_default().push(e);
        if !rules.contains(&e.rule) {
            rules.push(e.rule);
        }
    }
    let mut head = vec!["provider".to_string()];
    head.extend(rules.iter().map(|&r| rule_words(r).to_string()));
    let heads: Vec<&str> = head.iter().map(String::as_str).collect();
    let mut providers: Vec<&str> = Vec::new();
    for e in &f.exclusions {
        if !providers.contains(&e.provider.as_str()) {
            providers.push(&e.provider);
        }
    }
    let rows = providers
        .iter()
        .map(|p| {
            let mut r: Vec<Cell> = vec![(*p).into()];
            for rule in &rules {
                let e = by[p].iter().find(|e| e.rule == *rule);
                r.push(e.map_or("".into(), |e| format!("{} ({})", e.excluded, pct(Some(e.share)))).into());
            }
            r
        })
        .collect();
    body.push_str(&table("Students not counted by each rule (share of rostered)", &heads, rows, vec![]));
    body.push_str("<h3>Warnings</h3>\n");
    body.push_str(&list(&messages(&f.warnings), "No fairness warnings."));
    body.push_str("<h3>Regression to the mean</h3>\n");
    body.push_str(&list(&messages(&f.regression_to_mean), "No regression-to-the-mean warnings."));
    section("fairness", "Fairness checks", &body)
}

/// The attrition table: each provider's own rate with its counts, the comparison group's,
/// the WWC overall (pooled) rate and the differential, each defined under the table.
fn attrition_table(rows: &[crate::contract::results::AttritionRow]) -> String {
    let mut s = table(
        "Attrition: rostered students not counted, per provider and in the comparison group, rated against the WWC boundary",
        &[
            "provider",
            "rostered",
            "not counted",
            "provider's own rate",
            "comparison group's rate",
            "overall (pooled) rate",
            "differential (points)",
            "boundary",
            "rating",
        ],
        rows.iter()
            .map(|a| {
                let not_counted = a.assigned.saturating_sub(a.analysed);
                let own = a.tutored.or((a.assigned > 0).then(|| not_counted as f64 / a.assigned as f64));
                let comparison = match (a.comparison, a.comparison_rostered, a.comparison_counted) {
                    (Some(c), Some(r), Some(n)) => format!("{} ({} of {})", pct(Some(c)), r.saturating_sub(n), r),
                    _ => "not recorded".into(),
                };
                vec![
                    a.provider.as_str().into(),
                    count(Some(a.assigned)).into(),
                    count(Some(not_counted)).into(),
                    pct(own).into(),
                    comparison.into(),
                    pct(Some(a.overall)).into(),
                    num(Some(100.0 * a.differential), 1).into(),
                    a.boundary.as_str().into(),
                    a.rating.as_str().into(),
                ]
            })
            .collect(),
        vec![],
    );
    s.push_str(&list(
        &[
            "Provider's own rate: the provider's rostered students not counted, divided by its rostered students.".into(),
            "Comparison group's rate: untutored students without a usable pre- and post-test, divided by untutored students on the roster.".into(),
            "Overall (pooled) rate: the WWC overall attrition, both groups pooled: all students not counted divided by all students rostered, provider and comparison group together.".into(),
            "Differential: the provider's own rate minus the comparison group's, in percentage points (absolute value); WWC rates the pair (overall, differential) against the boundary.".into(),
        ],
        "",
    ));
    s
}

/// Vendor measures against local norms: per provider, how obc's CGP/CGI (from the
/// contract's norms) agree with the vendor's, both shown and neither preferred.
fn vendor_section(c: &Check) -> String {
    let a = &c.settlement.vendor_agreement;
    let mut body =
        p("The assessment vendor reports its own growth measures for each student; obc computes its own from the \
         contract's norms. The vendor's are opaque (its norms and method are not published with the file); obc's \
         can be audited. Both are shown here and neither replaces the other: the contract's outcome reads the one \
         it names. For each provider: the number of analysed students with both values, the correlation, the \
         mean difference (obc minus vendor), and the share of students met by one and not the other, at the \
         threshold shown (the contract outcome's at_least when the outcome is on that measure, otherwise CGP 50 \
         or CGI 0; for met projected growth, obc's growth at least the norm's expected growth against the \
         vendor's flag). Cells of fewer than min_cell students show no number.");
    let rows: Vec<Vec<Cell>> = a
        .iter()
        .map(|r| {
            vec![
                r.provider.as_str().into(),
                r.measure.as_str().into(),
                r.n.map_or_else(|| "".to_string(), |n| n.to_string()).into(),
                num(r.correlation, 2).into(),
                num(r.mean_difference, 2).into(),
                num(r.threshold, 1).into(),
                num(r.disagree_share, 3).into(),
                r.suppressed.clone().unwrap_or_default().into(),
            ]
        })
        .collect();
    body.push_str(&table(
        "obc's measures against the vendor's",
        &[
            "provider",
            "measure",
            "n",
            "correlation",
            "mean difference (obc − vendor)",
            "threshold",
            "share differing",
            "note",
        ],
        rows,
        vec![],
    ));
    section("vendor", "Vendor measures against local norms", &body)
}

/// The cohort drift: the history cohort's level of the metric, the comparison group's, the
/// shift and the providers whose decision it changes (verdicts only: nothing per provider
/// that min_cell suppression withholds).
fn drift_section(d: &Drift) -> String {
    let r = match d {
        Drift::Reported(r) => r,
        Drift::NotReported { reason } => {
            return section("drift", "Cohort drift", &p(&format!("The cohort drift is not reported: {reason}.")));
        }
    };
    let level = if r.level.is_finite() { format!("{}%", (r.level * 100.0).round()) } else { "".into() };
    let interval = |lo: Option<f64>, hi: Option<f64>| match (lo, hi) {
        (Some(lo), Some(hi)) => format!(" [{level} interval {}, {}]", num(Some(lo), 3), num(Some(hi), 3)),
        _ => " (no interval)".into(),
    };
    let mut body = p(&format!(
        "The norms and the targets assume the history cohort's level of the metric: {} (SE {}, {} history \
         students scored against the norms fitted on them). This year's comparison group (untutored students) \
         reached {}{}. The shift, comparison minus history, is {}{}; a drift of the whole cohort moves every \
         provider's metric by as much. Below, each decision the same rule would change if the shift were \
         removed from the provider's estimate.",
        num(Some(r.history.point), 3),
        num(Some(r.history.se), 3),
        r.history.n,
        num(Some(r.comparison), 3),
        interval(r.comparison_low, r.comparison_high),
        num(Some(r.shift), 3),
        interval(r.shift_low, r.shift_high),
    ));
    let rows: Vec<Vec<Cell>> = r
        .providers
        .iter()
        .flat_map(|pr| pr.tiers.iter().filter(|t| t.changed).map(move |t| (pr, t)))
        .map(|(pr, t)| {
            vec![
                pr.provider.as_str().into(),
                format!("{} ({})", t.name, t.threshold).into(),
                t.settled.as_str().into(),
                t.without_shift.as_str().into(),
            ]
        })
        .collect();
    if rows.is_empty() {
        body.push_str(&p("No provider's decision changes when the shift is removed."));
    } else {
        body.push_str(&table(
            "Decisions that change when the shift is removed",
            &["provider", "tier", "as settled", "without the shift"],
            rows,
            vec![],
        ));
    }
    section("drift", "Cohort drift", &body)
}

fn midpoint_section(m: &MidpointReport) -> String {
    let or = |s: &str, none: &'static str| if s.is_empty() { none.to_string() } else { s.to_string() };
    let projection = if m.projection_not_possible.is_some() {
        "No interim test is available yet, so growth is not projected".to_string()
    } else {
        format!(
            "Growth to the interim test is projected to the planned post-test date {}",
            or(&m.projected_post_date, "(not given)")
        )
    };
    let mut body = p(&format!(
        "Midpoint review as of {}: {} of the contracted service period ({} to {}) has elapsed. {projection}; the dosage rule is prorated to {} sessions.",
        m.as_of,
        pct(Some(m.fraction_of_service_elapsed)),
        or(&m.service_start, "?"),
        or(&m.service_end, "?"),
        num(Some(f64::from(m.prorated_min_sessions)), 0)
    ));
    if !m.assumptions.is_empty() && m.projection_not_possible.is_none() {
        body.push_str(&p(&format!("Assumptions: {}.", m.assumptions)));
    }
    body.push_str(&table(
        "Dosage delivered against contracted, to date",
        &[
            "provider",
            "rostered",
            "meeting the prorated dosage rule",
            "mean sessions attended",
            "contracted to date",
            "delivered share of contracted",
        ],
        m.dosage
            .iter()
            .map(|d| {
                vec![
                    d.provider.as_str().into(),
                    count(Some(d.rostered)).into(),
                    count(Some(d.meeting_dosage_rule)).into(),
                    num(Some(d.mean), 1).into(),
                    num(d.contracted_to_date, 1).into(),
                    pct(d.share).into(),
                ]
            })
            .collect(),
        vec![],
    ));
    if let Some(why) = &m.projection_not_possible {
        body.push_str(&p(&format!("Outcome projections are not yet possible: {why}.")));
        return section("midpoint", "Midpoint review", &body);
    }
    body.push_str(&table(
        "Projected decision and projected chance of meeting each tier",
        &["provider", "tier", "threshold", "projected decision", "projected chance of meeting the tier"],
        m.projection
            .iter()
            .map(|r| {
                vec![
                    r.provider.as_str().into(),
                    r.tier.as_str().into(),
                    num(Some(r.threshold), 3).into(),
                    r.projected_decision.as_str().into(),
                    r.projected_chance_of_meeting.map_or("suppressed".into(), |v| pct(Some(v))).into(),
                ]
            })
            .collect(),
        vec![],
    ));
    section("midpoint", "Midpoint review", &body)
}

fn manifest_section(m: &Manifest) -> String {
    let mut body = p(&format!(
        "Produced by {} {} with the command `obc {}`; seed {}. The same inputs (identified by their SHA-256) and seed give identical results.",
        if m.tool.is_empty() { "obc" } else { &m.tool },
        m.version,
        m.command,
        m.seed.map_or("none".into(), |s| s.to_string())
    ));
    body.push_str(&table(
        "Inputs: rows read = rows used + rows in exceptions",
        &["role", "file", "SHA-256", "rows read", "rows used", "rows excepted"],
        m.inputs
            .iter()
            .map(|i| {
                vec![
                    role_name(i.role).into(),
                    i.file.as_str().into(),
                    Cell::Html(format!("<code>{}</code>", esc(&i.sha256))),
                    count(Some(i.rows_read)).into(),
                    count(Some(i.rows_used)).into(),
                    count(Some(i.rows_excepted)).into(),
                ]
            })
            .collect(),
        vec![],
    ));
    body.push_str(&table(
        "Outputs (restricted files hold student identifiers: share only under the data-sharing agreement)",
        &["file", "restricted", "rows"],
        m.outputs
            .iter()
            .map(|o| {
                vec![
                    o.file.as_str().into(),
                    if o.restricted { "yes" } else { "no" }.into(),
                    o.rows.map_or(String::new(), |r| r.to_string()).into(),
                ]
            })
            .collect(),
        vec![],
    ));
    body.push_str("<h3>Warnings</h3>\n");
    body.push_str(&list(&messages(&m.warnings), "No warnings."));
    section("manifest", "Manifest", &body)
}

/// Renders the report of `obc baseline` from its recommendation.json.
pub fn render_baseline(b: &Baseline) -> Result<Rendered, ReportError> {
    let mut figs = Figures::default();
    let mut body = format!("<h1>{}</h1>\n", esc(&b.header.contract));
    body.push_str(&section("tiers", "Chance of earning each tier", &tier_lead(b)));
    body.push_str(&section("summary", "Summary: recommended threshold", &recommendation_summary(b)));
    body.push_str(&section("population", "Population", &population::population_section(&b.baseline)));
    body.push_str(&section("oc", "Operating characteristics", &oc_section(b, &mut figs)?));
    if let Some(c) = &b.baseline.cost {
        body.push_str(&section("cost", "The price of the contract", &cost_section(c, &mut figs)?));
    }
    body.push_str(&section("targets", "Targets", &targets_section(b)));
    body.push_str(&section("methods", "Methods (from the contract)", &methods::appendix(&b.manifest.spec)));
    body.push_str(&section("glossary", "Appendix: glossary", &glossary::glossary_html()));
    body.push_str(&manifest_section(&b.manifest));
    Ok(Rendered { html: html::page(&format!("{}: target-setting report", b.header.contract), &body), svgs: figs.svgs })
}

/// The summary of a target-setting report: business as usual and the recommendation, in
/// words and as a table.
fn recommendation_summary(b: &Baseline) -> String {
    let body_b: &BaselineBody = &b.baseline;
    let r = &body_b.recommendation;
    let bau = &body_b.business_as_usual;
    let level = Some(bau.level)
        .filter(|l| l.is_finite())
        .map_or_else(|| "".to_string(), |l| format!("{}% ", (l * 100.0).round()));
    let mut text = format!(
        "Target setting from the district's history before signing. Without tutoring (business as usual), {} history students reached {} ({level}interval). ",
        body_b.population.target_students,
        with_interval(bau)
    );
    if !b.header.metric.is_empty() {
        text.push_str(&format!("The metric is the {}. ", b.header.metric));
    }
    text.push_str(&format!(
        "For a provider of {} students, the recommended threshold is {:.3}: a provider with no effect would meet it {} of the time (at most {} wanted), and a provider with a true effect of {} SD would meet it {} of the time (power). ",
        r.n,
        r.threshold,
        pct(Some(r.p_met_null)),
        pct(Some(r.alpha)),
        r.power_effect,
        pct(Some(r.power))
    ));
    text.push_str(&match r.min_n {
        Some(n) => {
            format!("The smallest provider size with power at least {} is {n} students.", pct(Some(r.target_power)))
        }
        None => format!("No provider size in the search reaches power {}.", pct(Some(r.target_power))),
    });
    if let Some(c) = &body_b.cost {
        text.push(' ');
        text.push_str(&c.business_as_usual_sentence());
    }
    let mut summary = format!("<p class=\"summary\">{}</p>\n", esc(&text));
    if let Some(note) = &body_b.threshold_note {
        summary.push_str(&p(note));
    }
    summary.push_str(&table(
        "Recommendation",
        &["quantity", "value"],
        vec![
            vec!["business-as-usual level".into(), with_interval(bau).into()],
            vec!["provider size".into(), r.n.to_string().into()],
            vec!["recommended threshold".into(), format!("{:.3}", r.threshold).into()],
            vec!["chance a no-effect provider meets it".into(), pct(Some(r.p_met_null)).into()],
            vec!["largest acceptable chance (alpha)".into(), pct(Some(r.alpha)).into()],
            vec![format!("power at {} SD", r.power_effect).into(), pct(Some(r.power)).into()],
            vec![
                format!("minimum provider size for power {}", pct(Some(r.target_power))).into(),
                count(r.min_n.map(|n| n as u64)).into(),
            ],
        ],
        vec![],
    ));
    summary
}

/// The operating-characteristic curves: one panel per tier of the contract, the chance of
/// earning the tier against the true effect, one curve per provider size of the grid.
fn oc_section(b: &Baseline, figs: &mut Figures) -> Result<String, ReportError> {
    let body_b = &b.baseline;
    let r = &body_b.recommendation;
    let tiers = tiers_of(b);
    if tiers.iter().all(|t| t.chances.is_empty()) {
        return Ok(p("The baseline has no operating-characteristic cells at the contract's tiers."));
    }
    let mut oc = String::new();
    for t in &tiers {
        let mut sizes: Vec<usize> = t.chances.iter().map(|c| c.provider_size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let curves: Vec<plots::Curve> = sizes
            .iter()
            .map(|&n| {
                let mut pts: Vec<(f64, f64)> =
                    t.chances.iter().filter(|c| c.provider_size == n).map(|c| (c.effect, c.p_earn)).collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                plots::Curve { label: format!("{n} students"), points: pts }
            })
            .collect();
        let refs = vec![
            plots::Reference { label: format!("alpha = {}", r.alpha), y: r.alpha },
            plots::Reference { label: format!("target power = {}", r.target_power), y: r.target_power },
        ];
        let alt = format!(
            "Chance of earning {} (threshold {:.2}) against the provider's true effect in SD, one curve per provider size ({}); alpha and target power as grey dashed lines.",
            t.name,
            t.threshold,
            sizes.iter().map(|n| format!("{n} students")).collect::<Vec<_>>().join(", ")
        );
        let plot = plots::curves(
            &alt,
            "true effect of the provider (SD)",
            &format!("chance of earning {}", t.name),
            &curves,
            &refs,
        )?;
        oc.push_str(&figs.add(
            &plot,
            &format!("oc_tier_{}.svg", t.tier),
            &format!(
                "Chance that a provider earns {} (its metric's decision statistic reaches {:.2}) against the provider's true effect, one curve per provider size, each with its own marker and dash pattern (labelled at the right). Grey dashed lines: alpha (the most a no-effect provider should earn a tier) and the target power.",
                t.name, t.threshold
            ),
        ));
    }
    Ok(oc)
}

/// The price of the contract: the payment for business as usual, the expected payment
/// against the true effect (one line per provider size, a 10-90% band, the budget line)
/// and the table of `cost.csv`.
fn cost_section(c: &crate::contract::results::Cost, figs: &mut Figures) -> Result<String, ReportError> {
    let mut out = p(&format!(
        "{} What a provider would be paid under the contract's card, from the same {} draws of history students as \
         the operating characteristics: each drawn student is shifted by the true effect, re-scored and paid as \
         settlement would pay a counted student, and the provider's tiers are decided from the same draws.",
        c.business_as_usual_sentence(),
        c.reps
    ));
    if let Some(d) = &c.dosage {
        out.push_str(&p(&format!("History students have no sessions: {d}.")));
    }
    let mut sizes: Vec<usize> = c.cells.iter().map(|x| x.n).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let thousands = |v: f64| v / 1000.0;
    let series: Vec<plots::Band> = sizes
        .iter()
        .map(|&n| {
            let mut pts: Vec<(f64, f64, f64, f64)> = c
                .cells
                .iter()
                .filter(|x| x.n == n)
                .map(|x| (x.effect, thousands(x.mean), thousands(x.p10), thousands(x.p90)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            plots::Band { label: format!("{n} students"), points: pts }
        })
        .collect();
    let refs: Vec<plots::Reference> = c
        .budget_total
        .map(|t| plots::Reference { label: format!("budget {}", money(Some(t))), y: thousands(t) })
        .into_iter()
        .collect();
    let alt = format!(
        "Expected payment to a provider (thousands) against the provider's true effect in SD, one line per provider \
         size ({}), with a grey band from the 10th to the 90th percentile{}.",
        sizes.iter().map(|n| format!("{n} students")).collect::<Vec<_>>().join(", "),
        if refs.is_empty() { "" } else { "; the budget as a grey dashed line" }
    );
    let plot = plots::bands(&alt, "true effect of the provider (SD)", "expected payment (thousands)", &series, &refs)?;
    out.push_str(&figs.add(
        &plot,
        "cost.svg",
        "Expected payment to a provider against its true effect, one line per provider size, each with its own \
         marker and dash pattern (labelled at the right); the grey band spans the 10th to the 90th percentile of \
         the payment. A grey dashed line marks the budget ([budget] total) when the contract sets one.",
    ));
    let rows = c
        .cells
        .iter()
        .map(|x| {
            vec![
                x.n.to_string().into(),
                num(Some(x.effect), 2).into(),
                money(Some(x.mean)).into(),
                money(Some(x.p10)).into(),
                money(Some(x.p90)).into(),
                pct(Some(x.p_cap_binds)).into(),
                money(Some(x.mean_per_student)).into(),
                money(Some(x.mc_se)).into(),
            ]
        })
        .collect();
    out.push_str(&table(
        "Payment by provider size and true effect",
        &["students", "effect (SD)", "mean", "10th pct", "90th pct", "cap binds", "mean per student", "MC SE of mean"],
        rows,
        vec![],
    ));
    Ok(out)
}

/// The chance of earning each tier: `baseline.tiers`, or for a recommendation.json written
/// before it existed, the OC cells at the tier values of the contract in its manifest.
fn tiers_of(b: &Baseline) -> Vec<TierChances> {
    if !b.baseline.tiers.is_empty() {
        return b.baseline.tiers.clone();
    }
    let tiers = b.manifest.spec.get("thresholds").and_then(|t| t.as_array()).cloned().unwrap_or_default();
    tiers
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let value = t.get("value")?.as_f64()?;
            let name = t.get("name").and_then(|n| n.as_str()).filter(|n| !n.is_empty());
            let chances = b
                .baseline
                .cells
                .iter()
                .filter(|c| c.threshold == value)
                .map(|c| TierChance { effect: c.effect, provider_size: c.n, p_earn: c.p_met })
                .collect();
            Some(TierChances {
                tier: i + 1,
                name: name.map_or_else(|| format!("tier {}", i + 1), str::to_string),
                threshold: value,
                chances,
            })
        })
        .collect()
}

/// The lead of the target-setting report: per tier, in words and as a table, the chance
/// that a provider earns the tier for each provider size and true effect of the grid.
fn tier_lead(b: &Baseline) -> String {
    let tiers = tiers_of(b);
    if tiers.iter().all(|t| t.chances.is_empty()) {
        return p(
            "The recommendation has no operating-characteristic cells at the contract's tiers (written before the grid held them): run obc baseline again.",
        );
    }
    let mut out = list(&crate::contract::baseline::tier_sentences(&tiers, &b.baseline.recommendation), "");
    for t in &tiers {
        let (effects, sizes) = t.axes();
        let heads: Vec<String> = std::iter::once("provider size (students)".to_string())
            .chain(effects.iter().map(
                |d| {
                    if *d == 0.0 { "no effect".to_string() } else { format!("true effect {d} SD") }
                },
            ))
            .collect();
        let head_refs: Vec<&str> = heads.iter().map(String::as_str).collect();
        let rows = sizes
            .iter()
            .map(|&n| {
                std::iter::once(n.to_string().into()).chain(effects.iter().map(|&d| pct(t.at(d, n)).into())).collect()
            })
            .collect();
        out.push_str(&table(
            &format!("Chance of earning {} (threshold {:.2})", t.name, t.threshold),
            &head_refs,
            rows,
            vec![],
        ));
    }
    out
}

/// Targets in SD units against published effects, and the warnings of target setting.
fn targets_section(b: &Baseline) -> String {
    let body_b = &b.baseline;
    let rows = body_b
        .targets
        .iter()
        .map(|t| {
            let lines = t.comparison.as_ref().map_or_else(Vec::new, |c| c.lines.clone());
            vec![
                t.label.as_str().into(),
                num(Some(t.threshold), 3).into(),
                t.sd_equivalent.map_or("not available".into(), |v| format!("{v:+.2} SD")).into(),
                Cell::Html(if lines.is_empty() { "".into() } else { list(&lines, "") }),
            ]
        })
        .collect();
    let mut targets = table(
        "Targets in SD units against published tutoring effects",
        &["target", "threshold", "SD equivalent", "comparison with published effects"],
        rows,
        vec![],
    );
    let mut warnings = messages(&body_b.warnings);
    for t in &body_b.targets {
        if let Some(c) = &t.comparison {
            warnings.extend(messages(&c.warnings).iter().map(|w| format!("{}: {w}", t.label)));
        }
    }
    targets.push_str("<h3>Warnings</h3>\n");
    targets.push_str(&list(&warnings, "No warnings."));
    targets
}
