//! `obc vam`: provider (group) value-added from a student-level file.
//!
//! Writes `DIR/effects.csv` (one row per group), `DIR/model.json` (coefficients, variance
//! components, diagnostics, spec), `DIR/exceptions.csv` and `DIR/manifest.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::UserError;
use crate::data::columns::read_columns_allowing_empty;
use crate::data::ledger::RowState;
use crate::data::table::{Column, Format, Table};
use crate::data::{self, Stage};
use crate::manifest::{Manifest, OutputFile};
use crate::stats::dist::{p_two_sided_t, qt};
use crate::stats::effect::{adjusted_g, benjamini_hochberg};
use crate::stats::normal::qnorm;
use crate::stats::vam::dose::{DoseSpec, dose_response};
use crate::stats::vam::eiv::{MeasurementError, fit_eiv_within};
use crate::stats::vam::fixed::{Factor, fit_fixed};
use crate::stats::vam::random::{Likelihood, fit_random_intercept};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// Provider indicators against the comparison group, absorbed fixed effects, robust SEs.
    Fixed,
    /// Random intercept per group by REML; empirical Bayes (shrunken) effects.
    Random,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Student-level data file (CSV, TSV or Parquet), e.g. the analytic file of `obc prepare`.
    #[arg(long)]
    pub data: PathBuf,
    /// Outcome column (e.g. post_score).
    #[arg(long)]
    pub outcome: String,
    /// Pretest column.
    #[arg(long)]
    pub pre: String,
    /// Further numeric covariate columns (0/1 indicators or scores); repeat.
    #[arg(long = "covariate")]
    pub covariate: Vec<String>,
    /// Group (provider) column. Rows whose value is empty or equals --comparison form the
    /// comparison group.
    #[arg(long)]
    pub group: String,
    /// Value of --group that marks comparison students (besides an empty value).
    #[arg(long, default_value = "")]
    pub comparison: String,
    /// Fixed effects to absorb (fixed model), e.g. school, grade; repeat.
    #[arg(long = "fixed-effect")]
    pub fixed_effect: Vec<String>,
    /// Cluster column for CR1 standard errors (fixed model); otherwise HC1.
    #[arg(long)]
    pub cluster: Option<String>,
    #[arg(long, value_enum, default_value_t = ModelArg::Fixed)]
    pub model: ModelArg,
    /// Reliability of the pretest: errors-in-variables correction (fixed model).
    #[arg(long, conflicts_with = "sem_col")]
    pub reliability: Option<f64>,
    /// Column of pretest SEMs: errors-in-variables correction (fixed model).
    #[arg(long)]
    pub sem_col: Option<String>,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Use only rows whose value in this column is true (true/1/yes/y), e.g. `analysed` in
    /// the analytic file of `obc prepare`; the others are listed as excluded.
    #[arg(long)]
    pub only: Option<String>,
    /// Dose column (e.g. minutes_attended or sessions_attended): also write
    /// dose_response.csv, a spline curve of growth on dose per group and pooled over the
    /// tutored students, with pointwise intervals. Descriptive, not causal.
    #[arg(long)]
    pub dose: Option<String>,
    /// Outcome of the dose-response curve (default: growth = outcome - pre), e.g. cgi.
    #[arg(long, requires = "dose")]
    pub dose_outcome: Option<String>,
    /// Also a cluster bootstrap of the fixed model's provider effects with this many
    /// replicates (clusters from --cluster, else students): BCa intervals (jackknife over
    /// the same units) in boot_conf_low / boot_conf_high. With absorbed fixed effects every
    /// replicate refits the model; without, it sums per-cluster cross products.
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Groups with fewer students are reported without estimates (suppressed).
    #[arg(long, default_value_t = 10)]
    pub min_cell: usize,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: &Args) -> anyhow::Result<()> {
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(UserError(format!("--level {} must be strictly between 0 and 1", a.level)).into());
    }
    if a.model == ModelArg::Random && (a.reliability.is_some() || a.sem_col.is_some() || !a.fixed_effect.is_empty()) {
        return Err(UserError(
            "--reliability, --sem-col and --fixed-effect apply to --model fixed; the random model takes covariates only"
                .into(),
        )
        .into());
    }
    // Text columns: group (empty allowed), fixed effects, cluster.
    let mut text = vec![(a.group.clone(), true)];
    text.extend(a.fixed_effect.iter().map(|f| (f.clone(), false)));
    if let Some(c) = &a.cluster {
        text.push((c.clone(), false));
    }
    if let Some(c) = &a.only {
        text.push((c.clone(), true));
    }
    let mut numbers = vec![a.outcome.clone(), a.pre.clone()];
    numbers.extend(a.covariate.iter().cloned());
    if let Some(s) = &a.sem_col {
        numbers.push(s.clone());
    }
    let dose_at = a.dose.as_ref().map(|c| {
        numbers.push(c.clone());
        numbers.len() - 1
    });
    let dose_outcome_at = a.dose_outcome.as_ref().map(|c| {
        numbers.push(c.clone());
        numbers.len() - 1
    });
    let mut d = read_columns_allowing_empty(&a.data, &text, &numbers)?;
    // Rows with every number present.
    let mut live = Vec::new();
    for idx in 0..d.ledger.len() {
        if d.ledger.state(idx) != RowState::Pending {
            continue;
        }
        if a.only.is_some() {
            let v = &d.text[text.len() - 1][idx];
            if !["true", "1", "yes", "y"].iter().any(|t| v.eq_ignore_ascii_case(t)) {
                let h = d.text_headers[text.len() - 1].clone();
                let v = v.clone();
                d.ledger.exclude(idx, &h, &v, format!("not selected by --only {h}"));
                continue;
            }
        }
        if let Some(c) = (0..numbers.len()).find(|&c| d.numbers[c][idx].is_none()) {
            let h = d.number_headers[c].clone();
            d.ledger.exclude(idx, &h, "", "missing value");
            continue;
        }
        live.push(idx);
    }
    let n = live.len();
    let label = |idx: usize| -> String {
        let g = &d.text[0][idx];
        if g.is_empty() || *g == a.comparison { String::new() } else { g.clone() }
    };
    // Students per group ("" = comparison); the groups in order.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for &i in &live {
        *counts.entry(label(i)).or_default() += 1;
    }
    let groups: Vec<String> = counts.keys().cloned().collect();
    let index_of = |values: Vec<String>| -> (Vec<usize>, usize) {
        let mut map: BTreeMap<String, usize> = BTreeMap::new();
        for v in &values {
            map.entry(v.clone()).or_insert(0);
        }
        for (k, v) in map.values_mut().enumerate() {
            *v = k;
        }
        let levels = map.len();
        (values.iter().map(|v| map[v]).collect(), levels)
    };
    let y: Vec<f64> = live.iter().map(|&i| d.numbers[0][i].expect("present")).collect();
    let z = qnorm(0.5 + a.level / 2.0);
    let mut effects = Table::new();
    let mut coefficient_rows = Vec::new();
    let mut diagnostics = json!({});
    let suppressed = |g: &str| counts.get(g).copied().unwrap_or(0) < a.min_cell;
    match a.model {
        ModelArg::Fixed => {
            let providers: Vec<&String> = groups.iter().filter(|g| !g.is_empty()).collect();
            if !groups.iter().any(String::is_empty) {
                return Err(UserError(format!(
                    "no comparison students: the fixed model estimates providers against rows whose {} is empty{}",
                    a.group,
                    if a.comparison.is_empty() { String::new() } else { format!(" or {:?}", a.comparison) }
                ))
                .into());
            }
            // Design: [intercept unless absorbing], pre, covariates, provider dummies.
            let intercept = a.fixed_effect.is_empty();
            let mut names: Vec<String> = Vec::new();
            let mut x: Vec<f64> = Vec::new();
            if intercept {
                names.push("(Intercept)".into());
                x.extend(std::iter::repeat_n(1.0, n));
            }
            for c in 0..1 + a.covariate.len() {
                names.push(d.number_headers[1 + c].clone());
                x.extend(live.iter().map(|&i| d.numbers[1 + c][i].expect("present")));
            }
            let first_provider = names.len();
            for p in &providers {
                names.push(format!("{}={p}", a.group));
                x.extend(live.iter().map(|&i| if label(i) == **p { 1.0 } else { 0.0 }));
            }
            let p = names.len();
            let fe: Vec<(Vec<usize>, usize)> = (0..a.fixed_effect.len())
                .map(|f| index_of(live.iter().map(|&i| d.text[1 + f][i].clone()).collect()))
                .collect();
            let factors: Vec<Factor> = fe.iter().map(|(l, k)| Factor { level: l, levels: *k }).collect();
            let cl = a
                .cluster
                .as_ref()
                .map(|_| index_of(live.iter().map(|&i| d.text[1 + a.fixed_effect.len()][i].clone()).collect()));
            let cluster = cl.as_ref().map(|(l, k)| Factor { level: l, levels: *k });
            let fit = fit_fixed(&x, n, p, &y, &factors, cluster).map_err(|e| UserError(e.to_string()))?;
            let (mut b, mut cov, se_kind) = match &fit.cov_cr1 {
                Some(c) => (fit.coefficients.clone(), c.clone(), "CR1"),
                None => (fit.coefficients.clone(), fit.cov_hc1.clone(), "HC1"),
            };
            // Degrees of freedom for t intervals: G - 1 with clusters (Stata's convention), else n - k.
            let df = fit.n_clusters.map_or(fit.df_residual as f64, |g| (g - 1) as f64);
            let mut eiv_json = serde_json::Value::Null;
            if a.reliability.is_some() || a.sem_col.is_some() {
                let error = match (a.reliability, &a.sem_col) {
                    (Some(r), _) => MeasurementError::Reliability(r),
                    (None, Some(_)) => {
                        let c = 2 + a.covariate.len();
                        MeasurementError::Sem(live.iter().map(|&i| d.numbers[c][i].expect("present")).collect())
                    }
                    (None, None) => unreachable!("checked above"),
                };
                let pre_col = usize::from(intercept);
                let e = fit_eiv_within(&x, n, p, &y, pre_col, &error, &factors, cluster)
                    .map_err(|e| UserError(e.to_string()))?;
                eiv_json = json!({
                    "naive_coefficients": e.naive,
                    "s_pre": e.s_pre,
                    "implied_reliability": e.implied_reliability,
                    "std_errors": format!("M-estimation sandwich (stats::vam::eiv), {se_kind}"),
                });
                b = e.coefficients;
                cov = e.covariance;
            }
            let t = qt(0.5 + a.level / 2.0, df);
            for (j, name) in names.iter().enumerate() {
                let se = cov[j * p + j].sqrt();
                coefficient_rows.push(json!({
                    "term": name, "estimate": b[j], "std_error": se,
                    "t": b[j] / se, "p_value": p_two_sided_t(b[j] / se, df),
                }));
            }
            let mut col_group = Vec::new();
            let mut col_n = Vec::new();
            let mut est = Vec::new();
            let mut ses = Vec::new();
            let mut lo = Vec::new();
            let mut hi = Vec::new();
            let mut pv = Vec::new();
            for (k, g) in providers.iter().enumerate() {
                let j = first_provider + k;
                let se = cov[j * p + j].sqrt();
                let hide = suppressed(g);
                col_group.push(Some((*g).clone()));
                col_n.push(Some(counts[g.as_str()] as i64));
                let val = |v: f64| if hide { None } else { Some(v) };
                est.push(val(b[j]));
                ses.push(val(se));
                lo.push(val(b[j] - t * se));
                hi.push(val(b[j] + t * se));
                pv.push(val(p_two_sided_t(b[j] / se, df)));
            }
            // Benjamini-Hochberg across the providers reported (suppressed ones excluded).
            let raw: Vec<f64> = pv.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            let bh: Vec<Option<f64>> =
                benjamini_hochberg(&raw).into_iter().map(|v| if v.is_nan() { None } else { Some(v) }).collect();
            // Covariate-adjusted Hedges' g: the estimate over the pooled unadjusted SD of the
            // outcome of the provider's and the comparison students (WWC).
            let sd_of = |rows: &[f64]| -> f64 {
                let m = rows.iter().sum::<f64>() / rows.len() as f64;
                (rows.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (rows.len() as f64 - 1.0)).sqrt()
            };
            let comparison_y: Vec<f64> =
                live.iter().zip(&y).filter(|(i, _)| label(**i).is_empty()).map(|(_, v)| *v).collect();
            let (mut es, mut es_se) = (Vec::new(), Vec::new());
            for (k, g) in providers.iter().enumerate() {
                let mine: Vec<f64> = live.iter().zip(&y).filter(|(i, _)| label(**i) == **g).map(|(_, v)| *v).collect();
                let j = first_provider + k;
                let h = (!suppressed(g) && mine.len() >= 2 && comparison_y.len() >= 2)
                    .then(|| {
                        adjusted_g(
                            b[j],
                            sd_of(&mine),
                            sd_of(&comparison_y),
                            mine.len() as u64,
                            comparison_y.len() as u64,
                        )
                        .ok()
                    })
                    .flatten();
                es.push(h.as_ref().map(|h| h.g));
                es_se.push(h.as_ref().map(|h| h.std_error));
            }
            let boot_cols = if a.bootstrap > 0 {
                Some(bootstrap_providers(a, &x, n, p, &y, &fe, cl.as_ref(), first_provider, providers.len())?)
            } else {
                None
            };
            effects.push("group", Column::Text(col_group));
            effects.push("n", Column::Int(col_n));
            effects.push("estimate", Column::Float(est));
            effects.push("std_error", Column::Float(ses));
            effects.push("conf_low", Column::Float(lo));
            effects.push("conf_high", Column::Float(hi));
            effects.push("p_value", Column::Float(pv));
            effects.push("p_value_bh", Column::Float(bh));
            effects.push("effect_size", Column::Float(es));
            effects.push("effect_size_std_error", Column::Float(es_se));
            if let Some((blo, bhi)) = boot_cols {
                let hide = |v: Vec<Option<f64>>| -> Vec<Option<f64>> {
                    v.into_iter().zip(&providers).map(|(x, g)| if suppressed(g) { None } else { x }).collect()
                };
                effects.push("boot_conf_low", Column::Float(hide(blo)));
                effects.push("boot_conf_high", Column::Float(hide(bhi)));
            }
            diagnostics = json!({
                "model": "fixed", "n": fit.n, "k": fit.k, "df_residual": fit.df_residual, "sigma": fit.sigma,
                "rss": fit.rss, "n_clusters": fit.n_clusters, "std_errors": se_kind, "interval_df": df,
                "absorbed": a.fixed_effect, "sweeps": fit.sweeps, "comparison_n": counts.get("").copied().unwrap_or(0),
                "eiv": eiv_json,
            });
        }
        ModelArg::Random => {
            let mut names = vec!["(Intercept)".to_string()];
            let mut x: Vec<f64> = std::iter::repeat_n(1.0, n).collect();
            for c in 0..1 + a.covariate.len() {
                names.push(d.number_headers[1 + c].clone());
                x.extend(live.iter().map(|&i| d.numbers[1 + c][i].expect("present")));
            }
            let p = names.len();
            let (level, levels) = index_of(live.iter().map(|&i| label(i)).collect());
            let fit = fit_random_intercept(&x, n, p, &y, &level, levels, Likelihood::Reml)
                .map_err(|e| UserError(e.to_string()))?;
            let df = (n - p) as f64;
            for (j, name) in names.iter().enumerate() {
                let se = fit.covariance[j * p + j].sqrt();
                coefficient_rows.push(json!({
                    "term": name, "estimate": fit.coefficients[j], "std_error": se,
                    "t": fit.coefficients[j] / se, "p_value": p_two_sided_t(fit.coefficients[j] / se, df),
                }));
            }
            let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); 7];
            let mut col_group = Vec::new();
            let mut col_n = Vec::new();
            for (k, g) in groups.iter().enumerate() {
                let e = &fit.groups[k];
                let hide = suppressed(g);
                col_group.push(Some(if g.is_empty() { "(comparison)".to_string() } else { g.clone() }));
                col_n.push(Some(e.n as i64));
                let values = [
                    e.mean_residual,
                    e.std_error,
                    e.mean_residual - z * e.std_error,
                    e.mean_residual + z * e.std_error,
                    e.shrunk,
                    e.shrunk_std_error,
                    e.reliability,
                ];
                for (c, v) in cols.iter_mut().zip(values) {
                    c.push(if hide { None } else { Some(v) });
                }
            }
            effects.push("group", Column::Text(col_group));
            effects.push("n", Column::Int(col_n));
            for (name, c) in
                ["estimate", "std_error", "conf_low", "conf_high", "shrunk", "shrunk_std_error", "reliability"]
                    .iter()
                    .zip(cols)
            {
                effects.push(name, Column::Float(c));
            }
            diagnostics = json!({
                "model": "random", "likelihood": "REML", "n": fit.n_obs, "groups": levels,
                "criterion": fit.criterion, "boundary": fit.boundary, "theta": fit.theta,
                "interval": "estimate +- z * std_error (unshrunk group mean residual)",
            });
            diagnostics["variance_components"] = json!({ "between": fit.sigma2_between, "within": fit.sigma2_within });
        }
    }
    for &i in &live {
        d.ledger.validate(i);
        d.ledger.mark_used(i);
    }
    let planned = ["effects.csv", "model.json", "exceptions.csv", "dose_response.csv"];
    let out = super::out_dir(&a.out, std::slice::from_ref(&a.data), &planned)?;
    let mut dose_rows = None;
    if let Some(dc) = dose_at {
        let value = |i: usize| match dose_outcome_at {
            Some(c) => d.numbers[c][i].expect("present"),
            None => d.numbers[0][i].expect("present") - d.numbers[1][i].expect("present"),
        };
        let cluster_col = a.cluster.as_ref().map(|_| 1 + a.fixed_effect.len());
        let mut t = Table::new();
        let mut names_col: Vec<Option<String>> = Vec::new();
        let mut n_col: Vec<Option<i64>> = Vec::new();
        let mut value_cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); 5];
        let tutored: Vec<String> = groups.iter().filter(|g| !g.is_empty()).cloned().collect();
        let mut sets: Vec<(String, Vec<usize>)> =
            tutored.iter().map(|g| (g.clone(), live.iter().copied().filter(|&i| label(i) == *g).collect())).collect();
        sets.push(("(all tutored)".into(), live.iter().copied().filter(|&i| !label(i).is_empty()).collect()));
        let spec = DoseSpec { level: a.level, min_n: a.min_cell.max(50), ..DoseSpec::default() };
        let mut skipped = Vec::new();
        for (name, rows) in sets {
            let dose: Vec<f64> = rows.iter().map(|&i| d.numbers[dc][i].expect("present")).collect();
            let y: Vec<f64> = rows.iter().map(|&i| value(i)).collect();
            let cl = cluster_col.map(|c| index_of(rows.iter().map(|&i| d.text[c][i].clone()).collect()));
            let cluster = cl.as_ref().map(|(l, k)| Factor { level: l, levels: *k });
            match dose_response(&dose, &y, cluster, &spec) {
                Ok(c) => {
                    for k in 0..c.dose.len() {
                        names_col.push(Some(name.clone()));
                        n_col.push(Some(c.n as i64));
                        for (col, v) in value_cols.iter_mut().zip([
                            c.dose[k],
                            c.fit[k],
                            c.std_error[k],
                            c.conf_low[k],
                            c.conf_high[k],
                        ]) {
                            col.push(Some(v));
                        }
                    }
                }
                Err(e) => skipped.push(format!("{name}: {e}")),
            }
        }
        t.push("group", Column::Text(names_col));
        t.push("n", Column::Int(n_col));
        for (name, c) in ["dose", "fit", "std_error", "conf_low", "conf_high"].iter().zip(value_cols) {
            t.push(name, Column::Float(c));
        }
        t.write_into(&out, "dose_response.csv", Format::Csv)?;
        dose_rows = Some((t.height(), skipped));
    }
    let suppressed_groups: Vec<&String> = groups.iter().filter(|g| !g.is_empty() && suppressed(g)).collect();
    effects.push(
        "suppressed",
        Column::Bool(
            (0..effects.height())
                .map(|r| match &effects.columns[0].1 {
                    Column::Text(v) => {
                        Some(v[r].as_ref().is_some_and(|g| suppressed(if g == "(comparison)" { "" } else { g })))
                    }
                    _ => None,
                })
                .collect(),
        ),
    );
    effects.write_into(&out, "effects.csv", Format::Csv)?;
    let spec = json!({
        "outcome": a.outcome, "pre": a.pre, "covariates": a.covariate, "group": a.group,
        "comparison": a.comparison, "fixed_effects": a.fixed_effect, "cluster": a.cluster,
        "model": format!("{:?}", a.model).to_lowercase(), "reliability": a.reliability, "sem_col": a.sem_col,
        "only": a.only, "bootstrap": a.bootstrap, "seed": a.seed,
        "level": a.level, "min_cell": a.min_cell,
    });
    let mut model = json!({
        "schema_version": crate::manifest::SCHEMA_VERSION,
        "coefficients": coefficient_rows,
        "diagnostics": diagnostics,
        "spec": spec,
    });
    if let Some((_, skipped)) = &dose_rows {
        model["dose_response"] = json!({
            "file": "dose_response.csv",
            "label": "descriptive, not causal: students who attend more differ from those who attend less",
            "model": "cubic regression spline of the outcome on the dose, knots at the quartiles of the dose, pointwise t intervals (HC1, or CR1 with --cluster)",
            "outcome": a.dose_outcome.clone().unwrap_or_else(|| format!("{} - {}", a.outcome, a.pre)),
            "skipped": skipped,
        });
    }
    let mut text = serde_json::to_string_pretty(&model)?;
    text.push('\n');
    out.write("model.json", text.as_bytes())?;
    let exceptions_rows = data::write_exceptions(&out, "exceptions.csv", [&d.ledger])?;
    let accounting = d.ledger.accounting(Stage::Prepared)?;
    let mut m = Manifest::new("vam", spec, None);
    m.inputs = vec![accounting.clone()];
    m.outputs = vec![
        OutputFile::new("effects.csv", false, Some(effects.height() as u64)),
        OutputFile::new("model.json", false, None),
        OutputFile::new("exceptions.csv", true, Some(exceptions_rows)),
    ];
    if let Some((rows, _)) = &dose_rows {
        m.outputs.push(OutputFile::new("dose_response.csv", false, Some(*rows as u64)));
    }
    if !suppressed_groups.is_empty() {
        m.warnings.push(format!(
            "estimates suppressed for groups with fewer than {} students: {suppressed_groups:?}",
            a.min_cell
        ));
    }
    super::write_manifest(&out, &m)?;
    for w in &m.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!("effects for {} groups -> {}", effects.height(), a.out.join("effects.csv").display());
    super::print_accounting(&[accounting]);
    Ok(())
}

