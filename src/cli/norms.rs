//! `obc norms fit | import | score`: growth norms from a data file, from an imported
//! table, and scores of students against them.
//!
//! Each command writes its main output (`--out FILE`) and, next to it, `STEM.exceptions.csv`
//! (every data row not used, with file, row, column and reason) and `STEM.manifest.json`
//! (version, input SHA-256s and row accounting, spec, outputs with their restricted flag).

use std::path::PathBuf;

use anyhow::Context;

use super::UsageError;
use crate::data;
use crate::data::columns::{ColumnData, read_columns};
use crate::data::norms_table::{load_norms_table, load_nwea_wide};
use crate::data::table::{Column, Format, Table};
use crate::data::validate::parse_grade;
use crate::manifest::{Manifest, OutputFile};
use crate::stats::norms::conditional::{ConditionalSpec, SdModel, score as growth_score};
use crate::stats::norms::model::{
    Columns, NORMS_SCHEMA_VERSION, Norms, NormsModel, RowUse, Rows, Scored, Scorer, fit_conditional, fit_sgp,
};
use crate::stats::norms::sgp::{SgpSpec, Solver, Ties};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: NormsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum NormsCommand {
    /// Fit norms (SGP or conditional-normal) per norm group from a data file; write norms.json.
    Fit(FitArgs),
    /// Turn a norms table (CSV/Parquet; long layout, or NWEA's wide layout) into a norms.json.
    Import(ImportArgs),
    /// Score students against a norms.json: SGP, or expected growth, CGI and CGP.
    Score(ScoreArgs),
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum MethodArg {
    /// Student growth percentiles (quantile regression, SGP package defaults).
    Sgp,
    /// Conditional-normal norms: expected growth and SD given the start score (and weeks).
    Conditional,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SolverArg {
    Br,
    Fn,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TiesArg {
    Strict,
    MidRank,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SdModelArg {
    Constant,
    LinearLog,
}

#[derive(Debug, clap::Args)]
pub struct FitArgs {
    /// Data file (CSV, TSV or Parquet), one row per student.
    #[arg(long)]
    pub data: PathBuf,
    /// Prior (start) score column; repeat for more priors, most recent first (SGP orders 1..k).
    #[arg(long = "prior", required = true)]
    pub prior: Vec<String>,
    /// Current (end) score column.
    #[arg(long)]
    pub current: String,
    /// Norm-group column (e.g. grade, subject); repeat for several. None: one group.
    #[arg(long = "by")]
    pub by: Vec<String>,
    /// Instructional weeks column (conditional norms).
    #[arg(long)]
    pub weeks: Option<String>,
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Quantile-regression solver (SGP).
    #[arg(long, value_enum, default_value_t = SolverArg::Br)]
    pub solver: SolverArg,
    /// Smallest norm group (and SGP order) fitted; default 1000.
    #[arg(long)]
    pub min_n: Option<usize>,
    /// How an SGP score equal to a predicted quantile counts.
    #[arg(long, value_enum, default_value_t = TiesArg::Strict)]
    pub ties: TiesArg,
    /// Conditional SD model (conditional norms).
    #[arg(long, value_enum, default_value_t = SdModelArg::Constant)]
    pub sd_model: SdModelArg,
    /// Output norms file (JSON).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Norms table: columns subject, grade, start_score (or start_min, start_max), weeks,
    /// mean_growth, sd; or NWEA's wide layout with --nwea-window.
    #[arg(long)]
    pub table: PathBuf,
    /// Read the table in NWEA's wide layout (Subject, Grade, StartRIT, TCODE, SCODE) for
    /// this window code (e.g. 42 = fall to spring).
    #[arg(long, requires = "nwea_weeks")]
    pub nwea_window: Option<String>,
    /// Instructional weeks the NWEA window stands for (e.g. 32 for fall to spring).
    #[arg(long)]
    pub nwea_weeks: Option<f64>,
    /// Data column holding the subject (as the table names subjects).
    #[arg(long)]
    pub subject: String,
    /// Data column holding the grade (integers, K = 0).
    #[arg(long)]
    pub grade: String,
    /// Data column holding the start score.
    #[arg(long)]
    pub prior: String,
    /// Data column holding the end score.
    #[arg(long)]
    pub current: String,
    /// Data column holding instructional weeks between the tests.
    #[arg(long, conflicts_with = "weeks_value")]
    pub weeks: Option<String>,
    /// Instructional weeks for every student (when the data has no weeks column).
    #[arg(long)]
    pub weeks_value: Option<f64>,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Norms file written by `obc norms fit` or `obc norms import`.
    #[arg(long)]
    pub norms: PathBuf,
    /// Data file (CSV, TSV or Parquet) with the columns the norms name.
    #[arg(long)]
    pub data: PathBuf,
    /// Identifier column(s) carried into the scores; repeat for several.
    #[arg(long = "id", required = true)]
    pub id: Vec<String>,
    /// Standard error of measurement of the prior score (with --sem-current: growth SE and
    /// the probability of having met the target).
    #[arg(long, requires = "sem_current")]
    pub sem_prior: Option<String>,
    #[arg(long, requires = "sem_prior")]
    pub sem_current: Option<String>,
    /// Target conditional growth percentile for target_growth and prob_met (50 = expected growth).
    #[arg(long, default_value_t = 50.0)]
    pub target_cgp: f64,
    /// Output scores file (CSV).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        NormsCommand::Fit(a) => fit(a),
        NormsCommand::Import(a) => import(a),
        NormsCommand::Score(a) => score(a),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("plain data serializes");
    s.push('\n');
    s
}

fn fit(a: &FitArgs) -> anyhow::Result<()> {
    let mut numbers: Vec<String> = a.prior.clone();
    numbers.push(a.current.clone());
    if let Some(w) = &a.weeks {
        numbers.push(w.clone());
    }
    let mut d = read_columns(&a.data, &a.by, &numbers)?;
    let k = a.prior.len();
    let live: Vec<usize> =
        (0..d.ledger.len()).filter(|&i| d.ledger.state(i) == data::ledger::RowState::Pending).collect();
    let rows = Rows {
        keys: live.iter().map(|&i| d.text.iter().map(|c| c[i].clone()).collect()).collect(),
        priors: (0..k).map(|c| live.iter().map(|&i| d.numbers[c][i]).collect()).collect(),
        current: live.iter().map(|&i| d.numbers[k][i]).collect(),
        weeks: a.weeks.as_ref().map(|_| live.iter().map(|&i| d.numbers[k + 1][i]).collect()),
    };
    let min_n = a.min_n;
    let (norms, uses, spec_json) = match a.method {
        MethodArg::Sgp => {
            if a.weeks.is_some() {
                return Err(
                    UsageError("--weeks applies to conditional norms; SGP norms do not use weeks".into()).into()
                );
            }
            let mut spec = SgpSpec {
                solver: match a.solver {
                    SolverArg::Br => Solver::Br,
                    SolverArg::Fn => Solver::Fn,
                },
                ties: match a.ties {
                    TiesArg::Strict => Ties::Strict,
                    TiesArg::MidRank => Ties::MidRank,
                },
                ..SgpSpec::default()
            };
            if let Some(m) = min_n {
                spec.min_n = m;
            }
            let (groups, uses) = fit_sgp(&spec, &rows)?;
            for g in &groups {
                for o in &g.orders {
                    match (&o.norms, &o.skipped) {
                        (Some(n), _) => eprintln!(
                            "group {:?} order {}: {} students, {} of {} taus converged{}",
                            g.key,
                            o.order,
                            o.n,
                            if n.diagnostics().converged { n.spec().taus.len() } else { 0 },
                            n.spec().taus.len(),
                            if n.diagnostics().converged { "" } else { " (NOT ALL CONVERGED)" }
                        ),
                        (None, Some(why)) => eprintln!("group {:?} order {}: skipped: {why}", g.key, o.order),
                        (None, None) => {}
                    }
                }
            }
            let spec_json = serde_json::to_value(&spec)?;
            (Norms::Sgp { spec, groups }, uses, spec_json)
        }
        MethodArg::Conditional => {
            let mut spec = ConditionalSpec {
                sd_model: match a.sd_model {
                    SdModelArg::Constant => SdModel::Constant,
                    SdModelArg::LinearLog => SdModel::LinearLog,
                },
                ..ConditionalSpec::default()
            };
            if let Some(m) = min_n {
                spec.min_n = m;
            }
            let (groups, uses) = fit_conditional(&spec, &rows)?;
            for g in &groups {
                match (&g.norms, &g.skipped) {
                    (Some(_), _) => eprintln!("group {:?}: {} students", g.key, g.n),
                    (None, Some(why)) => eprintln!("group {:?}: skipped: {why}", g.key),
                    (None, None) => {}
                }
            }
            let spec_json = serde_json::to_value(&spec)?;
            (Norms::Conditional { spec, groups }, uses, spec_json)
        }
    };
    let header = |d: &ColumnData, column: &str| -> String {
        match column {
            "current" => d.number_headers[k].clone(),
            "prior" => d.number_headers[0].clone(),
            "weeks" => d.number_headers.get(k + 1).cloned().unwrap_or_default(),
            _ => d.text_headers.join("+"),
        }
    };
    for (&idx, u) in live.iter().zip(&uses) {
        match u {
            RowUse::Used { .. } => {
                d.ledger.validate(idx);
                d.ledger.mark_used(idx);
            }
            RowUse::Excluded { column, reason } => {
                let h = header(&d, column);
                let value = match *column {
                    "group" => d.text.iter().map(|c| c[idx].as_str()).collect::<Vec<_>>().join("+"),
                    _ => String::new(),
                };
                d.ledger.exclude(idx, &h, &value, reason.clone());
            }
        }
    }
    let columns =
        Columns { prior: a.prior.clone(), current: a.current.clone(), by: a.by.clone(), weeks: a.weeks.clone() };
    let model = NormsModel {
        schema_version: NORMS_SCHEMA_VERSION,
        columns,
        norms,
        provenance: serde_json::json!({
            "tool": "obc",
            "version": env!("CARGO_PKG_VERSION"),
            "command": "norms fit",
            "data": { "file": d.ledger.file, "sha256": d.ledger.sha256 },
        }),
    };
    let dir = super::beside_dir(&a.out, std::slice::from_ref(&a.data), &[])?;
    dir.write(&super::file_name(&a.out), to_json(&model).as_bytes())?;
    eprintln!("norms -> {}", a.out.display());
    let manifest = Manifest::new("norms fit", spec_json, None);
    // Knots are quantiles of student scores, but only of groups of at least min_n students.
    let main = OutputFile::new(&super::file_name(&a.out), false, None);
    super::finish_beside(&dir, &a.out, &d.ledger, manifest, main, Vec::new())
}

fn import(a: &ImportArgs) -> anyhow::Result<()> {
    let table = match (&a.nwea_window, a.nwea_weeks) {
        (Some(w), Some(weeks)) => load_nwea_wide(&a.table, w, weeks),
        (None, _) => load_norms_table(&a.table),
        (Some(_), None) => unreachable!("clap requires --nwea-weeks with --nwea-window"),
    }?;
    if a.weeks.is_none() && a.weeks_value.is_none() {
        return Err(UsageError("give the data's instructional weeks: --weeks COLUMN or --weeks-value W".into()).into());
    }
    let bytes = std::fs::read(&a.table).with_context(|| format!("cannot read {}", a.table.display()))?;
    let model = NormsModel {
        schema_version: NORMS_SCHEMA_VERSION,
        columns: Columns {
            prior: vec![a.prior.clone()],
            current: a.current.clone(),
            by: vec![a.subject.clone(), a.grade.clone()],
            weeks: a.weeks.clone(),
        },
        norms: Norms::Table { table, weeks_value: a.weeks_value },
        provenance: serde_json::json!({
            "tool": "obc",
            "version": env!("CARGO_PKG_VERSION"),
            "command": "norms import",
            "table": { "file": super::file_name(&a.table), "sha256": data::load::sha256_hex(&bytes) },
        }),
    };
    // No sidecars; a previous `norms fit` manifest of this name no longer describes the file.
    let dir = super::beside_dir(&a.out, std::slice::from_ref(&a.table), &[])?;
    dir.write(&super::file_name(&a.out), to_json(&model).as_bytes())?;
    eprintln!("norms table -> {}", a.out.display());
    Ok(())
}

/// Reads a norms file written by `obc norms fit` or `obc norms import`; returns it with the
/// SHA-256 of its bytes.
pub fn read_norms(path: &std::path::Path) -> anyhow::Result<(NormsModel, String)> {
    Ok(data::norms_file::read(path, &path.display().to_string())?)
}

fn score(a: &ScoreArgs) -> anyhow::Result<()> {
    let (model, norms_sha) = read_norms(&a.norms)?;
    if !(a.target_cgp > 0.0 && a.target_cgp < 100.0) {
        return Err(UsageError(format!("--target-cgp {} must be strictly between 0 and 100", a.target_cgp)).into());
    }
    let c = &model.columns;
    let mut text_cols = a.id.clone();
    text_cols.extend(c.by.iter().cloned());
    let mut numbers = c.prior.clone();
    numbers.push(c.current.clone());
    let k = c.prior.len();
    let weeks_at = c.weeks.as_ref().map(|w| {
        numbers.push(w.clone());
        numbers.len() - 1
    });
    let sem_at = match (&a.sem_prior, &a.sem_current) {
        (Some(p), Some(q)) => {
            numbers.push(p.clone());
            numbers.push(q.clone());
            Some(numbers.len() - 2)
        }
        _ => None,
    };
    let mut d = read_columns(&a.data, &text_cols, &numbers)?;
    let ids = a.id.len();
    let scorer = Scorer::new(&model);
    let is_table = matches!(model.norms, Norms::Table { .. });
    let is_sgp = matches!(model.norms, Norms::Sgp { .. });

    let mut out_ids: Vec<Vec<Option<String>>> = vec![Vec::new(); text_cols.len()];
    let mut sgp = Vec::new();
    let mut order = Vec::new();
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); 8];
    let mut clamped: [Vec<Option<bool>>; 2] = [Vec::new(), Vec::new()];
    for idx in 0..d.ledger.len() {
        if d.ledger.state(idx) != data::ledger::RowState::Pending {
            continue;
        }
        let key: Vec<String> = d.text[ids..].iter().map(|col| col[idx].clone()).collect();
        let grade = if is_table {
            match key.get(1).and_then(|g| parse_grade(g)) {
                Some(g) => Some(g),
                None => {
                    let h = d.text_headers[ids + 1].clone();
                    let v = key.get(1).cloned().unwrap_or_default();
                    d.ledger.except(idx, &h, &v, "not a grade (integer, K or PK)");
                    continue;
                }
            }
        } else {
            None
        };
        let priors: Vec<Option<f64>> = (0..k).map(|j| d.numbers[j][idx]).collect();
        let current = d.numbers[k][idx];
        let weeks = weeks_at.and_then(|w| d.numbers[w][idx]);
        match scorer.score(&key, grade, &priors, current, weeks) {
            Err(problem) => {
                let (h, v) = match problem.column {
                    "current" => (d.number_headers[k].clone(), String::new()),
                    "prior" => (d.number_headers[0].clone(), priors[0].map(|v| v.to_string()).unwrap_or_default()),
                    "weeks" => (weeks_at.map(|w| d.number_headers[w].clone()).unwrap_or_default(), String::new()),
                    _ => (d.text_headers[ids..].join("+"), key.join("+")),
                };
                d.ledger.exclude(idx, &h, &v, problem.reason);
                continue;
            }
            Ok(scored) => {
                d.ledger.validate(idx);
                d.ledger.mark_used(idx);
                for (j, col) in d.text.iter().enumerate() {
                    out_ids[j].push(Some(col[idx].clone()));
                }
                match scored {
                    Scored::Sgp { sgp: s, order: o } => {
                        sgp.push(Some(i64::from(s)));
                        order.push(Some(o as i64));
                    }
                    Scored::Normal { expectation, lookup } => {
                        let growth =
                            current.expect("scored rows have a current score") - priors[0].expect("and a prior");
                        let sems = sem_at.and_then(|s| Some((d.numbers[s][idx]?, d.numbers[s + 1][idx]?)));
                        let g = growth_score(growth, &expectation, sems, a.target_cgp);
                        for (col, v) in cols.iter_mut().zip([
                            Some(growth),
                            Some(g.expected),
                            Some(g.sd),
                            Some(g.cgi),
                            Some(g.cgp),
                            Some(g.target_growth),
                            g.growth_se,
                            g.prob_met,
                        ]) {
                            col.push(v);
                        }
                        if let Some(l) = lookup {
                            clamped[0].push(Some(l.start_clamped));
                            clamped[1].push(Some(l.weeks_clamped));
                        }
                    }
                }
            }
        }
    }
    let mut table = Table::new();
    for (j, name) in text_cols.iter().enumerate() {
        table.push(name, Column::Text(std::mem::take(&mut out_ids[j])));
    }
    if is_sgp {
        table.push("sgp", Column::Int(sgp));
        table.push("sgp_order", Column::Int(order));
    } else {
        let names = ["growth", "expected_growth", "growth_sd", "cgi", "cgp", "target_growth", "growth_se", "prob_met"];
        for (name, col) in names.iter().zip(cols) {
            if (*name == "growth_se" || *name == "prob_met") && sem_at.is_none() {
                continue;
            }
            table.push(name, Column::Float(col));
        }
        if is_table {
            let [s, w] = clamped;
            table.push("start_clamped", Column::Bool(s));
            table.push("weeks_clamped", Column::Bool(w));
        }
    }
    let dir = super::beside_dir(&a.out, &[a.norms.clone(), a.data.clone()], &[])?;
    table.write_into(&dir, &super::file_name(&a.out), Format::Csv)?;
    eprintln!("scores: {} students -> {} (restricted: student level)", table.height(), a.out.display());
    let mut manifest = Manifest::new(
        "norms score",
        serde_json::json!({
            "norms": { "file": super::file_name(&a.norms), "sha256": norms_sha },
            "id": a.id,
            "sem_prior": a.sem_prior,
            "sem_current": a.sem_current,
            "target_cgp": a.target_cgp,
        }),
        None,
    );
    manifest.warnings = Vec::new();
    let main = OutputFile::new(&super::file_name(&a.out), true, Some(table.height() as u64));
    super::finish_beside(&dir, &a.out, &d.ledger, manifest, main, Vec::new())
}
