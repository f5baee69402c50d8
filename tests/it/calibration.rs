//! Calibration of the OC curves of `obc baseline` against settlement (issue 20, "Must
//! deliver 1"; the findings are in docs/methods.md 10.5, "Calibration of the OC curves").
//! Slow, so ignored by default; run with
//!
//! ```sh
//! cargo test --release --test it calibration -- --ignored --nocapture
//! ```
//!
//! (`OBC_CALIB_DISTRICTS=n` changes the number of districts per variant, default 100).
//!
//! Each district is simulated in process (`obc simulate`'s model, 5,000 students, 6
//! providers, seeds 3, 4, ...), written with its contract (the sample contract: share of
//! students meeting the growth norm, lower bound of the 90% percentile bootstrap interval,
//! tiers 0.50 and 0.60) to a temporary folder, settled (`obc::settle`) and given targets
//! (`contract::run::baseline`) with the two tiers as `[baseline] thresholds`. For each
//! provider and tier the settled decision ("met" or not) is set against predictions of
//! P(tier met) from the baseline's OC cells:
//!
//! - `issue`: the issue's study: the default grid (sizes 25-400, effects 0-0.4) interpolated
//!   (linear in d, log n) at the counted n and at `truth.json`'s
//!   `realised_mean_sd_posttest` (the mean realised effect over every tutored student with
//!   a valid post-test, in units of σ = 15);
//! - `counted`: the same interpolation at the mean realised effect of the provider's
//!   *counted* students, each in units of the history's post-test SD of their grade (the
//!   baseline's unit of d);
//! - `exact`: the OC cell the baseline computes at exactly that n and that d (both are added
//!   to the `[baseline]` grid, so no interpolation). A provider whose realised effect is
//!   negative (tutor effects around a zero provider effect) is predicted at d = 0, the
//!   smallest effect a baseline takes;
//! - `anchored`: at exact n, at the effect whose population metric is the counted
//!   effect's plus the district's cohort shift (the current comparison group's share
//!   meeting the norms minus the baseline's business-as-usual level), interpolated
//!   linearly on a 0.02 grid of d: what the prediction would be if the baseline knew the
//!   current cohort's level.
//!
//! "Before" is the contract as `obc simulate` wrote it until this study: it named the
//! current year's winter break (`[tests] breaks`) but not the history year's (`[history]
//! breaks`, default none), so the history's instructional weeks include 12 days of break
//! that the current year's exclude; the norms' weeks term then expects too little growth of
//! the current cohort. That is a flaw of the study's contract, not of `obc`'s OC curves:
//! "after" is the contract `obc simulate` writes now, with the history year's break, and
//! the decomposition runs on it.
//!
//! The decomposition reruns the districts with one candidate cause switched off at a time
//! (`SimSpec::selection`, `SimSpec::dosage_selection`), and with chosen provider effects
//! including zeros (`SimSpec::provider_effects`); it also sets the exact prediction
//! against the decision the normal approximation of the OC curves would have made from the
//! settled estimate (`p − k·sqrt(p(1 − p)/n) ≥ t`), and prints the cohort shift (the
//! current comparison group's share meeting the norms minus the baseline's
//! business-as-usual level).
//!
//! Asserted: properties that hold whatever the diagnosis (every provider-tier decision is
//! paired with predictions in [0, 1]; the study's own unit of d agrees with the
//! baseline's). The issue's calibration criterion (each bin within 2.5 binomial SEs,
//! near-null providers within 0.04) is printed for each table, and asserted for the exact
//! predictions on the fixed contract ("after") when at least 100 districts run (it held
//! there, with max |z| 1.2 and a near-null gap of +0.007, docs/methods.md 10.5).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use obc::contract::baseline::{Baseline, decision_k, sd_equivalent};
use obc::contract::oc::OcCell;
use obc::contract::run::{self, Options};
use obc::contract::settle::Verdict;
use obc::contract::terms::Contract;
use obc::simulate::{self, District, Selection, SimSpec};
use rayon::prelude::*;

