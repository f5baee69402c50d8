//! `obc check CONTRACT.toml --out DIR [--as-of DATE]`: settles a contract.
//!
//! Parses the arguments, settles the contract ([`crate::settle`]) and writes the outputs:
//! `results.json` (with the manifest), `providers.csv`, `groups.csv`, `exceptions.csv`, the
//! restricted `audit.csv`, `report.html`, `figures/`, `dosage.csv` at a midpoint review,
//! and `manifest.json` last.

use std::path::{Path, PathBuf};

use super::UsageError;
use crate::contract::norms::ContractNorms;
use crate::contract::results::{CheckResults, Header, MidpointReport};
use crate::contract::run::{self, Settled};
use crate::contract::settle::{NormScore, ProviderResult, Settlement, Student};
use crate::data::table::{Cell, CsvSink, Format};
use crate::data::{self, Accounting};
use crate::manifest::{Manifest, OutputFile};
use crate::profile::phase;
use crate::report::tables;
use chrono::NaiveDate;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc check contract.toml --out settlement   # settle at year end
  obc check contract.toml --as-of 2026-02-15 --out midpoint   # a midpoint review: projections, nothing is payable
  obc verify settlement   # later: is the folder still what obc wrote?")]
pub struct Args {
    /// The contract file (TOML).
    pub contract: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "obc-check")]
    pub out: PathBuf,
    /// Midpoint review: use only sessions and tests dated on or before this date (YYYY-MM-DD),
    /// report dosage delivered against contracted and the projected chance of meeting each
    /// threshold.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Go on when more rows of an input file are invalid than `[limits] max_invalid_share`
    /// allows; the manifest records it.
    #[arg(long)]
    pub allow_partial: bool,
}

fn parse_as_of(text: &str) -> anyhow::Result<NaiveDate> {
    crate::data::date::parse_date(text)
        .ok_or_else(|| UsageError(format!("--as-of {text:?} is not a date (write YYYY-MM-DD)")).into())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let (contract, base) = super::read_contract(&args.contract)?;
    let as_of = args.as_of.as_deref().map(parse_as_of).transpose()?;
    let opts = run::Options { as_of, allow_partial: args.allow_partial };
    let settled = run::settle(&contract, &base, &opts)?;
    let out = super::out_dir(&args.out, &super::contract_inputs(&args.contract, &settled.terms, &base), &OUTPUTS)?;
    let midpoint = settled.midpoint.as_ref().map(|m| m.report(&settled.terms, &settled.students, &settled.settlement));
    if let Some(m) = &settled.midpoint {
        tables::dosage(m, &settled.students).write_into(&out, "dosage.csv", Format::Csv)?;
    }
    write_outputs(args, &out, &settled, as_of, midpoint)?;
    // A million students' structures take seconds to free, and the process ends here.
    std::mem::forget(settled);
    Ok(())
}

/// Every output `obc check` may write (checked against the inputs before writing).
const OUTPUTS: [&str; 10] = [
    "providers.csv",
    "groups.csv",
    "vendor_agreement.csv",
    "audit.csv",
    "exceptions.csv",
    "results.json",
    "report.html",
    "figures",
    "dosage.csv",
    "manifest.json",
];

