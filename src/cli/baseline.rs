//! `obc baseline CONTRACT.toml --out DIR`: target setting from the history file.
//!
//! Writes `oc.csv` (P(metric meets threshold | effect, provider size)), `cost.csv` (the
//! distribution of a provider's payment under the contract's card by provider size and
//! effect), `recommendation.json`
//! (business-as-usual level, recommended threshold, power, minimum n, targets in SD units
//! against published effects, manifest) and `exceptions.csv` (history rows not used).

use std::path::PathBuf;

use crate::contract::baseline::Baseline;
use crate::contract::results::{BaselineResults, Header};
use crate::contract::run::{self, Targets};
use crate::data::table::Format;
use crate::manifest::{Manifest, OutputFile};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc baseline contract.toml --out targets   # before signing: OC curves, recommended threshold, minimum n
  obc report targets/recommendation.json   # re-render the report after editing nothing but the figures' code")]
pub struct Args {
    /// The contract file (TOML); its [baseline] section sets the grid.
    pub contract: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "obc-baseline")]
    pub out: PathBuf,
    /// Go on when more rows of the history file are invalid than `[limits]
    /// max_invalid_share` allows (recorded in the manifest).
    #[arg(long)]
    pub allow_partial: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let (contract, base) = super::read_contract(&args.contract)?;
    let Targets { history, norms, weeks, baseline: result, planned: roster, warnings: partial } =
        run::baseline(&contract, &base, args.allow_partial)?;

    let inputs = super::contract_inputs(&args.contract, &contract, &base);
    let planned = ["oc.csv", "cost.csv", "exceptions.csv", "recommendation.json", "report.html", "figures"];
    let out = super::out_dir(&args.out, &inputs, &planned)?;
    let oc = crate::report::tables::oc(&result);
    oc.write_into(&out, "oc.csv", Format::Csv)?;
    let cost = crate::report::tables::cost(&result);
    cost.write_into(&out, "cost.csv", Format::Csv)?;
    let mut ledgers = vec![&history.ledger];
    ledgers.extend(roster.as_ref().map(|p| &p.ledger));
    let exceptions_rows = crate::data::write_exceptions(&out, "exceptions.csv", ledgers)?;
    let mut accounting = vec![history.accounting()?];
    if let Some(p) = &roster {
        accounting.push(p.accounting()?);
    }
    let mut m = Manifest::new("baseline", serde_json::to_value(&contract)?, Some(contract.inference.seed));
    m.inputs = accounting.clone();
    m.allow_partial = args.allow_partial;
    m.outputs = vec![
        OutputFile::new("oc.csv", false, Some(oc.height() as u64)),
        OutputFile::new("cost.csv", false, Some(cost.height() as u64)),
        OutputFile::new("recommendation.json", false, None),
        OutputFile::new("exceptions.csv", true, Some(exceptions_rows)),
        OutputFile::new("report.html", false, None),
        OutputFile::new("figures/", false, None),
    ];
    let mut warnings = partial;
    warnings.extend(history.warnings.iter().map(|w| w.prefixed("history: ")));
    if let Some(n) = &norms {
        warnings.extend(n.warnings.iter().cloned());
    }
    warnings.extend(result.warnings.iter().cloned());
    m.warnings = warnings.clone();
    let rec = BaselineResults { header: Header::of(&contract), weeks, baseline: result.clone(), manifest: m.clone() };
    let mut json = serde_json::to_string_pretty(&rec)?;
    json.push('\n');
    out.write("recommendation.json", json.as_bytes())?;

    for line in crate::contract::baseline::tier_sentences(&result.tiers, &result.recommendation) {
        eprintln!("{line}");
    }
    eprint!("{}", tier_table(&result));
    if let Some(c) = &result.cost {
        eprintln!("{}", c.business_as_usual_sentence());
        if let Some(d) = &c.dosage {
            eprintln!("({d})");
        }
    }
    let b = &result.business_as_usual;
    let pop = &result.population;
    let ess = match (pop.effective_size, &pop.served) {
        (Some(e), Some(crate::contract::baseline::Served::Roster { .. })) => format!(", effective size {e:.0}"),
        _ => String::new(),
    };
    eprintln!(
        "business as usual ({}: {} history students{ess}): {:.3} [{}, {}]",
        crate::contract::calibration::population_name(pop.kind),
        pop.target_students,
        b.point,
        b.low.map_or("-".into(), |v| format!("{v:.3}")),
        b.high.map_or("-".into(), |v| format!("{v:.3}"))
    );
    let r = &result.recommendation;
    eprintln!(
        "recommended threshold for {} students: {:.3} (no-effect provider meets it {:.1}% of the time; power {:.1}% at d = {}); minimum n for power {}: {}",
        r.n,
        r.threshold,
        100.0 * r.p_met_null,
        100.0 * r.power,
        r.power_effect,
        r.target_power,
        r.min_n.map_or("not reached".into(), |n| n.to_string())
    );
    if let Some(note) = &result.threshold_note {
        eprintln!("{note}");
    }
    for t in &result.targets {
        if let Some(c) = &t.comparison {
            for line in &c.lines {
                eprintln!("{}: {line}", t.label);
            }
        }
    }
    eprintln!("oc curves -> {}", args.out.join("oc.csv").display());
    eprintln!("payment by size and effect -> {}", args.out.join("cost.csv").display());
    super::print_accounting(&accounting);
    super::print_warnings(&warnings);
    // The public report, rendered from exactly the JSON written above.
    let written: BaselineResults = serde_json::from_str(&json)?;
    super::report::write(&out, &crate::report::render_baseline(&written)?)?;
    // The standalone manifest, last: every output with its SHA-256 (`obc verify`).
    super::write_manifest(&out, &m)?;
    Ok(())
}

/// The chance of earning each tier as plain text: per tier, one row per provider size and
/// one column per true effect of the grid.
fn tier_table(b: &Baseline) -> String {
    let mut out = String::new();
    for t in &b.tiers {
        let (effects, sizes) = t.axes();
        out.push_str(&format!(
            "chance of earning {} ({:.2}), by provider size and true effect:\n",
            t.name, t.threshold
        ));
        out.push_str(&format!("{:>10}", "students"));
        for d in &effects {
            let head = if *d == 0.0 { "no effect".to_string() } else { format!("{d} SD") };
            out.push_str(&format!("{head:>11}"));
        }
        out.push('\n');
        for n in &sizes {
            out.push_str(&format!("{n:>10}"));
            for d in &effects {
                let cell = t.at(*d, *n).map_or("-".to_string(), |p| format!("{:.1}%", 100.0 * p));
                out.push_str(&format!("{cell:>11}"));
            }
            out.push('\n');
        }
    }
    out
}