/// The sample contract's tiers, given to the baseline as its thresholds.
const TIERS: [f64; 2] = [0.50, 0.60];
/// The default `[baseline]` grid the issue's study interpolated in.
const GRID_SIZES: [usize; 5] = [25, 50, 100, 200, 400];
const GRID_EFFECTS: [f64; 5] = [0.0, 0.1, 0.2, 0.3, 0.4];
/// Bins of predicted P(met), as in the issue.
const BINS: [(f64, f64, &str); 7] = [
    (0.0, 0.05, "< 0.05"),
    (0.05, 0.20, "0.05-0.20"),
    (0.20, 0.40, "0.20-0.40"),
    (0.40, 0.60, "0.40-0.60"),
    (0.60, 0.80, "0.60-0.80"),
    (0.80, 0.95, "0.80-0.95"),
    (0.95, 1.0 + 1e-12, ">= 0.95"),
];
/// The fine effect grid (steps of 0.02) runs to this d, for the cohort-anchored prediction.
const FINE_MAX: f64 = 0.8;
/// Realised effects below this (SD) are "near-null" providers.
const NEAR_NULL: f64 = 0.1;
/// The baseline populations compared, with the `[baseline]` lines that choose each:
/// every history student; those at or below the 50th percentile of their grade's
/// pre-tests; the history reweighted to the district's planned roster (the tutored
/// students with their fall score and groups, as the district knows them when it signs).
const POPULATIONS: [(&str, &str); 3] = [
    ("all", ""),
    ("like_pre", "max_pre_percentile = 50\n"),
    ("like_served", "[baseline.served]\nroster = \"planned.csv\"\n"),
];
/// The low-income growth shortfall of the second scenario (points per 28 weeks, about a
/// fifth of a within-grade SD): growth depends on income, which selection uses and the
/// norms do not.
const LOW_INCOME_GROWTH: f64 = 3.0;
/// The SD of the school-year growth shift of the cohort-drift scenario (points per 28
/// weeks).
const COHORT_SD: f64 = 3.0;

/// A decomposition variant: the spec of a district with one candidate cause switched off.
type Switch = fn(SimSpec) -> SimSpec;

/// One provider-tier decision of one district with its predictions.
#[derive(Clone, Debug)]
struct Decision {
    /// Counted students.
    n: usize,
    /// `truth.json`'s realised effect over post-tested students (σ = 15 units).
    d_posttest: f64,
    /// Mean realised effect over the counted students, in the baseline's unit.
    d_counted: f64,
    p_issue: f64,
    p_counted: f64,
    p_exact: f64,
    /// The exact prediction of each baseline population of [`POPULATIONS`] (when the
    /// district ran them; `p_exact` is that of `all`).
    p_population: Vec<f64>,
    /// At exact n and at the effect whose population metric is the counted effect's plus
    /// the district's cohort shift (so the prediction is anchored on the current
    /// comparison group, as in tests/it/check.rs).
    p_anchored: f64,
    /// The settled decision: verdict "met".
    met: bool,
    /// The decision of the OC curves' normal rule applied to the settled estimate.
    met_normal: bool,
}

/// One district's decisions and its cohort shift.
struct DistrictResult {
    decisions: Vec<Decision>,
    /// Current comparison share meeting the norms minus the baseline's business as usual.
    cohort_shift: f64,
}

/// A provider's counted students: n and the mean realised effect in the baseline's unit.
struct Counted {
    provider: String,
    n: usize,
    d: f64,
}

/// The within-grade SD (n − 1) of the spring scores of history students with a valid fall
/// and a valid spring test: the baseline's unit of d, computed from the simulated rows so
/// that the exact effects can be put on the grid before the baseline runs.
fn history_post_sd(district: &District) -> BTreeMap<i32, f64> {
    // per student: the fall grade and the spring (grade, score), valid tests only
    type FallSpring = (Option<i32>, Option<(i32, f64)>);
    let mut tests: HashMap<&str, FallSpring> = HashMap::new();
    for h in district.history.iter().filter(|h| h.valid == "true") {
        let e = tests.entry(h.student_id.as_str()).or_default();
        match h.window.as_str() {
            "fall" => e.0 = Some(h.grade.parse().unwrap()),
            "spring" => e.1 = Some((h.grade.parse().unwrap(), h.scale_score.parse().unwrap())),
            _ => {}
        }
    }
    let mut by_grade: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for (_, (fall, spring)) in tests {
        if let (Some(_), Some((g, y))) = (fall, spring) {
            by_grade.entry(g).or_default().push(y);
        }
    }
    by_grade
        .into_iter()
        .map(|(g, v)| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (g, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt())
        })
        .collect()
}

