//! `obc bootstrap`: bootstrap confidence intervals for a mean, share or median, per group,
//! resampling students or clusters (e.g. tutors, schools).
//!
//! Writes `--out FILE` (by, n, clusters, estimate, conf_low, conf_high, method, level, reps,
//! warnings) and, next to it, `STEM.exceptions.csv` and `STEM.manifest.json`.

use std::io::Write;
use std::path::PathBuf;

use super::UsageError;
use crate::data::columns::{ColumnData, read_columns_allowing_empty};
use crate::data::ledger::{ReasonCode, RowState};
use crate::data::output::OutputDir;
use crate::data::table::{Column, Format, Table};
use crate::error::OutputError;

use crate::manifest::{Manifest, OutputFile};
use crate::stats::bootstrap::{
    BootstrapError, ClusterSums, Interval, Plan, basic, bca, bca_scipy, jackknife, normal, percentile,
    replicates_with_progress,
};
use crate::stats::design::{Encoding, LevelOrder};

/// A progress bar on an interactive terminal; none when stderr is piped or under CI.
fn progress(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} replicates ({eta} left)") {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatisticArg {
    /// Mean of the column.
    Mean,
    /// Share of true values (true/false, yes/no, 1/0) in the column.
    Share,
    /// Median of the column (R's definition: the mean of the two middle values when even).
    Median,
    /// Mean of a conditional growth index column (as `mean`, named for reports).
    #[value(name = "mean_cgi", alias = "mean-cgi")]
    MeanCgi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// BCa as R boot.ci (strict z0, jackknife acceleration; clusters deleted whole).
    Bca,
    /// BCa as scipy.stats.bootstrap (mid-rank z0, type-7 quantiles).
    BcaScipy,
    Percentile,
    Basic,
    Normal,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc bootstrap --data settlement/audit.csv --statistic share --column met_outcome --by provider_id \\
      --cluster tutor_id --reps 2000 --seed 7 --method percentile --level 0.9 --out tutor_intervals.csv
  obc bootstrap --data scores.csv --statistic mean_cgi --column cgi --by school_id --out cgi_intervals.csv")]
pub struct Args {
    /// Data file (CSV, TSV, Parquet or Excel .xlsx), one row per student.
    #[arg(long)]
    pub data: PathBuf,
    /// Sheet of an Excel workbook (.xlsx) given as --data (default: the first sheet).
    #[arg(long)]
    pub sheet: Option<String>,
    /// The statistic per group: mean, share (of true/1/yes values), median, or mean_cgi (a
    /// mean of conditional growth indices).
    #[arg(long, value_enum)]
    pub statistic: StatisticArg,
    /// The column the statistic is computed on.
    #[arg(long)]
    pub column: String,
    /// Group column(s): one interval per group (e.g. provider_id); repeat for several.
    #[arg(long = "by")]
    pub by: Vec<String>,
    /// Cluster column: resample whole clusters (e.g. tutor_id) within each group.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Bootstrap replicates per group (at least 1,000 for BCa at 95%).
    #[arg(long, default_value_t = 2000)]
    pub reps: usize,
    /// Seed of the random draws: the same seed gives the same intervals, on any number of threads.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Confidence level of the intervals, between 0 and 1 (e.g. 0.9 for a 90% interval).
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Interval method; default BCa for mean and share, percentile for the median (the
    /// jackknife behind BCa's acceleration is unreliable for a median).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Also write each replicate's drawn units to this file, one line per group and
    /// replicate: group key, replicate index (0-based), then the drawn units (1-based, in
    /// the order of first appearance in the data, as R's boot.array(indices = TRUE)), so R
    /// can be fed the same draws. No header (groups differ in length).
    #[arg(long)]
    pub export_indices: Option<PathBuf>,
    /// Groups with fewer students get no interval (suppressed).
    #[arg(long, default_value_t = 10)]
    pub min_cell: usize,
    /// Output CSV of intervals, one row per group (STEM.exceptions.csv and STEM.manifest.json
    /// are written beside it).
    #[arg(long)]
    pub out: PathBuf,
}

fn truthy(v: &str) -> Option<f64> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(1.0),
        "false" | "f" | "no" | "n" | "0" | "0.0" => Some(0.0),
        _ => None,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len();
    if m % 2 == 1 { v[m / 2] } else { (v[m / 2 - 1] + v[m / 2]) / 2.0 }
}

/// A usable row: its index in the file, its value and its cluster (or its index).
type Member = (usize, f64, String);

/// Each `--by` key with its usable rows.
type Groups = Vec<(Vec<String>, Vec<Member>)>;