/// Lower and upper bootstrap endpoints per provider.
type BootEnds = (Vec<Option<f64>>, Vec<Option<f64>>);

/// BCa intervals of the provider coefficients by resampling clusters (or students) and
/// refitting the fixed model on each replicate.
#[allow(clippy::too_many_arguments)]
fn bootstrap_providers(
    a: &Args,
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    fe: &[(Vec<usize>, usize)],
    cluster: Option<&(Vec<usize>, usize)>,
    first: usize,
    providers: usize,
) -> anyhow::Result<BootEnds> {
    use crate::stats::bootstrap::{ClusterGram, Plan, bca, jackknife_multi, replicates_multi};
    let (unit_of, units): (Vec<usize>, usize) = match cluster {
        Some((l, k)) => (l.clone(), *k),
        None => ((0..n).collect(), n),
    };
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); units];
    for (i, &u) in unit_of.iter().enumerate() {
        rows_of[u].push(i);
    }
    // Without absorbed effects a replicate only sums per-cluster cross products.
    let gram = fe.is_empty().then(|| ClusterGram::new(x, n, p, y, &unit_of, units));
    let refit = |drawn: &[usize]| -> Vec<f64> {
        if let Some(g) = &gram {
            return g.coefficients(drawn).map_or(vec![f64::NAN; providers], |b| b[first..first + providers].to_vec());
        }
        let rows: Vec<usize> = drawn.iter().flat_map(|&u| rows_of[u].iter().copied()).collect();
        let m = rows.len();
        let mut xb = Vec::with_capacity(m * p);
        for j in 0..p {
            xb.extend(rows.iter().map(|&i| x[j * n + i]));
        }
        let yb: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        let levels: Vec<Vec<usize>> = fe.iter().map(|(l, _)| rows.iter().map(|&i| l[i]).collect()).collect();
        let factors: Vec<Factor> = levels.iter().zip(fe).map(|(l, (_, k))| Factor { level: l, levels: *k }).collect();
        match fit_fixed(&xb, m, p, &yb, &factors, None) {
            Ok(f) => f.coefficients[first..first + providers].to_vec(),
            Err(_) => vec![f64::NAN; providers],
        }
    };
    let all: Vec<usize> = (0..units).collect();
    let t0 = refit(&all);
    let plan = Plan { units, strata: None, reps: a.bootstrap, seed: a.seed };
    let t = replicates_multi(&plan, refit).map_err(|e| UserError(e.to_string()))?;
    let jack = jackknife_multi(units, refit);
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for k in 0..providers {
        let tk: Vec<f64> = t.iter().map(|r| r[k]).collect();
        let l: Vec<f64> = jack.iter().map(|r| (units as f64 - 1.0) * (t0[k] - r[k])).collect();
        match bca(&tk, t0[k], &l, a.level) {
            Ok(iv) if l.iter().all(|v| v.is_finite()) => {
                lo.push(Some(iv.low));
                hi.push(Some(iv.high));
            }
            _ => {
                lo.push(None);
                hi.push(None);
            }
        }
    }
    Ok((lo, hi))
}