/// Each provider's counted students (from the audit) and their mean realised effect.
fn counted_effects(settled: &run::Settled, district: &District, sd_post: &BTreeMap<i32, f64>) -> Vec<Counted> {
    let effect: HashMap<&str, f64> = district.student_effects.iter().map(|(id, e)| (id.as_str(), *e)).collect();
    let mut by_provider: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for a in settled.settlement.audit.iter().filter(|a| a.counted) {
        let s = &settled.students[a.index];
        if let Some(p) = &s.provider {
            let delta = effect[s.student_id.as_str()];
            by_provider.entry(p.clone()).or_default().push(delta / sd_post[&s.grade]);
        }
    }
    by_provider
        .into_iter()
        .map(|(provider, d)| Counted { provider, n: d.len(), d: d.iter().sum::<f64>() / d.len() as f64 })
        .collect()
}

/// The `[baseline]` section: the tiers as thresholds; the default grid plus every counted
/// n, every (positive) counted effect and the fine grid 0, 0.02, ..., [`FINE_MAX`].
fn baseline_section(counted: &[Counted]) -> String {
    let sizes: BTreeSet<usize> = GRID_SIZES.iter().copied().chain(counted.iter().map(|c| c.n)).collect();
    let fine = (0..=(FINE_MAX * 50.0).round() as u32).map(|i| f64::from(i) / 50.0);
    let mut effects: Vec<f64> =
        GRID_EFFECTS.iter().copied().chain(fine).chain(counted.iter().map(|c| c.d.max(0.0))).collect();
    effects.sort_by(f64::total_cmp);
    effects.dedup();
    let sizes: Vec<usize> = sizes.into_iter().collect();
    format!("\n[baseline]\nthresholds = {TIERS:?}\nsizes = {sizes:?}\neffects = {effects:?}\n")
}

/// Writes `planned.csv`: every tutored student of the roster with a valid fall test, their
/// grade, fall score (the first valid one) and groups: whom the district plans to serve,
/// as it knows them when it signs (students are chosen on the fall screener).
fn write_planned(district: &District, dir: &std::path::Path) {
    let mut fall: HashMap<&str, &str> = HashMap::new();
    for a in district.assessments.iter().filter(|a| a.window == "fall" && a.valid == "true") {
        fall.entry(a.student_id.as_str()).or_insert(a.scale_score.as_str());
    }
    let mut text =
        String::from("student_id,grade,pre_score,low_income,race_ethnicity,english_learner,disability,gender\n");
    for r in district.roster.iter().filter(|r| !r.provider_id.is_empty()) {
        if let Some(score) = fall.get(r.student_id.as_str()) {
            text.push_str(&format!(
                "{},{},{score},{},{},{},{},{}\n",
                r.student_id, r.grade, r.low_income, r.race_ethnicity, r.english_learner, r.disability, r.gender
            ));
        }
    }
    std::fs::write(dir.join("planned.csv"), text).unwrap();
}

/// The OC cell at exactly (d, n, t).
fn cell(cells: &[OcCell], d: f64, n: usize, t: f64) -> f64 {
    cells
        .iter()
        .find(|c| c.effect == d && c.n == n && c.threshold == t)
        .unwrap_or_else(|| panic!("no OC cell at d {d}, n {n}, t {t}"))
        .p_met
}