/// The usable rows of each `--by` group (groups in sorted order, rows in file order); rows
/// without a value are excluded in the ledger.
fn read_groups(a: &Args) -> anyhow::Result<(ColumnData, Groups)> {
    // Text: by columns, cluster, and the column itself for shares.
    let mut text: Vec<(String, bool)> = a.by.iter().map(|b| (b.clone(), true)).collect();
    if let Some(c) = &a.cluster {
        text.push((c.clone(), false));
    }
    let share = a.statistic == StatisticArg::Share;
    let mut numbers = Vec::new();
    if share {
        text.push((a.column.clone(), true));
    } else {
        numbers.push(a.column.clone());
    }
    let mut d = read_columns_allowing_empty(&a.data, a.sheet.as_deref(), &text, &numbers)?;
    let nb = a.by.len();
    // Value per usable row.
    let (mut keys, mut usable): (Vec<Vec<String>>, Vec<Member>) = (Vec::new(), Vec::new());
    for idx in 0..d.ledger.len() {
        if d.ledger.state(idx) != RowState::Pending {
            continue;
        }
        let value = if share {
            let raw = d.text[text.len() - 1][idx].to_string();
            match truthy(&raw) {
                Some(v) => v,
                None => {
                    let h = d.text_headers[text.len() - 1].clone();
                    if raw.is_empty() {
                        d.ledger.exclude(idx, &h, &raw, ReasonCode::NotAvailable, "missing value");
                    } else {
                        d.ledger.except(idx, &h, &raw, ReasonCode::NotAFlag, "not true/false, yes/no or 1/0");
                    }
                    continue;
                }
            }
        } else {
            match d.numbers[0][idx] {
                Some(v) => v,
                None => {
                    let h = d.number_headers[0].clone();
                    d.ledger.exclude(idx, &h, "", ReasonCode::NotAvailable, "missing value");
                    continue;
                }
            }
        };
        let key: Vec<String> = (0..nb).map(|c| d.text[c][idx].to_string()).collect();
        let cluster = if a.cluster.is_some() { d.text[nb][idx].to_string() } else { idx.to_string() };
        keys.push(key);
        usable.push((idx, value, cluster));
    }
    // The usable rows of each --by group, groups in sorted order.
    let rows = Encoding::new(keys, LevelOrder::Sorted)
        .groups()
        .into_iter()
        .map(|(key, members)| (key, members.iter().map(|&i| usable[i].clone()).collect()))
        .collect();
    Ok((d, rows))
}

/// The interval of `method` from the replicates `t` of the statistic `t0` (BCa: jackknife
/// over the units, O(units) for sums, by deletion for the median).
fn interval<F: Fn(&[usize]) -> f64 + Sync>(
    a: &Args,
    method: MethodArg,
    t: &[f64],
    t0: f64,
    sums: &ClusterSums,
    stat: F,
) -> Result<Interval, BootstrapError> {
    let units = sums.sum.len();
    match method {
        MethodArg::Percentile => percentile(t, a.level),
        MethodArg::Basic => basic(t, t0, a.level),
        MethodArg::Normal => normal(t, t0, a.level),
        MethodArg::Bca | MethodArg::BcaScipy => {
            // Jackknife over units; O(units) for sums, by deletion for the median.
            let jack: Vec<f64> = match a.statistic {
                StatisticArg::Median => jackknife(units, stat),
                _ => {
                    let (s, n) = (sums.sum.iter().sum::<f64>(), sums.count.iter().sum::<f64>());
                    (0..units).map(|u| (s - sums.sum[u]) / (n - sums.count[u])).collect()
                }
            };
            if method == MethodArg::Bca {
                let l: Vec<f64> = jack.iter().map(|tj| (units as f64 - 1.0) * (t0 - tj)).collect();
                bca(t, t0, &l, a.level)
            } else {
                bca_scipy(t, t0, &jack, a.level)
            }
        }
    }
}