fn write_outputs(
    args: &Args,
    out: &data::output::OutputDir,
    settled: &Settled,
    as_of: Option<NaiveDate>,
    midpoint: Option<MidpointReport>,
) -> anyhow::Result<()> {
    let Settled { terms: contract, analytic, history, norms, students, settlement: s, .. } = settled;
    let (history, norms) = (history.as_ref(), norms.as_ref());
    phase("writing");
    let providers = tables::providers(contract, s, midpoint.as_ref());
    providers.write_into(out, "providers.csv", Format::Csv)?;
    let groups = tables::groups(s, midpoint.as_ref());
    groups.write_into(out, "groups.csv", Format::Csv)?;
    let agreement = (!s.vendor_agreement.is_empty()).then(|| tables::vendor_agreement(s));
    if let Some(a) = &agreement {
        a.write_into(out, "vendor_agreement.csv", Format::Csv)?;
    }
    let audit_rows = write_audit(out, students, s)?;
    phase("audit written");
    let mut ledgers: Vec<&data::Ledger> = analytic.ledgers.iter().collect();
    if let Some(h) = history {
        ledgers.push(&h.ledger);
    }
    let exceptions_rows = data::write_exceptions(out, "exceptions.csv", ledgers.iter().copied())?;
    phase("exceptions written");

    let mut inputs: Vec<Accounting> = analytic.accounting()?;
    if let Some(h) = history {
        inputs.push(h.accounting()?);
    }
    let mut m = Manifest::new(
        if as_of.is_some() { "check --as-of" } else { "check" },
        serde_json::to_value(contract)?,
        Some(contract.inference.seed),
    );
    m.inputs = inputs.clone();
    m.allow_partial = args.allow_partial;
    m.outputs = vec![
        OutputFile::new("results.json", false, None),
        OutputFile::new("providers.csv", false, Some(providers.height() as u64)),
        OutputFile::new("groups.csv", false, Some(groups.height() as u64)),
        OutputFile::new("audit.csv", true, Some(audit_rows)),
        OutputFile::new("exceptions.csv", true, Some(exceptions_rows)),
        OutputFile::new("report.html", false, None),
        OutputFile::new("figures/", false, None),
    ];
    if as_of.is_some() {
        m.outputs.push(OutputFile::new("dosage.csv", false, None));
    }
    if let Some(a) = &agreement {
        m.outputs.push(OutputFile::new("vendor_agreement.csv", false, Some(a.height() as u64)));
    }
    let mut warnings = analytic.warnings.clone();
    if let Some(h) = history {
        warnings.extend(h.warnings.iter().map(|w| w.prefixed("history: ")));
    }
    if let Some(n) = norms {
        warnings.extend(n.warnings.iter().cloned());
    }
    // Before the interim test there are no outcomes: the settlement's warnings (no counted
    // students, attrition of 100%) describe nothing and are left out.
    if midpoint.as_ref().is_none_or(|m| m.projection_not_possible.is_none()) {
        warnings.extend(s.warnings.iter().cloned());
        warnings.extend(s.fairness.warnings.iter().cloned());
        warnings.extend(s.fairness.regression_to_mean.iter().cloned());
    }
    m.warnings = warnings.clone();
    let figures = crate::contract::figures::figures(contract, students, s, as_of);
    let results = CheckResults {
        header: Header::of(contract),
        settlement: s.public(),
        figures: Some(figures),
        norms: norms.map(ContractNorms::summary),
        midpoint,
        manifest: m.clone(),
    };
    let mut json = serde_json::to_string_pretty(&results)?;
    json.push('\n');
    out.write("results.json", json.as_bytes())?;
    phase("results written");

    let results_path = args.out.join("results.json");
    let lines = match &results.midpoint {
        None => settlement_lines(s, &results_path),
        Some(m) => midpoint_lines(s, m, &results_path),
    };
    for line in lines {
        eprintln!("{line}");
    }
    super::print_accounting(&inputs);
    if contract.files.assignments.is_some() {
        let sources = students.iter().map(|s| s.provider_source);
        super::print_provider_sources(sources, "student x subject rows");
    }
    // Warnings last, grouped by code, each group with what it means for the payments.
    super::print_warnings(&warnings);
    // The public report, rendered from exactly the JSON written above, so that
    // `obc report results.json` reproduces it byte for byte.
    let written: CheckResults = serde_json::from_str(&json)?;
    super::report::write(out, &crate::report::render_check(&written)?)?;
    // The standalone manifest, last: every output with its SHA-256 (`obc verify`).
    super::write_manifest(out, &m)?;
    Ok(())
}

/// A provider's metric with its interval, as the console prints it.
fn console_metric(p: &ProviderResult) -> String {
    match (&p.estimate, p.suppressed) {
        (Some(e), false) => format!(
            "{:.3} [{}, {}]",
            e.point,
            e.low.map_or("-".into(), |v| format!("{v:.3}")),
            e.high.map_or("-".into(), |v| format!("{v:.3}"))
        ),
        (Some(_), true) => "suppressed (n < min_cell)".into(),
        (None, _) => p.no_estimate.as_ref().map_or_else(String::new, ToString::to_string),
    }
}

/// The console summary of a settlement: one line per provider and the total payable.
fn settlement_lines(s: &Settlement, results: &Path) -> Vec<String> {
    let mut lines: Vec<String> = s
        .providers
        .iter()
        .map(|p| {
            let tiers: Vec<String> = p.tiers.iter().map(|t| format!("{} {}", t.name, t.verdict.as_str())).collect();
            format!(
                "{}: {} counted of {} rostered; metric {}; {}; payable {:.2}{}",
                p.provider,
                p.counts.counted,
                p.counts.rostered,
                console_metric(p),
                tiers.join(", "),
                p.payment.payable,
                p.payment.cap_note().map_or_else(String::new, |n| format!(" ({n})"))
            )
        })
        .collect();
    lines.push(format!("total payable {:.2}; results -> {}", s.totals.payable, results.display()));
    lines
}