/// P(met) at exactly n, linear in d between the effects the OC cells hold at n (d clamped
/// to them).
fn at_n(cells: &[OcCell], d: f64, n: usize, t: f64) -> f64 {
    let mut curve: Vec<(f64, f64)> =
        cells.iter().filter(|c| c.n == n && c.threshold == t).map(|c| (c.effect, c.p_met)).collect();
    curve.sort_by(|a, b| a.0.total_cmp(&b.0));
    let d = d.clamp(curve[0].0, curve[curve.len() - 1].0);
    let hi = curve.iter().position(|c| c.0 >= d).unwrap().max(1);
    let ((d0, p0), (d1, p1)) = (curve[hi - 1], curve[hi]);
    p0 + (p1 - p0) * (d - d0) / (d1 - d0)
}

/// The population metric at d on the baseline's curve (linear between its points).
fn metric_at(curve: &[(f64, f64)], d: f64) -> f64 {
    let d = d.clamp(curve[0].0, curve[curve.len() - 1].0);
    let hi = curve.iter().position(|c| c.0 >= d).unwrap().max(1);
    let ((d0, m0), (d1, m1)) = (curve[hi - 1], curve[hi]);
    m0 + (m1 - m0) * (d - d0) / (d1 - d0)
}

/// The issue's interpolation on the default grid: linear in d, linear in log n, clamped to
/// the grid.
fn interpolate(cells: &[OcCell], d: f64, n: usize, t: f64) -> f64 {
    let bracket = |grid: &[f64], x: f64| -> (usize, usize, f64) {
        let x = x.clamp(grid[0], grid[grid.len() - 1]);
        let hi = grid.iter().position(|&g| g >= x).unwrap().max(1);
        let lo = hi - 1;
        (lo, hi, (x - grid[lo]) / (grid[hi] - grid[lo]))
    };
    let log_sizes: Vec<f64> = GRID_SIZES.iter().map(|&s| (s as f64).ln()).collect();
    let (d0, d1, wd) = bracket(&GRID_EFFECTS, d);
    let (n0, n1, wn) = bracket(&log_sizes, (n as f64).ln());
    let at = |e: usize, s: usize| cell(cells, GRID_EFFECTS[e], GRID_SIZES[s], t);
    let low_n = at(d0, n0) * (1.0 - wd) + at(d1, n0) * wd;
    let high_n = at(d0, n1) * (1.0 - wd) + at(d1, n1) * wd;
    low_n * (1.0 - wn) + high_n * wn
}

/// The contract as `obc simulate` wrote it before it named the history year's winter break
/// (the study's "before"): its `[history]` section removed.
fn without_history_breaks(text: &str) -> String {
    let start = text.find("\n[history]\n").expect("the simulated contract names the history year's breaks");
    let end = text[start + 1..].find("\n\n").map_or(text.len(), |e| start + 1 + e);
    format!("{}{}", &text[..start], &text[end..])
}

