//! `obc norms fit | import | score`: growth norms from a data file, from an imported
//! table, and scores of students against them.
//!
//! Each command writes its main output (`--out FILE`) and, next to it, `STEM.exceptions.csv`
//! (every data row not used, with file, row, column and reason) and `STEM.manifest.json`
//! (version, input SHA-256s and row accounting, spec, outputs with their restricted flag).

use std::path::PathBuf;

use anyhow::Context;

use super::UsageError;
use crate::contract::norms::except_unfitted;
use crate::contract::terms::{Contract, NormsMethod};
use crate::data;
use crate::data::columns::{ColumnData, read_columns};
use crate::data::history::{History, HistoryOptions, load_history, load_history_input};
use crate::data::load::ReadSpec;
use crate::data::norms_table::{load_norms_table_sheet, load_nwea_wide_sheet, nwea_window_end_grade};
use crate::data::schema::{RetestRule, Tests, WindowSpec};
use crate::data::table::{Column, Format, Table};
use crate::data::validate::parse_grade;
use crate::manifest::{Manifest, OutputFile};
use crate::stats::norms::conditional::{ConditionalSpec, SdModel, score as growth_score};
use crate::stats::norms::model::{
    Columns, ModelError, NORMS_SCHEMA_VERSION, Norms, NormsModel, RowUse, Rows, ScoreProblem, Scored, Scorer,
    fit_conditional_with_progress, fit_sgp_with_progress, group_sizes,
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
#[command(after_help = "Examples:
  obc norms fit --data wide.csv --prior fall --current spring --by grade --method conditional --out norms.json
  obc norms fit --data history.csv --subject math --pre-window fall --post-window spring --method conditional --out norms.json
  obc norms fit contract.toml --out norms.json")]
pub struct FitArgs {
    /// Contract whose history file is fitted, with its `[history]`/`[tests]` windows, subject,
    /// grades and columns (and its `[norms]` method and min_n unless given here).
    pub contract: Option<PathBuf>,
    /// Data file (CSV, TSV, Parquet or Excel .xlsx): one row per student, or the history
    /// file's layout (one row per test) with --subject, --pre-window and --post-window.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Sheet of an Excel workbook (.xlsx) given as --data (default: the first sheet).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Prior (start) score column; repeat for more priors, most recent first (SGP orders 1..k).
    #[arg(long = "prior")]
    pub prior: Vec<String>,
    /// Current (end) score column.
    #[arg(long)]
    pub current: Option<String>,
    /// Norm-group column (e.g. grade, subject); repeat for several. None: one group.
    #[arg(long = "by")]
    pub by: Vec<String>,
    /// Instructional weeks column (conditional norms).
    #[arg(long)]
    pub weeks: Option<String>,
    /// Long file (one row per test): the subject whose tests are paired.
    #[arg(long, requires_all = ["pre_window", "post_window"])]
    pub subject: Option<String>,
    /// Long file: the `window` value of the pre-test (e.g. fall).
    #[arg(long, requires_all = ["subject", "post_window"])]
    pub pre_window: Option<String>,
    /// Long file: the `window` value of the post-test (e.g. spring).
    #[arg(long, requires_all = ["subject", "pre_window"])]
    pub post_window: Option<String>,
    /// Norms method (with a contract: the contract's `[norms] method` when not given).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Quantile-regression solver (SGP).
    #[arg(long, value_enum, default_value_t = SolverArg::Br)]
    pub solver: SolverArg,
    /// Smallest norm group (and SGP order) fitted; default 1000 (with a contract: its
    /// `[norms] min_n`).
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
#[command(after_help = "Examples:
  obc norms import --table norms_table.csv --subject subject --grade grade --prior pre --current post --weeks weeks --out norms.json
  obc norms import --table nwea_conditional_growth.csv --nwea-window 42 --nwea-weeks 32 --subject Subject --grade Grade \\
      --prior fall_rit --current spring_rit --weeks-value 32 --out norms.json")]
pub struct ImportArgs {
    /// Norms table (CSV, TSV, Parquet or Excel .xlsx): columns subject, grade, start_score
    /// (or start_min, start_max), weeks, mean_growth, sd; or NWEA's wide layout with
    /// --nwea-window.
    #[arg(long)]
    pub table: PathBuf,
    /// Sheet of an Excel workbook (.xlsx) given as --table (default: the first sheet).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Read the table in NWEA's wide layout (Subject, Grade, StartRIT, TCODE, SCODE) for
    /// this window code (42 fall to spring, 41 fall to winter, 12 winter to spring, 44 fall
    /// to fall, 22 spring to spring, 11 winter to winter). Subject codes 1-4 are Mathematics,
    /// Reading, Language Usage, General Science; grade 13 is K; in windows 11 and 22 the
    /// file's grade is the end grade, and rows are stored under the start grade (one lower).
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
    /// Output norms file (JSON), for `obc norms score` or a contract's `[norms] file`.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc norms score --norms norms.json --data scores.csv --id student_id --out scored.csv
  obc norms score --norms norms.json --data wide.csv --id student_id --prior fall_rit --current spring_rit \\
      --subject Subject --grade Grade --weeks weeks --out scored.csv")]
pub struct ScoreArgs {
    /// Norms file written by `obc norms fit` or `obc norms import`.
    #[arg(long)]
    pub norms: PathBuf,
    /// Data file (CSV, TSV, Parquet or Excel .xlsx) with the columns the norms name.
    #[arg(long)]
    pub data: PathBuf,
    /// Sheet of an Excel workbook (.xlsx) given as --data (default: the first sheet).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Identifier column(s) carried into the scores; repeat for several.
    #[arg(long = "id", required = true)]
    pub id: Vec<String>,
    /// Standard error of measurement of the prior score (with --sem-current: growth SE and
    /// the probability of having met the target).
    #[arg(long, requires = "sem_current")]
    pub sem_prior: Option<String>,
    /// Standard error of measurement of the current score (with --sem-prior).
    #[arg(long, requires = "sem_prior")]
    pub sem_current: Option<String>,
    /// This file's prior score column(s), when not named as in the norms (e.g. norms fitted on
    /// a history file name it `pre`); repeat as many times as the norms have priors.
    #[arg(long = "prior")]
    pub prior: Vec<String>,
    /// This file's current score column, when not named as in the norms (`post` for norms
    /// fitted on a history file).
    #[arg(long)]
    pub current: Option<String>,
    /// This file's instructional weeks column, when not named as in the norms.
    #[arg(long)]
    pub weeks: Option<String>,
    /// This file's norm-group columns, in the norms' order (all of them), when not named as
    /// in the norms.
    #[arg(long = "by")]
    pub by: Vec<String>,
    /// This file's subject column: replaces the norms' group column `subject`.
    #[arg(long)]
    pub subject: Option<String>,
    /// This file's grade column: replaces the norms' group column `grade`.
    #[arg(long)]
    pub grade: Option<String>,
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

/// The rows of a fit: the named columns of a one-row-per-student file, or the paired
/// students of a history (one row per test) file.
enum FitInput {
    Wide { d: ColumnData, live: Vec<usize>, prior: Vec<String>, current: String },
    Long { history: History, described: serde_json::Value },
}

fn fit(a: &FitArgs) -> anyhow::Result<()> {
    let contract = a.contract.as_ref().map(|p| super::read_contract(p)).transpose()?;
    let terms = contract.as_ref().map(|(c, _)| &c.norms);
    let method = match (a.method, terms.map(|n| n.method)) {
        (Some(m), _) => m,
        (None, Some(NormsMethod::Conditional)) => MethodArg::Conditional,
        (None, Some(NormsMethod::Sgp)) => MethodArg::Sgp,
        (None, _) => return Err(UsageError("give --method sgp or --method conditional".into()).into()),
    };
    let min_n = a.min_n.or(terms.and_then(|n| n.min_n));
    let (input, inputs) = fit_input(a, contract.as_ref(), method)?;
    let (rows, columns) = match &input {
        FitInput::Wide { d, live, prior, current } => (
            wide_rows(d, live, prior.len()),
            Columns { prior: prior.clone(), current: current.clone(), by: a.by.clone(), weeks: a.weeks.clone() },
        ),
        FitInput::Long { history, .. } => {
            let conditional = matches!(method, MethodArg::Conditional);
            (
                history.norms_rows(conditional),
                Columns {
                    prior: vec!["pre".into()],
                    current: "post".into(),
                    by: vec!["subject".into(), "grade".into()],
                    weeks: conditional.then(|| "weeks".into()),
                },
            )
        }
    };
    let (norms, uses, spec_json) = fit_rows(a, method, min_n, &rows)?;
    let (ledger, data_json) = match input {
        FitInput::Wide { mut d, live, prior, .. } => {
            account_wide(&mut d, &live, prior.len(), &uses);
            let json = serde_json::json!({ "file": d.ledger.file, "sha256": d.ledger.sha256 });
            (d.ledger, json)
        }
        FitInput::Long { mut history, described } => {
            let unfitted: Vec<(usize, String)> = uses
                .iter()
                .enumerate()
                .filter_map(|(i, u)| match u {
                    RowUse::Excluded { reason, .. } => Some((i, reason.clone())),
                    RowUse::Used { .. } => None,
                })
                .collect();
            except_unfitted(&mut history, &unfitted);
            let mut json = serde_json::json!({ "file": history.ledger.file, "sha256": history.ledger.sha256 });
            json["paired"] = described;
            (history.ledger, json)
        }
    };
    let model = NormsModel {
        schema_version: NORMS_SCHEMA_VERSION,
        columns,
        norms,
        provenance: serde_json::json!({
            "tool": "obc",
            "version": env!("CARGO_PKG_VERSION"),
            "command": "norms fit",
            "data": data_json,
        }),
    };
    let dir = super::beside_dir(&a.out, &inputs, &[])?;
    dir.write(&super::file_name(&a.out), to_json(&model).as_bytes())?;
    eprintln!("norms -> {}", a.out.display());
    let manifest = Manifest::new("norms fit", spec_json, None);
    // Knots are quantiles of student scores, but only of groups of at least min_n students.
    let main = OutputFile::new(&super::file_name(&a.out), false, None);
    super::finish_beside(&dir, &a.out, &ledger, manifest, main, Vec::new())
}

/// Reads what `obc norms fit` fits (see [`FitInput`]), refusing option sets that do not go
/// together; returns it with the input files (for the output's overwrite check).
fn fit_input(
    a: &FitArgs,
    contract: Option<&(Contract, PathBuf)>,
    method: MethodArg,
) -> anyhow::Result<(FitInput, Vec<PathBuf>)> {
    let wide_options = !a.prior.is_empty() || a.current.is_some() || !a.by.is_empty() || a.weeks.is_some();
    let long = a.pre_window.is_some();
    if (contract.is_some() || long) && wide_options {
        return Err(UsageError(
            "--prior, --current, --by and --weeks name the columns of a one-row-per-student file; a history \
             file (one row per test) is paired by subject and window and grouped by subject and grade"
                .into(),
        )
        .into());
    }
    if let Some((c, base)) = contract {
        if a.data.is_some() || long {
            return Err(UsageError(
                "with a contract the history file, subject and windows come from the contract; leave out --data, \
                 --subject, --pre-window and --post-window"
                    .into(),
            )
            .into());
        }
        let f = c
            .history_file(base)
            .ok_or_else(|| UsageError("the contract names no history file ([files] history)".into()))?;
        let opts = c.history_options();
        let history = load_history_input(&f, &opts)?;
        let described = serde_json::json!({ "contract": super::file_name(a.contract.as_ref().expect("given")) });
        let inputs = vec![a.contract.clone().expect("given"), f.path.clone()];
        return Ok((long_input(history, &opts, described)?, inputs));
    }
    let data = a.data.clone().ok_or_else(|| UsageError("give --data FILE (or a contract)".into()))?;
    if let (Some(subject), Some(pre), Some(post)) = (&a.subject, &a.pre_window, &a.post_window) {
        if pre.trim().eq_ignore_ascii_case(post.trim()) {
            return Err(UsageError(format!(
                "--pre-window {pre} and --post-window {post} are the same window: growth needs two tests"
            ))
            .into());
        }
        let opts = cli_history_options(subject, pre, post);
        let history = load_history(&data, &super::file_name(&data), &ReadSpec::sheet(a.sheet.as_deref()), &opts)?;
        let described = serde_json::json!({ "subject": subject, "pre_window": pre, "post_window": post });
        return Ok((long_input(history, &opts, described)?, vec![data]));
    }
    let current = a.current.clone().ok_or_else(|| UsageError("give --current COLUMN".into()))?;
    if a.prior.is_empty() {
        return Err(UsageError("give --prior COLUMN".into()).into());
    }
    if let Some(p) = a.prior.iter().find(|p| p.trim().eq_ignore_ascii_case(current.trim())) {
        return Err(UsageError(format!(
            "--prior {p} and --current {current} name the same column: the start score and the end score must \
             be different columns"
        ))
        .into());
    }
    if a.weeks.is_some() && matches!(method, MethodArg::Sgp) {
        return Err(UsageError("--weeks applies to conditional norms; SGP norms do not use weeks".into()).into());
    }
    let mut numbers: Vec<String> = a.prior.clone();
    numbers.push(current.clone());
    numbers.extend(a.weeks.iter().cloned());
    let d = read_columns(&data, a.sheet.as_deref(), &a.by, &numbers)?;
    let live: Vec<usize> =
        (0..d.ledger.len()).filter(|&i| d.ledger.state(i) == data::ledger::RowState::Pending).collect();
    Ok((FitInput::Wide { d, live, prior: a.prior.clone(), current }, vec![data]))
}

/// How a history file is paired from the command line: one subject, pre- and post-test by
/// window label, the retest rule and validity rule of a contract's defaults, no breaks.
fn cli_history_options(subject: &str, pre: &str, post: &str) -> HistoryOptions {
    let window = |w: &str| WindowSpec { window: Some(w.trim().to_string()), ..WindowSpec::default() };
    HistoryOptions {
        subjects: vec![subject.trim().to_ascii_lowercase()],
        grades: None,
        tests: Tests {
            pre: window(pre),
            post: window(post),
            retest: RetestRule::default(),
            require_valid: true,
            breaks: Vec::new(),
        },
        columns: Default::default(),
        ids: Default::default(),
        groups: Vec::new(),
        score_ranges: Default::default(),
    }
}

/// A loaded history file as the input of a fit; an error when no student has both tests.
fn long_input(history: History, opts: &HistoryOptions, described: serde_json::Value) -> anyhow::Result<FitInput> {
    if let Some(why) = history.why_no_students(opts) {
        return Err(UsageError(why).into());
    }
    Ok(FitInput::Long { history, described })
}

/// The pending rows of a one-row-per-student file as the rows of a fit.
fn wide_rows(d: &ColumnData, live: &[usize], k: usize) -> Rows {
    Rows {
        keys: live.iter().map(|&i| d.text.iter().map(|c| c[i].to_string()).collect()).collect(),
        priors: (0..k).map(|c| live.iter().map(|&i| d.numbers[c][i]).collect()).collect(),
        current: live.iter().map(|&i| d.numbers[k][i]).collect(),
        weeks: (d.numbers.len() > k + 1).then(|| live.iter().map(|&i| d.numbers[k + 1][i]).collect()),
    }
}

/// The code of a row the fit or the scoring leaves out, from the column the problem is in:
/// the norm group (not fitted, or not in the norms) or a score the norms cannot use.
fn unused_code(column: &str) -> data::ReasonCode {
    match column {
        "group" => data::ReasonCode::NormGroupNotFitted,
        _ => data::ReasonCode::NotScorable,
    }
}

/// Records in the ledger of a one-row-per-student file how each row was used by the fit.
fn account_wide(d: &mut ColumnData, live: &[usize], k: usize, uses: &[RowUse]) {
    let header = |d: &ColumnData, column: &str| -> String {
        match column {
            "current" => d.number_headers[k].clone(),
            "prior" => d.number_headers[0].clone(),
            "weeks" => d.number_headers.get(k + 1).cloned().unwrap_or_default(),
            _ => d.text_headers.join("+"),
        }
    };
    for (&idx, u) in live.iter().zip(uses) {
        match u {
            RowUse::Used { .. } => {
                d.ledger.validate(idx);
                d.ledger.mark_used(idx);
            }
            RowUse::Excluded { column, reason } => {
                let h = header(d, column);
                let value = match *column {
                    "group" => d.text.iter().map(|c| &c[idx]).collect::<Vec<_>>().join("+"),
                    _ => String::new(),
                };
                d.ledger.exclude(idx, &h, &value, unused_code(column), reason.clone());
            }
        }
    }
}

/// Fits the norms of `method` on `rows`, printing each group's outcome; a fit that leaves
/// every group out names `--min-n` and the group sizes.
fn fit_rows(
    a: &FitArgs,
    method: MethodArg,
    min_n: Option<usize>,
    rows: &Rows,
) -> anyhow::Result<(Norms, Vec<RowUse>, serde_json::Value)> {
    let nothing = |e: ModelError, smallest: usize| -> anyhow::Error {
        match e {
            ModelError::NothingFitted(why) => {
                let sizes: Vec<String> = group_sizes(rows)
                    .iter()
                    .map(|(k, n)| if k.is_empty() { format!("{n}") } else { format!("{}: {n}", k.join(" / ")) })
                    .collect();
                UsageError(format!(
                    "no norm group could be fitted: {why}. The smallest group fitted is --min-n {smallest}{}; \
                     students with both scores per group: {}. Lower --min-n or group by fewer columns",
                    if min_n.is_some() { "" } else { " (the default)" },
                    sizes.join(", ")
                ))
                .into()
            }
            other => other.into(),
        }
    };
    match method {
        MethodArg::Sgp => {
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
            let (groups, uses) =
                fit_sgp_with_progress(&spec, rows, &mut Eta::new().callback()).map_err(|e| nothing(e, spec.min_n))?;
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
            Ok((Norms::Sgp { spec, groups }, uses, spec_json))
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
            let (groups, uses) = fit_conditional_with_progress(&spec, rows, &mut Eta::new().callback())
                .map_err(|e| nothing(e, spec.min_n))?;
            for g in &groups {
                match (&g.norms, &g.skipped) {
                    (Some(_), _) => eprintln!("group {:?}: {} students", g.key, g.n),
                    (None, Some(why)) => eprintln!("group {:?}: skipped: {why}", g.key),
                    (None, None) => {}
                }
            }
            let spec_json = serde_json::to_value(&spec)?;
            Ok((Norms::Conditional { spec, groups }, uses, spec_json))
        }
    }
}

/// A progress line with an estimated time left, on stderr when it is a terminal and the fit
/// has run for more than [`Eta::AFTER`]; never in files or captured output.
struct Eta {
    start: std::time::Instant,
    terminal: bool,
}

impl Eta {
    const AFTER: std::time::Duration = std::time::Duration::from_secs(3);

    fn new() -> Eta {
        use std::io::IsTerminal;
        Eta { start: std::time::Instant::now(), terminal: std::io::stderr().is_terminal() }
    }

    /// Rows done of rows in all; the line is rewritten in place and ended when all are done.
    fn update(&mut self, done: usize, total: usize) {
        let elapsed = self.start.elapsed();
        if !self.terminal || elapsed < Self::AFTER || total == 0 {
            return;
        }
        let left = if done == 0 { None } else { Some(elapsed.as_secs_f64() * (total - done) as f64 / done as f64) };
        let eta = left.map_or_else(|| "unknown".to_string(), |s| format!("about {:.0} s", s.ceil()));
        eprint!(
            "\rfitting norms: {:>3}% of the rows, {:.0} s elapsed, {eta} left   ",
            100 * done / total,
            elapsed.as_secs_f64()
        );
        if done >= total {
            eprintln!();
        }
    }

    fn callback(mut self) -> impl FnMut(usize, usize) {
        move |done, total| self.update(done, total)
    }
}

fn import(a: &ImportArgs) -> anyhow::Result<()> {
    let table = match (&a.nwea_window, a.nwea_weeks) {
        (Some(w), Some(weeks)) => load_nwea_wide_sheet(&a.table, a.sheet.as_deref(), w, weeks),
        (None, _) => load_norms_table_sheet(&a.table, a.sheet.as_deref()),
        (Some(_), None) => unreachable!("clap requires --nwea-weeks with --nwea-window"),
    }?;
    if a.weeks.is_none() && a.weeks_value.is_none() {
        return Err(UsageError("give the data's instructional weeks: --weeks COLUMN or --weeks-value W".into()).into());
    }
    let bytes = std::fs::read(&a.table).with_context(|| format!("cannot read {}", a.table.display()))?;
    let mut model = NormsModel {
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
    if let (Some(w), Some(provenance)) = (&a.nwea_window, model.provenance.as_object_mut()) {
        let grade = if nwea_window_end_grade(w) {
            "the file's grade is the end grade; stored as the start grade (file grade - 1, 13 = K)"
        } else {
            "the file's grade is the start grade (13 = K)"
        };
        provenance.insert("nwea".into(), serde_json::json!({ "window": w, "weeks": a.nwea_weeks, "grade": grade }));
    }
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

/// The norms' columns as this file names them: each mapping option (`--prior`, `--current`,
/// `--weeks`, `--by`, `--subject`, `--grade`) replaces the norms' name of that column.
fn mapped_columns(c: &Columns, a: &ScoreArgs, is_table: bool) -> Result<Columns, UsageError> {
    let mut m = c.clone();
    if !a.prior.is_empty() {
        if a.prior.len() != c.prior.len() {
            return Err(UsageError(format!(
                "the norms have {} prior column(s) {:?}; give --prior that many times",
                c.prior.len(),
                c.prior
            )));
        }
        m.prior = a.prior.clone();
    }
    if let Some(cur) = &a.current {
        m.current = cur.clone();
    }
    if let Some(w) = &a.weeks {
        if c.weeks.is_none() {
            return Err(UsageError("--weeks: these norms use no weeks column".into()));
        }
        m.weeks = Some(w.clone());
    }
    if !a.by.is_empty() {
        if a.by.len() != c.by.len() {
            return Err(UsageError(format!(
                "the norms are grouped by {} column(s) {:?}; give --by that many times, in that order",
                c.by.len(),
                c.by
            )));
        }
        m.by = a.by.clone();
    }
    for (option, role, given, table_at) in [("--subject", "subject", &a.subject, 0), ("--grade", "grade", &a.grade, 1)]
    {
        let Some(name) = given else { continue };
        let at = if is_table { Some(table_at) } else { c.by.iter().position(|b| b.eq_ignore_ascii_case(role)) };
        match at.filter(|&i| i < m.by.len()) {
            Some(i) => m.by[i] = name.clone(),
            None => {
                return Err(UsageError(format!(
                    "{option}: the norms are grouped by {:?}, with no {role} column; map the group columns with --by",
                    c.by
                )));
            }
        }
    }
    if let Some(p) = m.prior.iter().find(|p| p.trim().eq_ignore_ascii_case(m.current.trim())) {
        return Err(UsageError(format!(
            "the prior column {p} and the current column {} are the same column",
            m.current
        )));
    }
    Ok(m)
}

/// The console warning of `norms score --sem-prior/--sem-current` when `n` of `total` scored
/// students lack an SEM: their growth_se and prob_met are empty, never computed as if exact.
fn warn_without_sem(n: usize, total: usize, a: &ScoreArgs) {
    if n > 0 {
        eprintln!(
            "warning: {n} of {total} scored students lack a {} or {} value (an export without standard errors, such \
             as i-Ready's): their growth_se and prob_met are left empty, not computed as if the tests had no \
             measurement error",
            a.sem_prior.as_deref().unwrap_or_default(),
            a.sem_current.as_deref().unwrap_or_default(),
        );
    }
}

fn score(a: &ScoreArgs) -> anyhow::Result<()> {
    let (model, norms_sha) = read_norms(&a.norms)?;
    if !(a.target_cgp > 0.0 && a.target_cgp < 100.0) {
        return Err(UsageError(format!("--target-cgp {} must be strictly between 0 and 100", a.target_cgp)).into());
    }
    let is_table = matches!(model.norms, Norms::Table { .. });
    let c = &mapped_columns(&model.columns, a, is_table)?;
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
    let mut d = read_columns(&a.data, a.sheet.as_deref(), &text_cols, &numbers)?;
    let ids = a.id.len();
    let scorer = Scorer::new(&model);
    let is_sgp = matches!(model.norms, Norms::Sgp { .. });

    let mut out_ids: Vec<Vec<Option<String>>> = vec![Vec::new(); text_cols.len()];
    let mut sgp = Vec::new();
    let mut order = Vec::new();
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); 8];
    let mut clamped: [Vec<Option<bool>>; 2] = [Vec::new(), Vec::new()];
    // Scored students without both SEMs: their growth_se and prob_met are left empty.
    let mut without_sem = 0usize;
    let priors_of = |idx: usize| -> Vec<Option<f64>> { (0..k).map(|j| d.numbers[j][idx]).collect() };
    // Each pending row's norm-group key and its score (`Err(())` when a table's grade
    // column is not a grade), computed on the pool; the ledger and the output columns are
    // filled in row order below.
    type KeyedScore = (Vec<String>, Result<Result<Scored, ScoreProblem>, ()>);
    let mut scores: Vec<Option<KeyedScore>> = {
        use rayon::prelude::*;
        let pending: Vec<bool> =
            (0..d.ledger.len()).map(|i| d.ledger.state(i) == data::ledger::RowState::Pending).collect();
        (0..pending.len())
            .into_par_iter()
            .map(|idx| {
                if !pending[idx] {
                    return None;
                }
                let key: Vec<String> = d.text[ids..].iter().map(|col| col[idx].to_string()).collect();
                let grade =
                    if is_table { key.get(1).and_then(|g| parse_grade(g)).map(Some).ok_or(()) } else { Ok(None) };
                let weeks = weeks_at.and_then(|w| d.numbers[w][idx]);
                let score = grade.map(|g| scorer.score(&key, g, &priors_of(idx), d.numbers[k][idx], weeks));
                Some((key, score))
            })
            .collect()
    };
    for idx in 0..d.ledger.len() {
        if d.ledger.state(idx) != data::ledger::RowState::Pending {
            continue;
        }
        let (key, score) = scores[idx].take().expect("scored above");
        let Ok(score) = score else {
            let h = d.text_headers[ids + 1].clone();
            let v = key.get(1).cloned().unwrap_or_default();
            d.ledger.except(idx, &h, &v, data::ReasonCode::NotAGrade, "not a grade (integer, K or PK)");
            continue;
        };
        let priors = priors_of(idx);
        let current = d.numbers[k][idx];
        match score {
            Err(problem) => {
                let (h, v) = match problem.column {
                    "current" => (d.number_headers[k].clone(), String::new()),
                    "prior" => (d.number_headers[0].clone(), priors[0].map(|v| v.to_string()).unwrap_or_default()),
                    "weeks" => (weeks_at.map(|w| d.number_headers[w].clone()).unwrap_or_default(), String::new()),
                    _ => (d.text_headers[ids..].join("+"), key.join("+")),
                };
                d.ledger.exclude(idx, &h, &v, unused_code(problem.column), problem.reason);
                continue;
            }
            Ok(scored) => {
                d.ledger.validate(idx);
                d.ledger.mark_used(idx);
                for (j, col) in d.text.iter().enumerate() {
                    out_ids[j].push(Some(col[idx].to_string()));
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
                        without_sem += usize::from(sem_at.is_some() && sems.is_none());
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
    warn_without_sem(without_sem, table.height(), a);
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
