//! `obc vam`: provider (group) value-added from a student-level file.
//!
//! Writes `DIR/effects.csv` (one row per group), `DIR/model.json` (coefficients, variance
//! components, diagnostics, spec), `DIR/exceptions.csv` and `DIR/manifest.json`.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::UsageError;
use crate::data::columns::{ColumnData, read_columns_allowing_empty};
use crate::data::table::{Column, Format, Table};
use crate::data::{self, Stage};
use crate::manifest::{Manifest, OutputFile};
use crate::stats::design::{Design, Encoding, LevelOrder};
use crate::stats::vam::dose::DoseSpec;
use crate::stats::vam::eiv::MeasurementError;
use crate::stats::vam::providers::{
    FixedProviders, FixedProvidersSpec, ProviderEffect, RandomGroups, Sample, StdErrors, Term, WildOptions,
    dose_curves, fixed_providers, random_groups,
};
use crate::stats::warning::{FEW_CLUSTERS, Warning, WarningCode};
use crate::stats::wild::Weights;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// Provider indicators against the comparison group, absorbed fixed effects, robust SEs.
    Fixed,
    /// Random intercept per group by REML; empirical Bayes (shrunken) effects.
    Random,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VcovArg {
    /// Heteroskedasticity-robust; t with n - k df.
    Hc1,
    /// Cluster-robust CR1 (needs --cluster); t with G - 1 df.
    Cr1,
    /// Bias-reduced CR2 (needs --cluster); t with Satterthwaite df per provider.
    Cr2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WeightsArg {
    Rademacher,
    Webb,
    Mammen,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc prepare contract.toml --out prepared
  obc vam --data prepared/analytic.csv --only analysed --outcome post_score --pre pre_score --group provider_id \\
      --fixed-effect school_id --fixed-effect grade --out vam
  obc vam --data prepared/analytic.csv --only analysed --outcome post_score --pre pre_score --group provider_id \\
      --cluster tutor_id --vcov cr2 --wild-bootstrap 9999 --seed 1 --out vam-clustered
  obc vam --data prepared/analytic.csv --only analysed --outcome post_score --pre pre_score --group provider_id \\
      --covariate grade --model random --out vam-random")]
pub struct Args {
    /// Student-level data file (CSV, TSV, Parquet or Excel .xlsx), e.g. the analytic file of
    /// `obc prepare`.
    #[arg(long)]
    pub data: PathBuf,
    /// Sheet of an Excel workbook (.xlsx) given as --data (default: the first sheet).
    #[arg(long)]
    pub sheet: Option<String>,
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
    /// Cluster column (fixed model): CR2 standard errors by default, and the clusters of
    /// --vcov cr1, --bootstrap and --wild-bootstrap.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Standard errors of the fixed model. Default: cr2 with --cluster (cr1 under
    /// --reliability / --sem-col, whose sandwich has no CR2), hc1 without.
    #[arg(long, value_enum)]
    pub vcov: Option<VcovArg>,
    /// Wild cluster restricted bootstrap of each provider effect with this many replicates
    /// (needs --cluster; Rademacher weights enumerate all 2^G sign vectors when 2^G <= B):
    /// wild_p_value, wild_conf_low, wild_conf_high.
    #[arg(long)]
    pub wild_bootstrap: Option<usize>,
    /// Weights of the wild cluster bootstrap.
    #[arg(long, value_enum, requires = "wild_bootstrap")]
    pub weights: Option<WeightsArg>,
    /// `fixed`: provider effects against the comparison group with robust standard errors;
    /// `random`: random intercepts per group (REML) with shrunken (empirical Bayes) estimates.
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
    /// Seed of the bootstrap and of the wild bootstrap.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Groups with fewer students are reported without estimates (suppressed).
    #[arg(long, default_value_t = 10)]
    pub min_cell: usize,
    /// Output folder: effects.csv, model.json, exceptions.csv, manifest.json (and
    /// dose_response.csv with --dose).
    #[arg(long)]
    pub out: PathBuf,
}

/// The rows of the analysis, read by column name.
struct Rows {
    data: ColumnData,
    /// The rows used, in file order.
    live: Vec<usize>,
}

impl Rows {
    fn text(&self, name: &str) -> Vec<String> {
        let (_, v) = self.data.text_column(name).expect("read above");
        self.live.iter().map(|&i| v[i].to_string()).collect()
    }

    /// The column as a factor of the model's rows, levels sorted; the value `as_empty` (if
    /// any) becomes the empty label. Computed from the column's distinct values.
    fn factor(&self, name: &str, as_empty: Option<&str>) -> Encoding<String> {
        let (_, v) = self.data.text_column(name).expect("read above");
        let labels: Vec<String> =
            v.values().iter().map(|x| if Some(x.as_str()) == as_empty { String::new() } else { x.clone() }).collect();
        Encoding::of_codes(&labels, self.live.iter().map(|&i| v.codes()[i] as usize), LevelOrder::Sorted)
    }

    fn number(&self, name: &str) -> (String, Vec<f64>) {
        let (h, v) = self.data.number_column(name).expect("read above");
        (h.to_string(), self.live.iter().map(|&i| v[i].expect("complete rows")).collect())
    }
}

fn check_args(a: &Args) -> Result<(), UsageError> {
    if !(a.level > 0.0 && a.level < 1.0) {
        return Err(UsageError(format!("--level {} must be strictly between 0 and 1", a.level)));
    }
    if a.model == ModelArg::Random && (a.reliability.is_some() || a.sem_col.is_some() || !a.fixed_effect.is_empty()) {
        return Err(UsageError(
            "--reliability, --sem-col and --fixed-effect apply to --model fixed; the random model takes covariates only"
                .into(),
        ));
    }
    let eiv = a.reliability.is_some() || a.sem_col.is_some();
    if a.model == ModelArg::Random && (a.vcov.is_some() || a.wild_bootstrap.is_some()) {
        return Err(UsageError("--vcov and --wild-bootstrap apply to --model fixed".into()));
    }
    if a.cluster.is_none() && matches!(a.vcov, Some(VcovArg::Cr1 | VcovArg::Cr2)) {
        return Err(UsageError("--vcov cr1 and cr2 need --cluster".into()));
    }
    if a.cluster.is_none() && a.wild_bootstrap.is_some() {
        return Err(UsageError("--wild-bootstrap needs --cluster".into()));
    }
    if a.wild_bootstrap == Some(0) {
        return Err(UsageError("--wild-bootstrap needs at least 1 replicate".into()));
    }
    if eiv && a.vcov == Some(VcovArg::Cr2) {
        return Err(UsageError(
            "--vcov cr2 is not available with --reliability / --sem-col: the errors-in-variables correction has its own sandwich (HC1, or CR1 with --cluster)"
                .into(),
        ));
    }
    if eiv && a.wild_bootstrap.is_some() {
        return Err(UsageError(
            "--wild-bootstrap is not available with --reliability / --sem-col (it bootstraps the uncorrected fit)"
                .into(),
        ));
    }
    Ok(())
}

/// The standard errors asked for, or the default: CR2 with clusters (CR1 under the
/// errors-in-variables correction), HC1 without.
fn std_errors(a: &Args) -> StdErrors {
    let eiv = a.reliability.is_some() || a.sem_col.is_some();
    match (a.vcov, &a.cluster) {
        (Some(VcovArg::Hc1), _) | (None, None) => StdErrors::Hc1,
        (Some(VcovArg::Cr1), _) => StdErrors::Cr1,
        (Some(VcovArg::Cr2), _) => StdErrors::Cr2,
        (None, Some(_)) if eiv => StdErrors::Cr1,
        (None, Some(_)) => StdErrors::Cr2,
    }
}

fn weights(a: &Args) -> Weights {
    match a.weights.unwrap_or(WeightsArg::Rademacher) {
        WeightsArg::Rademacher => Weights::Rademacher,
        WeightsArg::Webb => Weights::Webb,
        WeightsArg::Mammen => Weights::Mammen,
    }
}

/// Reads the columns the options name and keeps the complete (and `--only`) rows.
fn read_rows(a: &Args) -> anyhow::Result<Rows> {
    // Text columns: group (empty allowed), fixed effects, cluster, --only (empty allowed).
    let mut text = vec![(a.group.clone(), true)];
    text.extend(a.fixed_effect.iter().map(|f| (f.clone(), false)));
    text.extend(a.cluster.iter().map(|c| (c.clone(), false)));
    text.extend(a.only.iter().map(|c| (c.clone(), true)));
    let mut numbers = vec![a.outcome.clone(), a.pre.clone()];
    numbers.extend(a.covariate.iter().cloned());
    numbers.extend(a.sem_col.iter().cloned());
    numbers.extend(a.dose.iter().cloned());
    numbers.extend(a.dose_outcome.iter().cloned());
    let mut data = read_columns_allowing_empty(&a.data, a.sheet.as_deref(), &text, &numbers)?;
    if let Some(c) = &a.sem_col {
        let at = 2 + a.covariate.len();
        if data.numbers[at].iter().all(Option::is_none) {
            return Err(UsageError(format!(
                "--sem-col {c}: no row has a standard error (an export without SEMs, such as i-Ready's); the \
                 errors-in-variables correction cannot be computed from it: give --reliability R, the test's \
                 published reliability, instead"
            ))
            .into());
        }
    }
    let live = data.complete_rows(a.only.as_deref());
    Ok(Rows { data, live })
}

/// The students of the model: outcome, named pretest and covariates, groups ("" for the
/// comparison group and for --comparison).
fn sample(a: &Args, r: &Rows) -> anyhow::Result<Sample> {
    let (_, y) = r.number(&a.outcome);
    let mut regressors = Design::builder(y.len());
    let (pre, values) = r.number(&a.pre);
    regressors = regressors.numeric(&pre, values)?;
    for c in &a.covariate {
        let (name, values) = r.number(c);
        regressors = regressors.numeric(&name, values)?;
    }
    Ok(Sample {
        y,
        regressors: regressors.build(),
        pre,
        group_column: a.group.clone(),
        groups: r.factor(&a.group, Some(&a.comparison)),
        comparison: a.comparison.clone(),
    })
}

fn coefficients_json(terms: &[Term]) -> Vec<Value> {
    terms
        .iter()
        .map(|t| {
            json!({
                "term": t.name, "estimate": t.estimate, "std_error": t.std_error,
                "t": t.t, "p_value": t.p_value,
            })
        })
        .collect()
}

/// The effects table, coefficients, diagnostics and warnings of a model.
type ModelOutput = (Table, Vec<Value>, Value, Vec<Warning>);

/// The fixed model's effects table, diagnostics and warnings.
fn fixed_model(a: &Args, r: &Rows, s: &Sample) -> anyhow::Result<ModelOutput> {
    let sorted = |c: &String| r.factor(c, None);
    let measurement_error = match (a.reliability, &a.sem_col) {
        (Some(rel), _) => Some(MeasurementError::Reliability(rel)),
        (None, Some(c)) => Some(MeasurementError::Sem(r.number(c).1)),
        (None, None) => None,
    };
    let std_errors = std_errors(a);
    let spec = FixedProvidersSpec {
        absorb: a.fixed_effect.iter().map(sorted).collect(),
        cluster: a.cluster.as_ref().map(sorted),
        std_errors,
        wild: a.wild_bootstrap.map(|reps| WildOptions { weights: weights(a), reps, seed: a.seed }),
        measurement_error,
        level: a.level,
        min_cell: a.min_cell,
        bootstrap: a.bootstrap,
        seed: a.seed,
    };
    let FixedProviders { terms, providers, fit, covariance, interval_df, wild, eiv, comparison_n } =
        fixed_providers(s, &spec)?;
    let effects = fixed_effects_table(a, &providers);
    let label = std_errors.label();
    let eiv_json = match eiv {
        Some(e) => json!({
            "naive_coefficients": e.naive,
            "s_pre": e.s_pre,
            "implied_reliability": e.implied_reliability,
            "std_errors": format!("M-estimation sandwich (stats::vam::eiv), {label}"),
        }),
        None => Value::Null,
    };
    let interval = match std_errors {
        StdErrors::Hc1 => "estimate +- t(n - k) * std_error",
        StdErrors::Cr1 => "estimate +- t(G - 1) * std_error",
        StdErrors::Cr2 => "estimate +- t(df) * std_error, df = Satterthwaite per provider (effects.csv df)",
    };
    let treated: serde_json::Map<String, Value> =
        providers.iter().map(|p| (p.group.clone(), json!(p.treated_clusters))).collect();
    let wild_json = wild.map_or(Value::Null, |w| {
        json!({
            "weights": w.weights, "reps_requested": a.wild_bootstrap, "reps": w.reps, "enumerated": w.enumerated,
            "seed": if w.enumerated { Value::Null } else { json!(a.seed) }, "clusters": w.clusters, "null": 0.0,
            "p_value": "symmetric", "interval": "test inversion at the level; -inf / inf where unbounded",
            "design": "within-transformed (absorbed fixed effects partialled out), CR1 t statistic",
        })
    });
    let diagnostics = json!({
        "model": "fixed", "n": fit.n, "k": fit.k, "df_residual": fit.df_residual, "sigma": fit.sigma,
        "rss": fit.rss, "vcov": label, "vcov_default": a.vcov.is_none(),
        "n_clusters": covariance.n_clusters, "std_errors": label, "interval": interval,
        "interval_df": interval_df, "treated_clusters": a.cluster.as_ref().map(|_| treated),
        "wild_bootstrap": wild_json, "absorbed": a.fixed_effect, "sweeps": fit.sweeps,
        "comparison_n": comparison_n, "eiv": eiv_json,
    });
    Ok((effects, coefficients_json(&terms), diagnostics, fixed_warnings(a, std_errors, &providers)))
}

/// effects.csv of the fixed model.
fn fixed_effects_table(a: &Args, providers: &[ProviderEffect]) -> Table {
    let mut effects = Table::new();
    let float = |f: fn(&ProviderEffect) -> Option<f64>| Column::Float(providers.iter().map(f).collect());
    effects.push("group", Column::Text(providers.iter().map(|p| Some(p.group.clone())).collect()));
    effects.push("n", Column::Int(providers.iter().map(|p| Some(p.n as i64)).collect()));
    effects.push("estimate", float(|p| p.estimate));
    effects.push("std_error", float(|p| p.std_error));
    if std_errors(a) == StdErrors::Cr2 {
        effects.push("df", float(|p| p.df));
    }
    effects.push("conf_low", float(|p| p.conf_low));
    effects.push("conf_high", float(|p| p.conf_high));
    effects.push("p_value", float(|p| p.p_value));
    effects.push("p_value_bh", float(|p| p.p_value_bh));
    effects.push("effect_size", float(|p| p.effect_size));
    effects.push("effect_size_std_error", float(|p| p.effect_size_std_error));
    if a.bootstrap > 0 {
        effects.push("boot_conf_low", float(|p| p.boot_conf_low));
        effects.push("boot_conf_high", float(|p| p.boot_conf_high));
    }
    if a.wild_bootstrap.is_some() {
        effects.push("wild_p_value", float(|p| p.wild_p_value));
        effects.push("wild_conf_low", float(|p| p.wild_conf_low));
        effects.push("wild_conf_high", float(|p| p.wild_conf_high));
    }
    effects.push("suppressed", Column::Bool(providers.iter().map(|p| Some(p.suppressed)).collect()));
    effects
}

/// `few_clusters` under CR1 (asked for, or the default of the errors-in-variables
/// correction, which is also said) for providers in fewer than 10 clusters.
fn fixed_warnings(a: &Args, std_errors: StdErrors, providers: &[ProviderEffect]) -> Vec<Warning> {
    let mut out = Vec::new();
    if std_errors != StdErrors::Cr1 {
        return out;
    }
    if a.vcov.is_none() {
        out.push(Warning::new(
            WarningCode::ValueAdded,
            "CR1 standard errors: the errors-in-variables correction (--reliability / --sem-col) has no CR2"
                .to_string(),
        ));
    }
    let few: Vec<String> = providers
        .iter()
        .filter(|p| !p.suppressed && p.treated_clusters.is_some_and(|g| g < FEW_CLUSTERS))
        .map(|p| format!("{} ({})", p.group, p.treated_clusters.unwrap_or(0)))
        .collect();
    if !few.is_empty() {
        out.push(Warning::new(
            WarningCode::FewClusters,
            format!(
                "CR1 intervals are too narrow with few clusters; providers in fewer than {FEW_CLUSTERS} clusters (treated clusters): {}; use --vcov cr2 or --wild-bootstrap",
                few.join(", ")
            ),
        ));
    }
    out
}

/// The random model's effects table (every group, the comparison group too) and diagnostics.
fn random_model(a: &Args, s: &Sample) -> anyhow::Result<ModelOutput> {
    let RandomGroups { terms, groups, fit } = random_groups(s, a.level, a.min_cell)?;
    let mut effects = Table::new();
    let label = |g: &str| if g.is_empty() { "(comparison)".to_string() } else { g.to_string() };
    effects.push("group", Column::Text(groups.iter().map(|g| Some(label(&g.group))).collect()));
    effects.push("n", Column::Int(groups.iter().map(|g| Some(g.n as i64)).collect()));
    let names = ["estimate", "std_error", "conf_low", "conf_high", "shrunk", "shrunk_std_error", "reliability"];
    for (c, name) in names.iter().enumerate() {
        effects.push(name, Column::Float(groups.iter().map(|g| g.values.map(|v| v[c])).collect()));
    }
    effects.push("suppressed", Column::Bool(groups.iter().map(|g| Some(g.suppressed)).collect()));
    let mut diagnostics = json!({
        "model": "random", "likelihood": "REML", "n": fit.n_obs, "groups": groups.len(),
        "criterion": fit.criterion, "boundary": fit.boundary, "theta": fit.theta,
        "interval": "estimate +- z * std_error (unshrunk group mean residual)",
    });
    diagnostics["variance_components"] = json!({ "between": fit.sigma2_between, "within": fit.sigma2_within });
    Ok((effects, coefficients_json(&terms), diagnostics, Vec::new()))
}

/// The dose-response table (per provider and pooled) and the groups skipped with why.
fn dose_table(a: &Args, r: &Rows, s: &Sample, dose: &str) -> (Table, Vec<String>) {
    let (_, dose) = r.number(dose);
    let value: Vec<f64> = match &a.dose_outcome {
        Some(c) => r.number(c).1,
        None => {
            s.y.iter()
                .zip(s.regressors.column(&s.pre).expect("the pretest is a regressor"))
                .map(|(y, p)| y - p)
                .collect()
        }
    };
    let cluster = a.cluster.as_ref().map(|c| r.text(c));
    let spec = DoseSpec { level: a.level, min_n: a.min_cell.max(50), ..DoseSpec::default() };
    let mut names_col: Vec<Option<String>> = Vec::new();
    let mut n_col: Vec<Option<i64>> = Vec::new();
    let mut value_cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); 5];
    let mut skipped = Vec::new();
    for (name, curve) in dose_curves(&s.groups, &dose, &value, cluster.as_deref(), &spec) {
        match curve {
            Ok(c) => {
                for k in 0..c.dose.len() {
                    names_col.push(Some(name.clone()));
                    n_col.push(Some(c.n as i64));
                    let row = [c.dose[k], c.fit[k], c.std_error[k], c.conf_low[k], c.conf_high[k]];
                    for (col, v) in value_cols.iter_mut().zip(row) {
                        col.push(Some(v));
                    }
                }
            }
            Err(e) => skipped.push(format!("{name}: {e}")),
        }
    }
    let mut t = Table::new();
    t.push("group", Column::Text(names_col));
    t.push("n", Column::Int(n_col));
    for (name, c) in ["dose", "fit", "std_error", "conf_low", "conf_high"].iter().zip(value_cols) {
        t.push(name, Column::Float(c));
    }
    (t, skipped)
}