/// Simulates, settles and sets targets for one district; pairs every provider-tier
/// decision with its predictions. Without `fix_history_breaks` the contract loses the
/// history year's winter break ([`without_history_breaks`]).
fn run_district(spec: &SimSpec, fix_history_breaks: bool, populations: bool) -> DistrictResult {
    let district = simulate::generate(spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    simulate::write(&district, dir.path()).unwrap();
    write_planned(&district, dir.path());
    let path = simulate::write_contract(spec, dir.path()).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    let text = if fix_history_breaks { written } else { without_history_breaks(&written) };
    let contract = Contract::from_toml(&text, "contract.toml").unwrap();
    let settled = obc::settle(&contract, dir.path(), &Options::default()).unwrap();
    let sd_post = history_post_sd(&district);
    let counted = counted_effects(&settled, &district, &sd_post);
    let grid = baseline_section(&counted);
    let with_grid = Contract::from_toml(&format!("{text}{grid}"), "contract.toml").unwrap();
    let targets = run::baseline(&with_grid, dir.path(), false).unwrap();
    let b: &Baseline = &targets.baseline;
    // the other populations' baselines (the same grid; `all` is `b`)
    let others: Vec<Baseline> = if populations {
        POPULATIONS[1..]
            .iter()
            .map(|(_, lines)| {
                let c = Contract::from_toml(&format!("{text}{grid}{lines}"), "contract.toml").unwrap();
                run::baseline(&c, dir.path(), false).unwrap().baseline
            })
            .collect()
    } else {
        Vec::new()
    };
    for (g, sd) in &b.population.sd_post_by_grade {
        assert!(
            (sd - sd_post[g]).abs() < 1e-9 * sd,
            "grade {g}: the study's unit {} vs the baseline's {sd}",
            sd_post[g]
        );
    }
    let k = decision_k(contract.decision.rule, contract.decision.level);
    let truth: HashMap<&str, f64> = district
        .truth
        .providers
        .iter()
        .map(|p| (p.provider_id.as_str(), p.realised_mean_sd_posttest.unwrap_or(0.0)))
        .collect();
    let comparison = settled.settlement.comparison.as_ref().expect("a comparison group").point;
    let cohort_shift = comparison - b.business_as_usual.point;
    let anchored = |d: f64| {
        let target = metric_at(&b.metric_by_effect, d.max(0.0)) + cohort_shift;
        let curve = &b.metric_by_effect;
        if target <= curve[0].1 { 0.0 } else { sd_equivalent(curve, target).unwrap_or(FINE_MAX).min(FINE_MAX) }
    };
    let mut decisions = Vec::new();
    for p in &settled.settlement.providers {
        let c = counted.iter().find(|c| c.provider == p.provider).expect("every settled provider has counted students");
        let est = p.estimate.as_ref().expect("every provider has an estimate");
        assert_eq!(est.units, c.n, "{}: the estimate's units are its counted students", p.provider);
        for (tier, &t) in p.tiers.iter().zip(&TIERS) {
            assert_eq!(tier.threshold, t);
            let normal_lower = est.point - k * (est.point * (1.0 - est.point) / c.n as f64).sqrt();
            let d_posttest = truth[p.provider.as_str()];
            decisions.push(Decision {
                n: c.n,
                d_posttest,
                d_counted: c.d,
                p_issue: interpolate(&b.cells, d_posttest, c.n, t),
                p_counted: interpolate(&b.cells, c.d, c.n, t),
                p_exact: cell(&b.cells, c.d.max(0.0), c.n, t),
                p_population: std::iter::once(b).chain(&others).map(|x| cell(&x.cells, c.d.max(0.0), c.n, t)).collect(),
                p_anchored: at_n(&b.cells, anchored(c.d), c.n, t),
                met: tier.verdict == Verdict::Met,
                met_normal: normal_lower >= t,
            });
        }
    }
    DistrictResult { decisions, cohort_shift }
}

/// A calibration table's rows and summary.
struct Table {
    rows: Vec<String>,
    decisions: usize,
    mean_gap: f64,
    /// The largest |observed − mean predicted| over the bins.
    max_bin_gap: f64,
    max_abs_z: f64,
    near_null: Option<(usize, f64, f64)>,
}

impl Table {
    /// Bins (predicted, observed, effect) triples by predicted P(met).
    fn of(pairs: &[(f64, bool, f64)]) -> Table {
        let mut rows = Vec::new();
        let mut max_abs_z: f64 = 0.0;
        let mut max_bin_gap: f64 = 0.0;
        for (lo, hi, label) in BINS {
            let bin: Vec<&(f64, bool, f64)> = pairs.iter().filter(|(p, _, _)| *p >= lo && *p < hi).collect();
            if bin.is_empty() {
                rows.push(format!("| {label} | 0 | | | |"));
                continue;
            }
            let (m, pred, obs, z) = summarise(&bin);
            if z.is_finite() {
                max_abs_z = max_abs_z.max(z.abs());
            }
            max_bin_gap = max_bin_gap.max((obs - pred).abs());
            rows.push(format!("| {label} | {m} | {pred:.3} | {obs:.3} | {z:+.1} |"));
        }
        let all: Vec<&(f64, bool, f64)> = pairs.iter().collect();
        let (_, pred, obs, _) = summarise(&all);
        let near: Vec<&(f64, bool, f64)> = pairs.iter().filter(|(_, _, d)| *d < NEAR_NULL).collect();
        let near_null = (!near.is_empty()).then(|| {
            let (m, p, o, _) = summarise(&near);
            (m, p, o)
        });
        Table { rows, decisions: pairs.len(), mean_gap: obs - pred, max_bin_gap, max_abs_z, near_null }
    }

    fn print(&self, title: &str) {
        println!("\n### {title}\n");
        println!("| predicted P(met) | decisions | mean predicted | observed | z |\n|---|---:|---:|---:|---:|");
        for r in &self.rows {
            println!("{r}");
        }
        if let Some((m, p, o)) = self.near_null {
            println!("| near-null (d < {NEAR_NULL}) | {m} | {p:.3} | {o:.3} | gap {:+.3} |", o - p);
        }
        println!("{}", self.summary());
    }

    /// The issue's criterion: every bin within 2.5 binomial SEs, near-null providers within
    /// 0.04.
    fn calibrated(&self) -> bool {
        self.max_abs_z <= 2.5 && self.near_null.is_none_or(|(_, p, o)| (o - p).abs() <= 0.04)
    }

    fn summary(&self) -> String {
        let near_gap = self.near_null.map(|(_, p, o)| o - p);
        let calibrated = self.calibrated();
        format!(
            "mean observed - predicted {:+.3}; largest bin gap {:.3}; max |z| {:.1}; near-null gap {}; calibrated (|z| <= 2.5, near-null within 0.04): {}",
            self.mean_gap,
            self.max_bin_gap,
            self.max_abs_z,
            near_gap.map_or("-".into(), |g| format!("{g:+.3}")),
            if calibrated { "yes" } else { "no" }
        )
    }
}

/// Decisions, mean predicted, observed rate, and z = (observed − mean predicted) over the
/// binomial SE `sqrt(Σ p(1 − p)) / m` of a mean of independent Bernoulli(p) outcomes.
fn summarise(bin: &[&(f64, bool, f64)]) -> (usize, f64, f64, f64) {
    let m = bin.len();
    let pred = bin.iter().map(|x| x.0).sum::<f64>() / m as f64;
    let obs = bin.iter().filter(|x| x.1).count() as f64 / m as f64;
    let se = bin.iter().map(|x| x.0 * (1.0 - x.0)).sum::<f64>().sqrt() / m as f64;
    (m, pred, obs, (obs - pred) / se)
}

/// Runs `districts` districts of a variant in parallel (results in seed order).
fn run_variant(
    districts: u64,
    fix: bool,
    populations: bool,
    spec: impl Fn(u64) -> SimSpec + Sync,
) -> Vec<DistrictResult> {
    (0..districts).into_par_iter().map(|i| run_district(&spec(3 + i), fix, populations)).collect()
}

/// Prints the exact table of each baseline population; returns them with their names.
fn print_populations(name: &str, results: &[DistrictResult]) -> Vec<(&'static str, Table)> {
    let ds = decisions(results);
    POPULATIONS
        .iter()
        .enumerate()
        .map(|(i, (population, _))| {
            let pairs: Vec<(f64, bool, f64)> = ds.iter().map(|d| (d.p_population[i], d.met, d.d_counted)).collect();
            let table = Table::of(&pairs);
            table.print(&format!("{name}: population {population}"));
            (*population, table)
        })
        .collect()
}

/// The study's summary as `obc baseline` quotes it (src/contract/calibration.json).
fn evidence_json(districts: u64, scenarios: &[(&str, Vec<(&str, Table)>)]) -> String {
    let populations: Vec<serde_json::Value> = scenarios
        .iter()
        .flat_map(|(scenario, tables)| {
            tables.iter().map(move |(population, t)| {
                serde_json::json!({
                    "population": population,
                    "scenario": scenario,
                    "decisions": t.decisions,
                    "mean_gap": round4(t.mean_gap),
                    "max_bin_gap": round4(t.max_bin_gap),
                    "max_abs_z": round4(t.max_abs_z),
                    "near_null_gap": round4(t.near_null.map_or(f64::NAN, |(_, p, o)| o - p)),
                    "calibrated": t.calibrated(),
                })
            })
        })
        .collect();
    let e = serde_json::json!({
        "districts": districts,
        "students": 5000,
        "providers": 6,
        "metric": "share_meeting",
        "rule": "lower_bound",
        "level": 0.9,
        "populations": populations,
    });
    format!("{}\n", serde_json::to_string_pretty(&e).unwrap())
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Prints the exact and the cohort-anchored tables of a variant; returns the exact one.
fn print_exact(name: &str, results: &[DistrictResult]) -> Table {
    let ds = decisions(results);
    println!("\n{name}: {} decisions; cohort shift {:+.4}", ds.len(), cohort_shift(results));
    let exact: Vec<(f64, bool, f64)> = ds.iter().map(|d| (d.p_exact, d.met, d.d_counted)).collect();
    let table = Table::of(&exact);
    table.print(&format!("{name}: exact n and d"));
    let anchored: Vec<(f64, bool, f64)> = ds.iter().map(|d| (d.p_anchored, d.met, d.d_counted)).collect();
    Table::of(&anchored).print(&format!("{name}: exact n, anchored on the current comparison group"));
    table
}

fn decisions(results: &[DistrictResult]) -> Vec<Decision> {
    results.iter().flat_map(|r| r.decisions.iter().cloned()).collect()
}

fn cohort_shift(results: &[DistrictResult]) -> f64 {
    results.iter().map(|r| r.cohort_shift).sum::<f64>() / results.len() as f64
}

fn check_pairing(results: &[DistrictResult], providers: usize) {
    for r in results {
        assert_eq!(r.decisions.len(), providers * TIERS.len(), "every provider-tier decision is paired");
        for d in &r.decisions {
            for &p in [d.p_issue, d.p_counted, d.p_exact, d.p_anchored].iter().chain(&d.p_population) {
                assert!((0.0..=1.0).contains(&p), "prediction {p} outside [0, 1]");
            }
            assert!(d.n > 0 && d.d_counted.is_finite() && d.d_posttest.is_finite());
        }
    }
}

#[test]
#[ignore = "simulation study: minutes in release; run explicitly"]
fn calibration() {
    let districts: u64 = std::env::var("OBC_CALIB_DISTRICTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let only_populations = std::env::var("OBC_CALIB_ONLY").is_ok_and(|v| v == "populations");
    let base = |seed: u64| SimSpec { students: 5000, providers: 6, seed, ..SimSpec::default() };
    if !only_populations {
        before_and_decomposition(districts, base);
    }

    println!("\n## Baseline populations (contract with the history breaks)");
    let default = run_variant(districts, true, true, base);
    check_pairing(&default, 6);
    let fixed = print_exact("default districts", &default);
    let default_tables = print_populations("default districts", &default);
    let income =
        run_variant(districts, true, true, |seed| SimSpec { low_income_growth: LOW_INCOME_GROWTH, ..base(seed) });
    check_pairing(&income, 6);
    println!("\nlow-income growth {LOW_INCOME_GROWTH}: cohort shift {:+.4}", cohort_shift(&income));
    let income_tables = print_populations(&format!("low-income growth {LOW_INCOME_GROWTH}"), &income);
    // cohort drift: every school year's growth shifted by nu_y ~ N(0, 3²) points; the
    // baseline sees one history year (the drift is invisible to it) or three (its
    // between-year variance is folded into the OC curves, docs/methods.md 10.6). Decisions
    // of one district share its shift, so the bins' z-scores overstate the evidence.
    let drift = |years: usize| move |seed: u64| SimSpec { cohort_sd: COHORT_SD, history_years: years, ..base(seed) };
    let mut drift_tables = Vec::new();
    for (years, label) in [(1, "one history year"), (3, "three history years")] {
        let results = run_variant(districts, true, false, drift(years));
        check_pairing(&results, 6);
        println!("\ncohort drift {COHORT_SD}, {label}: mean cohort shift {:+.4}", cohort_shift(&results));
        let t = print_exact(&format!("cohort drift {COHORT_SD}, {label}"), &results);
        drift_tables.push((if years == 1 { "cohort_drift_one_year" } else { "cohort_drift_three_years" }, t));
    }
    let mut scenarios = vec![("default", default_tables), ("low_income_growth", income_tables)];
    for (name, t) in drift_tables {
        scenarios.push((name, vec![("all", t)]));
    }
    if std::env::var("OBC_CALIB_WRITE").is_ok_and(|v| v == "1") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/contract/calibration.json");
        std::fs::write(path, evidence_json(districts, &scenarios)).unwrap();
        println!("\nwrote {path}");
    }
    // The issue's criterion, on the study's 100 districts (seeds 3-102; deterministic) with
    // the contract fixed, for every population of the issue's districts; in the districts
    // where low-income students grow less, like_served must be the closer of the three
    // (smaller mean and near-null gaps) with its near-null gap within the issue's 0.04. It
    // held when this study was written (docs/methods.md 10.5); with fewer districts it is
    // printed only.
    if districts >= 100 {
        assert!(fixed.calibrated(), "the OC curves are not calibrated: {}", fixed.summary());
        for (population, t) in &scenarios[0].1 {
            assert!(t.calibrated(), "default districts: {population} is not calibrated: {}", t.summary());
        }
        let income = &scenarios[1].1;
        let served = &income.iter().find(|(p, _)| *p == "like_served").unwrap().1;
        let near = |t: &Table| t.near_null.map_or(f64::NAN, |(_, p, o)| (o - p).abs());
        assert!(near(served) <= 0.04, "like_served near-null gap: {}", served.summary());
        for (population, t) in income.iter().filter(|(p, _)| *p != "like_served") {
            assert!(
                served.mean_gap.abs() < t.mean_gap.abs() && near(served) < near(t),
                "low-income growth: like_served ({}) is not closer than {population} ({})",
                served.summary(),
                t.summary()
            );
        }
    }
}

/// The issue's study before the history-breaks fix, and the decomposition by cause after it.
fn before_and_decomposition(districts: u64, base: impl Fn(u64) -> SimSpec + Sync + Copy) {
    // before: the contract as `obc simulate` wrote it (the issue's study)
    let before = run_variant(districts, false, false, base);
    check_pairing(&before, 6);
    let ds = decisions(&before);
    println!("\n## Calibration of the OC curves: {districts} districts, {} provider-tier decisions", ds.len());
    println!("\n## Before: the contract as written by `obc simulate`");
    println!("cohort shift (comparison share meeting the norms - business as usual): {:+.4}", cohort_shift(&before));
    let issue: Vec<(f64, bool, f64)> = ds.iter().map(|d| (d.p_issue, d.met, d.d_posttest)).collect();
    Table::of(&issue).print("issue's study: truth.json's effect, interpolated");
    let counted: Vec<(f64, bool, f64)> = ds.iter().map(|d| (d.p_counted, d.met, d.d_counted)).collect();
    Table::of(&counted).print("effect of the counted students, interpolated");
    print_exact("before", &before);
    let normal: Vec<(f64, bool, f64)> = ds.iter().map(|d| (d.p_exact, d.met_normal, d.d_counted)).collect();
    Table::of(&normal).print("exact, against the normal rule's decision on the settled estimate");
    let differ = ds.iter().filter(|d| d.met != d.met_normal).count();
    println!("bootstrap and normal decisions differ in {differ} of {}", ds.len());

    println!("\n## Decomposition (contract with the history breaks)");
    let variants: [(&str, Switch); 4] = [
        ("no selection on the pre-test (selection = random)", |s| SimSpec { selection: Selection::Random, ..s }),
        ("no dosage or attrition selection", |s| SimSpec { dosage_selection: false, ..s }),
        ("neither selection", |s| SimSpec { selection: Selection::Random, dosage_selection: false, ..s }),
        ("chosen effects 0, 0, 0.05, 0.1, 0.2, 0.3", |s| SimSpec {
            provider_effects: Some(vec![0.0, 0.0, 0.05, 0.1, 0.2, 0.3]),
            ..s
        }),
    ];
    for (name, switch) in variants {
        let results = run_variant(districts, true, false, |seed| switch(base(seed)));
        check_pairing(&results, 6);
        print_exact(name, &results);
    }
}