pub fn run(a: &Args) -> anyhow::Result<()> {
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(UsageError(format!("--level {} must be strictly between 0 and 1", a.level)).into());
    }
    if a.reps < 100 {
        return Err(
            UsageError(format!("--reps {} is too few for interval endpoints; use at least 1000", a.reps)).into()
        );
    }
    let method =
        a.method.unwrap_or(if a.statistic == StatisticArg::Median { MethodArg::Percentile } else { MethodArg::Bca });
    let (mut d, rows) = read_groups(a)?;
    let nb = a.by.len();
    let dir = super::beside_dir(&a.out, std::slice::from_ref(&a.data), &[])?;
    // The replicate draws: in the output's folder they are one more output of the set;
    // elsewhere they are written atomically on their own.
    let parent = |p: &std::path::Path| {
        std::fs::canonicalize(p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new(".")))
            .ok()
    };
    let export_dir = match &a.export_indices {
        Some(p) if parent(p) != parent(&a.out) => Some(OutputDir::open(
            p.parent().unwrap_or(std::path::Path::new("")),
            std::slice::from_ref(&a.data),
            "manifest.json",
        )?),
        _ => None,
    };
    let mut export = match &a.export_indices {
        Some(p) => Some(export_dir.as_ref().unwrap_or(&dir).create(&super::file_name(p))?),
        None => None,
    };
    let bar = progress((rows.len() * a.reps) as u64);
    let mut out = Table::new();
    let mut cols_by: Vec<Vec<Option<String>>> = vec![Vec::new(); nb];
    let (mut col_n, mut col_clusters) = (Vec::new(), Vec::new());
    let (mut est, mut lo, mut hi, mut warn) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (gi, (key, members)) in rows.iter().enumerate() {
        // Units: clusters (or students), in first-appearance order.
        let unit = Encoding::new(members.iter().map(|m| m.2.as_str()), LevelOrder::FirstSeen);
        let (unit_index, units) = (&unit.codes, unit.levels.len());
        let values: Vec<f64> = members.iter().map(|m| m.1).collect();
        for (j, k) in key.iter().enumerate() {
            cols_by[j].push(Some(k.clone()));
        }
        col_n.push(Some(members.len() as i64));
        col_clusters.push(Some(units as i64));
        for m in members {
            d.ledger.validate(m.0);
            d.ledger.mark_used(m.0);
        }
        if members.len() < a.min_cell || units < 2 {
            est.push(None);
            lo.push(None);
            hi.push(None);
            warn.push(Some(format!(
                "suppressed: {} students in {units} units (min_cell {}, at least 2 units)",
                members.len(),
                a.min_cell
            )));
            continue;
        }
        // Per-unit members for the median; sums for means and shares.
        let sums = ClusterSums::new(&values, unit_index, units);
        let mut by_unit: Vec<Vec<f64>> = vec![Vec::new(); units];
        if a.statistic == StatisticArg::Median {
            for (&u, &v) in unit_index.iter().zip(&values) {
                by_unit[u].push(v);
            }
        }
        let stat = |drawn: &[usize]| -> f64 {
            match a.statistic {
                StatisticArg::Median => {
                    let mut v: Vec<f64> = drawn.iter().flat_map(|&u| by_unit[u].iter().copied()).collect();
                    median(&mut v)
                }
                _ => sums.mean(drawn),
            }
        };
        let all: Vec<usize> = (0..units).collect();
        let t0 = stat(&all);
        // Each group gets its own stream family: seed mixed with the group's position.
        let plan = Plan { units, strata: None, reps: a.reps, seed: a.seed ^ ((gi as u64) << 40) };
        let t = replicates_with_progress(&plan, stat, || bar.inc(1))?;
        if let Some(w) = export.as_mut() {
            for b in 0..a.reps {
                let i = plan.indices(b)?;
                let line: Vec<String> = i.iter().map(|u| (u + 1).to_string()).collect();
                writeln!(w, "{},{b},{}", key.join("+"), line.join(","))
                    .map_err(|source| OutputError::Write { path: w.path().to_path_buf(), source })?;
            }
        }
        let interval = interval(a, method, &t, t0, &sums, stat);
        match interval {
            Ok(iv) => {
                est.push(Some(t0));
                lo.push(Some(iv.low));
                hi.push(Some(iv.high));
                warn.push(
                    (!iv.warnings.is_empty())
                        .then(|| iv.warnings.iter().map(|w| w.message.as_str()).collect::<Vec<_>>().join("; ")),
                );
            }
            Err(e) => {
                est.push(Some(t0));
                lo.push(None);
                hi.push(None);
                warn.push(Some(e.to_string()));
            }
        }
    }
    bar.finish_and_clear();
    let export_written = match export {
        Some(w) => Some(w.commit()?),
        None => None,
    };
    let groups = col_n.len();
    for (j, name) in a.by.iter().enumerate() {
        out.push(name, Column::Text(std::mem::take(&mut cols_by[j])));
    }
    let method_name = format!("{method:?}").to_lowercase().replace("bcascipy", "bca_scipy");
    out.push("n", Column::Int(col_n));
    out.push("clusters", Column::Int(col_clusters));
    out.push("estimate", Column::Float(est));
    out.push("conf_low", Column::Float(lo));
    out.push("conf_high", Column::Float(hi));
    out.push("method", Column::Text(vec![Some(method_name.clone()); groups]));
    out.push("level", Column::Float(vec![Some(a.level); groups]));
    out.push("reps", Column::Int(vec![Some(a.reps as i64); groups]));
    out.push("warnings", Column::Text(warn));
    out.write_into(&dir, &super::file_name(&a.out), Format::Csv)?;
    let spec = serde_json::json!({
        "statistic": format!("{:?}", a.statistic).to_lowercase(), "column": a.column, "by": a.by,
        "cluster": a.cluster, "reps": a.reps, "level": a.level, "method": method_name, "min_cell": a.min_cell,
        "rng": "ChaCha8, seed mixed with the group's position (seed ^ (group << 40)), stream = replicate index",
    });
    let m = Manifest::new("bootstrap", spec, Some(a.seed));
    let main = OutputFile::new(&super::file_name(&a.out), false, Some(groups as u64));
    let extra = a
        .export_indices
        .iter()
        .map(|p| OutputFile {
            sha256: export_written.as_ref().map(|w| w.sha256.clone()),
            bytes: export_written.as_ref().map(|w| w.bytes),
            ..OutputFile::new(&super::file_name(p), false, Some((groups * a.reps) as u64))
        })
        .collect();
    eprintln!("{groups} intervals ({method_name}, {} replicates) -> {}", a.reps, a.out.display());
    super::finish_beside(&dir, &a.out, &d.ledger, m, main, extra)
}