pub fn run(a: &Args) -> anyhow::Result<()> {
    check_args(a)?;
    crate::profile::phase("start");
    let mut r = read_rows(a)?;
    crate::profile::phase("data read");
    let s = sample(a, &r)?;
    let (effects, coefficient_rows, diagnostics, warnings) = match a.model {
        ModelArg::Fixed => fixed_model(a, &r, &s)?,
        ModelArg::Random => random_model(a, &s)?,
    };
    crate::profile::phase("fitted");
    for &i in &r.live {
        r.data.ledger.validate(i);
        r.data.ledger.mark_used(i);
    }
    let planned = ["effects.csv", "model.json", "exceptions.csv", "dose_response.csv"];
    let out = super::out_dir(&a.out, std::slice::from_ref(&a.data), &planned)?;
    let mut dose_rows = None;
    if let Some(dose) = &a.dose {
        let (t, skipped) = dose_table(a, &r, &s, dose);
        t.write_into(&out, "dose_response.csv", Format::Csv)?;
        dose_rows = Some((t.height(), skipped));
    }
    let suppressed_groups: Vec<&String> = s
        .groups
        .levels
        .iter()
        .enumerate()
        .filter(|(k, g)| !g.is_empty() && s.groups.codes.iter().filter(|c| *c == k).count() < a.min_cell)
        .map(|(_, g)| g)
        .collect();
    effects.write_into(&out, "effects.csv", Format::Csv)?;
    let spec = json!({
        "outcome": a.outcome, "pre": a.pre, "covariates": a.covariate, "group": a.group,
        "comparison": a.comparison, "fixed_effects": a.fixed_effect, "cluster": a.cluster,
        "model": format!("{:?}", a.model).to_lowercase(), "reliability": a.reliability, "sem_col": a.sem_col,
        "only": a.only, "bootstrap": a.bootstrap, "seed": a.seed, "vcov": a.vcov.map(|v| format!("{v:?}").to_lowercase()),
        "wild_bootstrap": a.wild_bootstrap, "weights": a.weights.map(|w| format!("{w:?}").to_lowercase()),
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
    let exceptions_rows = data::write_exceptions(&out, "exceptions.csv", [&r.data.ledger])?;
    let accounting = r.data.ledger.accounting(Stage::Prepared)?;
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
    m.warnings.extend(warnings);
    if !suppressed_groups.is_empty() {
        m.warnings.push(Warning::new(
            WarningCode::ValueAdded,
            format!("estimates suppressed for groups with fewer than {} students: {suppressed_groups:?}", a.min_cell),
        ));
    }
    super::write_manifest(&out, &m)?;
    eprintln!("effects for {} groups -> {}", effects.height(), a.out.join("effects.csv").display());
    super::print_accounting(&[accounting]);
    super::print_warnings(&m.warnings);
    Ok(())
}