/// The console summary of a midpoint review (README "Midpoint review"): per provider the
/// dosage so far and, once an interim test is available, the projected metric, each tier's
/// projected decision with its projected chance, and the projected payment; nothing is
/// payable.
fn midpoint_lines(s: &Settlement, m: &MidpointReport, results: &Path) -> Vec<String> {
    let mut lines = vec![match m.projection_not_possible {
        None => format!("Midpoint review as of {}: projections, nothing is payable", m.as_of),
        Some(_) => format!(
            "Midpoint review as of {}: dosage only, outcome projections not yet possible; nothing is payable",
            m.as_of
        ),
    }];
    for p in &s.providers {
        let d = m.dosage.iter().find(|d| d.provider == p.provider);
        let dosage = d.map_or_else(String::new, |d| {
            let contracted = match (d.contracted_to_date, d.share) {
                (Some(c), Some(sh)) => format!(" of {c:.1} contracted to date ({:.1}%)", sh * 100.0),
                _ => String::new(),
            };
            format!(
                "; mean {:.1} sessions attended{contracted}; {} meet the prorated dosage rule ({} sessions)",
                d.mean, d.meeting_dosage_rule, m.prorated_min_sessions
            )
        });
        if m.projection_not_possible.is_some() {
            lines.push(format!(
                "{}: {} rostered{dosage}; outcome projection not yet possible",
                p.provider, p.counts.rostered
            ));
            continue;
        }
        let tiers: Vec<String> = p
            .tiers
            .iter()
            .map(|t| {
                let chance = match t.p_at_least.filter(|_| !p.suppressed) {
                    Some(c) => format!("projected chance of meeting {:.1}%", c * 100.0),
                    None => "projected chance not shown".into(),
                };
                format!("{} {} ({chance})", t.name, t.verdict.as_str())
            })
            .collect();
        lines.push(format!(
            "{}: {} counted so far of {} rostered{dosage}; projected metric {}; projected decision {}; projected payment {:.2}{}, not payable",
            p.provider,
            p.counts.counted,
            p.counts.rostered,
            console_metric(p),
            tiers.join(", "),
            p.payment.payable,
            p.payment.cap_note().map_or_else(String::new, |n| format!(" ({n})"))
        ));
    }
    lines.push(match &m.projection_not_possible {
        Some(why) => format!("outcome projections not yet possible: {why}; nothing is payable; results -> {}", results.display()),
        None => format!(
            "projected total {:.2} if settled on these projections; nothing is payable at a midpoint review; results -> {}",
            s.totals.payable,
            results.display()
        ),
    });
    lines
}

/// `audit.csv` (restricted): one row per student, streamed. Returns the rows written.
fn write_audit(out: &data::output::OutputDir, students: &[Student], s: &Settlement) -> anyhow::Result<u64> {
    const HEADER: [&str; 26] = [
        "student_id",
        "subject",
        "provider_id",
        "tutor_id",
        "school_id",
        "grade",
        "sessions_attended",
        "minutes_attended",
        "counted",
        "reason_not_counted",
        "pre",
        "post",
        "growth",
        "weeks",
        "expected_growth",
        "growth_sd",
        "cgi",
        "cgp",
        "sgp",
        "met_outcome",
        "regressed",
        "base",
        "outcome_payment",
        "penalty",
        "contribution",
        "provider_source",
    ];
    // a rate card adds each line's amount, the student cap's cut and why a line paid nothing
    let names: Vec<String> = s.providers.iter().find(|p| !p.payment.lines.is_empty()).map_or_else(Vec::new, |p| {
        (1..=p.payment.lines.len())
            .map(|k| format!("rate_{k}"))
            .chain(["student_cap_cut".into(), "rate_notes".into()])
            .collect()
    });
    let header: Vec<&str> = HEADER.iter().copied().chain(names.iter().map(String::as_str)).collect();
    let mut sink = CsvSink::create(out, "audit.csv", &header)?;
    let none = NormScore::default();
    sink.rows_of(&s.audit, |r, buf| {
        let notes = r.notes();
        let mut extra: Vec<Cell<'_>> = Vec::new();
        if !names.is_empty() {
            let n = names.len() - 2;
            extra.extend((0..n).map(|k| Cell::Float(Some(r.lines.get(k).copied().unwrap_or(0.0)))));
            extra.push(Cell::Float(Some(r.student_cap_cut)));
            extra.push(Cell::Text(notes.as_deref()));
        }
        let st = &students[r.index];
        let sc = st.score.as_ref().unwrap_or(&none);
        buf.row(
            &[
                Cell::Text(Some(&st.student_id)),
                Cell::Text(Some(&st.subject)),
                Cell::Text(st.provider.as_deref()),
                Cell::Text(st.tutor.as_deref()),
                Cell::Text(Some(&st.school)),
                Cell::Int(Some(i64::from(st.grade))),
                Cell::Int(Some(i64::from(st.sessions))),
                Cell::Float(Some(st.minutes)),
                Cell::Bool(Some(r.counted)),
                Cell::Text(r.reason.as_deref()),
                Cell::Float(st.pre),
                Cell::Float(st.post),
                Cell::Float(st.growth()),
                Cell::Float(st.weeks),
                Cell::Float(sc.expected_growth),
                Cell::Float(sc.growth_sd),
                Cell::Float(sc.cgi),
                Cell::Float(sc.cgp),
                Cell::Int(sc.sgp.map(i64::from)),
                Cell::Bool(r.met),
                Cell::Bool(r.regressed),
                Cell::Float(Some(r.base)),
                Cell::Float(Some(r.outcome)),
                Cell::Float(Some(r.penalty)),
                Cell::Float(Some(r.base + r.outcome - r.penalty)),
                Cell::Text(Some(st.provider_source.as_str())),
            ]
            .into_iter()
            .chain(extra)
            .collect::<Vec<_>>(),
        );
    })?;
    Ok(sink.finish()?.0)
}
