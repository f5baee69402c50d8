//! The results files, one schema for writer and reader: `results.json` (`obc check`,
//! [`CheckResults`]) and `recommendation.json` (`obc baseline`, [`BaselineResults`]). The
//! commands build and write these types; `obc report` reads the same types back and renders
//! from them (README "Outputs"). Every section's types are defined here, so the schema reads
//! in one file; the modules that compute them (`contract::settle`, `contract::figures`,
//! `contract::baseline`, `contract::oc`) re-export them under their old paths.
//!
//! Older files still read: sections and fields added after version 1 are `#[serde(default)]`,
//! a number written as `null` (serde_json's form of a non-finite value) reads back as NaN
//! ([`nan_if_null`]), and a warning written as a plain string (versions 1 and 2) reads as a
//! [`Warning`] with code `other`.

use serde::{Deserialize, Deserializer, Serialize};

use super::benchmarks::Comparison;
use super::oc::Statistic;
use super::settle::{AuditRow, NoEstimateReason, Rule, Verdict, by_rule_name};
use std::collections::BTreeMap;

use super::terms::{Contract, InferenceMethod, IntervalMethod, PopulationKind};
use crate::manifest::{Manifest, SCHEMA_VERSION};
use crate::stats::warning::Warning;

/// The head of both results files: the schema version and the contract's terms in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    #[serde(default)]
    pub schema_version: u32,
    pub contract: String,
    /// The outcome in words (empty when an older file has none).
    #[serde(default)]
    pub outcome: String,
    /// The metric in words (empty when an older file has none).
    #[serde(default)]
    pub metric: String,
    /// The decision rule and its level in words.
    #[serde(default)]
    pub decision: String,
}

impl Header {
    /// The head of a results file written now for `contract`.
    pub fn of(contract: &Contract) -> Header {
        Header {
            schema_version: SCHEMA_VERSION,
            contract: contract.contract.name.clone(),
            outcome: contract.outcome.describe(),
            metric: contract.metric.kind.describe().to_string(),
            decision: contract.decision.rule.describe(contract.decision.level),
        }
    }
}

/// `results.json`: what `obc check` writes and `obc report` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResults {
    #[serde(flatten)]
    pub header: Header,
    /// The settlement's public part (its audit rows are written to `audit.csv` only).
    pub settlement: Settlement,
    /// `None`: written by an obc older than the figures section.
    #[serde(default)]
    pub figures: Option<Figures>,
    /// `None`: the contract uses no norms.
    #[serde(default)]
    pub norms: Option<NormsSummary>,
    /// Present at a midpoint review (`--as-of`).
    #[serde(default)]
    pub midpoint: Option<MidpointReport>,
    pub manifest: Manifest,
}

/// `recommendation.json`: what `obc baseline` writes and `obc report` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineResults {
    #[serde(flatten)]
    pub header: Header,
    /// Instructional weeks the targets assume.
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub weeks: f64,
    pub baseline: Baseline,
    pub manifest: Manifest,
}

/// How the norms were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormsMethodUsed {
    Conditional,
    Sgp,
    Table,
}

/// One norm group: its key (subject, grade), its size and whether it was fitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormsGroupSummary {
    pub fitted: bool,
    pub group: Vec<String>,
    pub n: usize,
    /// Conditional norms: why the group was skipped (`null` when fitted); absent for SGP.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Option<String>>,
}

/// The `norms` section of `results.json` (keys in alphabetical order, as written before
/// this type existed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormsSummary {
    /// A norms file read instead of fitted norms: (name, SHA-256).
    #[serde(default)]
    pub file: Option<(String, String)>,
    #[serde(default)]
    pub groups: Vec<NormsGroupSummary>,
    pub method: NormsMethodUsed,
    #[serde(default)]
    pub provenance: serde_json::Value,
}

/// Dosage delivered by one provider up to the review date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MidpointDosage {
    #[serde(default)]
    pub attended: u64,
    pub contracted_to_date: Option<f64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// Students enrolled in time who meet the prorated dosage rule so far.
    #[serde(default)]
    pub meeting_dosage_rule: u64,
    pub provider: String,
    #[serde(default)]
    pub rostered: u64,
    pub share: Option<f64>,
}

/// One tier's projection at a midpoint review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    pub projected_chance_of_meeting: Option<f64>,
    /// Written in words (`met`, `not met`, `inconclusive`).
    #[serde(with = "verdict_words")]
    pub projected_decision: Verdict,
    pub provider: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub threshold: f64,
    pub tier: String,
}

/// The `midpoint` section of `results.json` (README "Midpoint review"; keys in
/// alphabetical order, as written before this type existed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MidpointReport {
    pub as_of: String,
    #[serde(default)]
    pub assumptions: String,
    #[serde(default)]
    pub dosage: Vec<MidpointDosage>,
    #[serde(deserialize_with = "nan_if_null")]
    pub fraction_of_service_elapsed: f64,
    /// The interim test's window, as the contract gives it.
    #[serde(default)]
    pub interim_test: serde_json::Value,
    #[serde(default)]
    pub projected_post_date: String,
    #[serde(default)]
    pub projection: Vec<Projection>,
    /// Why outcomes cannot be projected yet (no interim test on or before the as-of date);
    /// `None` when they are projected. When set, `projection` is empty and the review
    /// reports dosage only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_not_possible: Option<String>,
    #[serde(default = "nan", deserialize_with = "nan_if_null")]
    pub prorated_min_minutes: f64,
    #[serde(default)]
    pub prorated_min_sessions: u32,
    #[serde(default)]
    pub service_end: String,
    #[serde(default)]
    pub service_start: String,
}

/// Reads a number where serde_json wrote a non-finite value as `null`: `null` reads back
/// as NaN, so that writing it again gives `null` again.
pub fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn nan() -> f64 {
    f64::NAN
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// A verdict in words, as the midpoint projection writes it.
mod verdict_words {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Verdict;

    pub fn serialize<S: Serializer>(v: &Verdict, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Verdict, D::Error> {
        let text = String::deserialize(d)?;
        Verdict::from_words(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a verdict (met, not met, inconclusive)")))
    }
}

// The figures' data (built by contract::figures).

/// All figure data of one settlement.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Figures {
    pub dosage: Dosage,
    /// `None`: the norms give no expected growth (SGP norms) or no norms are used.
    pub growth_vs_norm: Option<GrowthVsNorm>,
    pub dose_response: DoseResponse,
}

/// Quantiles and mean of a measure.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Summary {
    #[serde(deserialize_with = "nan_if_null")]
    pub p10: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p25: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p50: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p75: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p90: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct DosageProvider {
    pub provider: String,
    pub rostered: u64,
    pub suppressed: bool,
    pub histogram: Option<Vec<u64>>,
    pub sessions: Option<Summary>,
    pub per_week: Option<Summary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Dosage {
    pub measure: String,
    pub min_sessions: u32,
    pub per_week_basis: String,
    /// Histogram edges; bin i is `[e_i, e_{i+1})`, the last bin closed.
    pub bin_edges: Vec<f64>,
    pub providers: Vec<DosageProvider>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct GrowthPoint {
    pub n: u64,
    #[serde(deserialize_with = "nan_if_null")]
    pub expected: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub observed: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct GrowthSeries {
    pub label: String,
    pub points: Vec<GrowthPoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct GrowthProvider {
    pub provider: String,
    pub n: u64,
    pub expected: Option<f64>,
    pub observed: Option<f64>,
    pub suppressed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct GrowthVsNorm {
    pub unit: String,
    pub series: Vec<GrowthSeries>,
    pub providers: Vec<GrowthProvider>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct DoseBin {
    pub label: String,
    pub lo: u32,
    /// `None`: open-ended top bin.
    pub hi: Option<u32>,
    pub n: Option<u64>,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub suppressed: Option<super::suppress::Suppression>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct DoseResponse {
    pub measure: String,
    pub population: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub level: f64,
    pub bins: Vec<DoseBin>,
}

// Settlement: equity table.

/// One cell of the equity table.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct GroupCell {
    pub provider: String,
    pub group: String,
    pub value: String,
    /// Withheld (`None`) when the cell is suppressed.
    pub counted: Option<u64>,
    pub met: Option<u64>,
    pub metric: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// `small cell` (fewer than min_cell) or `complementary` (hides a small cell's count).
    pub suppressed: Option<crate::contract::suppress::Suppression>,
}

// Settlement: fairness checks.

/// Baseline equivalence of one provider's counted students against the comparison group.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Equivalence {
    pub provider: String,
    /// Hedges' g of the pre-test standardised within grade.
    #[serde(deserialize_with = "nan_if_null")]
    pub g: f64,
    pub n_t: u64,
    pub n_c: u64,
    /// `satisfied` (|g| ≤ 0.05), `requires adjustment` (≤ 0.25), `not satisfied`.
    pub rating: String,
}

/// Attrition of one provider against the comparison group (WWC).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct AttritionRow {
    pub provider: String,
    pub assigned: u64,
    pub analysed: u64,
    #[serde(deserialize_with = "nan_if_null")]
    pub overall: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub differential: f64,
    pub boundary: String,
    pub rating: String,
    /// The provider's own attrition: rostered students not counted / rostered (`None` in
    /// files written before it was reported).
    #[serde(default)]
    pub tutored: Option<f64>,
    /// The comparison group's attrition: comparison students without both tests / comparison
    /// students in the roster.
    #[serde(default)]
    pub comparison: Option<f64>,
    #[serde(default)]
    pub comparison_rostered: Option<u64>,
    #[serde(default)]
    pub comparison_counted: Option<u64>,
}

/// Share of a provider's rostered students excluded by each rule.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ExclusionRow {
    pub provider: String,
    pub rostered: u64,
    pub rule: Rule,
    pub excluded: u64,
    #[serde(deserialize_with = "nan_if_null")]
    pub share: f64,
}

/// Fairness checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Fairness {
    #[serde(default)]
    pub regression_to_mean: Vec<Warning>,
    pub equivalence: Vec<Equivalence>,
    pub attrition: Vec<AttritionRow>,
    pub exclusions: Vec<ExclusionRow>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

// Settlement: payments and counts.

/// The payment of one provider with its arithmetic.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct PaymentResult {
    #[serde(deserialize_with = "nan_if_null")]
    pub base: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub outcome: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub penalty: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub before_cap: f64,
    pub cap: Option<f64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub payable: f64,
    pub arithmetic: Vec<String>,
    /// The floor of `[payment]`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<f64>,
    /// What `[payment] student_cap` cut from students' outcome lines (0 without it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub student_cap_cut: f64,
    /// Each `[[rate]]` line's count and amount (empty for a contract paid by the flat terms
    /// of `[payment]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineResult>,
    /// The expected payment under test error (docs/methods.md 9.15), when the SEMs allow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<super::settle::test_error::ExpectedPayment>,
    /// Why there is no expected payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_expected: Option<super::settle::test_error::NoExpected>,
    /// Paid on the expected amounts (`[payment] settle_on = "expected"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub settled_on_expected: bool,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// One rate line's part of a provider's payment: the students it counts (met the outcome,
/// earned an amount, were penalised; counted students for a tier bonus), its amount before
/// the student cap (a penalty as a positive amount), and its arithmetic. Counts and amounts
/// are withheld (`None`) from public outputs of a provider under `min_cell`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct LineResult {
    pub name: String,
    pub kind: super::rates::RateKind,
    pub students: Option<u64>,
    pub amount: Option<f64>,
    pub arithmetic: String,
}

impl PaymentResult {
    /// The amount the cap cut (`before_cap - cap`) when the cap binds.
    pub fn cap_cut(&self) -> Option<f64> {
        self.cap.filter(|&c| self.before_cap > c).map(|c| self.before_cap - c)
    }
}

/// Counts of one provider as reported: `met` and `regressed` are withheld (`None`) from
/// public outputs when the provider has fewer counted students than `min_cell`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ProviderCounts {
    pub rostered: u64,
    pub served: u64,
    pub counted: u64,
    pub met: Option<u64>,
    pub regressed: Option<u64>,
}

/// Sum over providers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PaymentResultTotals {
    #[serde(deserialize_with = "nan_if_null")]
    pub base: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub outcome: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub penalty: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub payable: f64,
}

// Settlement.

/// One provider's settlement.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ProviderResult {
    pub provider: String,
    pub counts: ProviderCounts,
    /// Tutored students not counted, by the first rule failed.
    #[serde(default, serialize_with = "by_rule_name")]
    pub excluded: BTreeMap<Rule, u64>,
    pub estimate: Option<Estimate>,
    /// Why there is no estimate (no counted students, no comparison group, ...).
    #[serde(default)]
    pub no_estimate: Option<NoEstimateReason>,
    /// Fewer counted students than `min_cell`: public tables show no metric.
    pub suppressed: bool,
    pub tiers: Vec<TierDecision>,
    pub tier_reached: Option<String>,
    pub payment: PaymentResult,
}

/// Everything a settlement produces.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Settlement {
    pub providers: Vec<ProviderResult>,
    pub comparison: Option<Estimate>,
    pub groups: Vec<GroupCell>,
    pub fairness: Fairness,
    #[serde(skip)]
    pub audit: Vec<AuditRow>,
    pub totals: PaymentResultTotals,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// Cohort drift against the history the norms were fitted on (`None`: written by an obc
    /// older than this section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// obc's CGP/CGI against the vendor's, per provider (README "Vendor growth measures");
    /// empty (and not written) when the data has no vendor measure obc also computes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor_agreement: Vec<crate::contract::settle::agreement::VendorAgreement>,
}

// Settlement: cohort drift.

/// Cohort drift at settlement (docs/methods.md 9): the comparison group's level of the
/// metric against the history cohort's own level, and what the shift does to each decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Drift {
    Reported(DriftReport),
    NotReported { reason: NoDrift },
}

/// Why the cohort drift is not reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum NoDrift {
    #[error("no history file is named (the norms come from a norms file), so the history cohort's level is unknown")]
    NoHistory,
    #[error("the metric is measured against the concurrent comparison group already")]
    RelativeMetric,
    #[error("no history student could be scored on the metric")]
    NoHistoryLevel,
    #[error("no analysed comparison students, so the current cohort's level is unknown")]
    NoComparison,
}

/// The history cohort's level of the metric, in sample (its students scored against the
/// norms fitted on them), with its sampling SE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryLevel {
    #[serde(deserialize_with = "nan_if_null")]
    pub point: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub se: f64,
    /// History students scored on the metric.
    pub n: u64,
}

/// The drift: history level, comparison level, the shift between them and the decisions it moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub history: HistoryLevel,
    /// The comparison group's level (its estimate in `settlement.comparison`).
    #[serde(deserialize_with = "nan_if_null")]
    pub comparison: f64,
    pub comparison_low: Option<f64>,
    pub comparison_high: Option<f64>,
    /// comparison − history.
    #[serde(deserialize_with = "nan_if_null")]
    pub shift: f64,
    /// The comparison interval shifted by the history level, each half widened in
    /// quadrature by `z × history.se` (`None` when the comparison has no interval).
    pub shift_low: Option<f64>,
    pub shift_high: Option<f64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub level: f64,
    /// Providers with an estimate, in settlement order.
    pub providers: Vec<DriftProvider>,
}

/// One provider's decisions as settled and with the shift removed from its estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftProvider {
    pub provider: String,
    /// Under `min_cell`: the verdicts stay (as the settled decisions do), the share of
    /// replicates is withheld.
    pub suppressed: bool,
    /// Some tier's verdict differs without the shift.
    pub changed: bool,
    pub tiers: Vec<DriftTier>,
}

/// One tier's verdict as settled and with the shift removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftTier {
    pub name: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub threshold: f64,
    pub settled: Verdict,
    pub without_shift: Verdict,
    pub changed: bool,
    /// Share of the shifted replicates at least the threshold (withheld under `min_cell`).
    pub p_at_least_without_shift: Option<f64>,
}

// Settlement: decisions.

/// A tier's decision with what it rested on.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TierDecision {
    pub name: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub threshold: f64,
    pub verdict: Verdict,
    /// Share of bootstrap replicates at least the threshold (`None` without an estimate,
    /// and in public outputs of a provider under `min_cell`).
    pub p_at_least: Option<f64>,
    /// The interval contains the threshold.
    pub straddles: bool,
}

// Settlement: estimates.

/// A metric with its bootstrap interval and replicates.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Estimate {
    #[serde(deserialize_with = "nan_if_null")]
    pub point: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub method: IntervalMethod,
    #[serde(deserialize_with = "nan_if_null")]
    pub level: f64,
    /// Standard deviation of the replicates.
    pub boot_se: Option<f64>,
    pub units: usize,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    #[serde(skip)]
    pub replicates: Vec<f64>,
    /// How the interval was computed (`[inference] method`); not written for the
    /// bootstrap, so results written before the field existed read as bootstrap.
    #[serde(default, skip_serializing_if = "InferenceMethod::is_bootstrap")]
    pub inference: InferenceMethod,
    /// The cluster-robust test of the effect model's provider coefficient (`cr2`,
    /// `wild_cluster`), on the metric's scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robust: Option<RobustTest>,
}

/// A cluster-robust test of a provider's coefficient, on the metric's scale (for
/// `effect_size` the coefficient's values times ω / pooled SD, the scale held fixed).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct RobustTest {
    /// Standard error: CR2 for `cr2`, CR1 (the statistic the wild bootstrap studentises)
    /// for `wild_cluster`.
    pub se: f64,
    /// Satterthwaite degrees of freedom (`cr2`; `None` for `wild_cluster`).
    #[serde(default)]
    pub df: Option<f64>,
    /// Clusters in the model (the provider's, the other providers' and the comparison
    /// group's).
    pub clusters: usize,
    /// Clusters holding at least one of the provider's students.
    pub treated_clusters: usize,
    /// Two-sided p-value of "the coefficient is 0" (`cr2`: Student's t with `df`;
    /// `wild_cluster`: symmetric bootstrap p-value); `None` when undefined.
    #[serde(default)]
    pub p_value: Option<f64>,
    /// Wild bootstrap replicates used (`2^G` when enumerated), its weights, and whether
    /// every sign vector was enumerated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicates: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<crate::stats::wild::Weights>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enumerated: Option<bool>,
}

// Baseline.

/// Who the baseline is computed on.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Population {
    pub history_students: usize,
    pub target_students: usize,
    /// Target students whose outcome could not be computed (listed reasons, counts).
    pub unscored: BTreeMap<String, usize>,
    pub max_pre_percentile: Option<f64>,
    /// Within-grade SD of the post-test (all history students): the unit of d.
    pub sd_post_by_grade: BTreeMap<i32, f64>,
    /// Which history students stand in for a provider's (`all` in results written before
    /// `[baseline] population` existed).
    #[serde(default)]
    pub kind: PopulationKind,
    /// The students the district plans to serve, and how the history was matched to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served: Option<Served>,
    /// Kish's effective sample size `(Σw)² / Σw²` of the population (its size when
    /// unweighted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_size: Option<f64>,
    /// The population set against the whole history and the planned students.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub balance: Vec<BalanceRow>,
}

/// Business as usual year by year and its between-year variance (DerSimonian-Laird;
/// docs/methods.md 10.6).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CohortVariation {
    pub years: Vec<CohortYear>,
    /// τ² and τ: the between-year variance and SD of the level.
    #[serde(deserialize_with = "nan_if_null")]
    pub tau2: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub tau: f64,
    /// The random-effects mean level.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// Cochran's Q, its degrees of freedom and I².
    #[serde(deserialize_with = "nan_if_null")]
    pub q: f64,
    pub df: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub i2: f64,
}

/// One history year's business-as-usual level over the population's students of that year.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CohortYear {
    pub school_year: String,
    pub students: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub level: f64,
    /// Its sampling SE.
    #[serde(deserialize_with = "nan_if_null")]
    pub se: f64,
}

/// The comparison group of the drift-robust metric's OC curves: its share meeting the
/// outcome (every eligible history student) and the size assumed at settlement.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ComparisonShare {
    #[serde(deserialize_with = "nan_if_null")]
    pub share: f64,
    pub size: usize,
    pub history_students: usize,
}

/// The students a district plans to serve (`[baseline.served]`).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "given_as", rename_all = "snake_case")]
pub enum Served {
    /// A planned roster, to which history students are reweighted by raking.
    Roster {
        file: String,
        /// Planned students read and kept (valid rows).
        planned: usize,
        /// Planned students with like history students (the others are excluded).
        matched: usize,
        /// Group columns matched on, besides grade and pre-score bin.
        match_groups: Vec<String>,
        pre_bins: usize,
        /// Raking iterations, and whether every margin was met to 1e-9.
        iterations: usize,
        converged: bool,
        /// The largest weight over the mean weight.
        max_weight: f64,
    },
    /// Rules: history students in these grades, pre-test percentiles and group values.
    Rules {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grades: Option<Vec<i32>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pre_percentile: Option<[f64; 2]>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        groups: BTreeMap<String, Vec<String>>,
    },
}

/// One covariate of the balance table: its mean (a share for indicators) over every
/// eligible history student, over the population (weighted), and over the planned students.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct BalanceRow {
    pub covariate: String,
    /// `None` when suppressed.
    pub history: Option<f64>,
    pub population: Option<f64>,
    pub served: Option<f64>,
    /// (population − served) over `sqrt((var_population + var_served) / 2)`.
    pub std_diff: Option<f64>,
    /// Why the row shows no numbers: a grade or group value held by fewer than `min_cell`
    /// students, or another value of the same variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<super::suppress::Suppression>,
}

/// A threshold in SD units with its comparison to published effects.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Target {
    pub label: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub threshold: f64,
    /// The effect d at which the population's metric reaches the threshold (`None` when it
    /// is not reached by d = 1.5, or the threshold is at or below business as usual).
    pub sd_equivalent: Option<f64>,
    pub comparison: Option<Comparison>,
}

/// The chance that a provider earns one of the contract's tiers, for each provider size and
/// true effect of the OC grid: the OC cells at the tier's value (the grid always holds the
/// contract's tier values).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TierChances {
    /// The tier's number (1 for the first `[[thresholds]]` entry).
    pub tier: usize,
    /// The tier's name (`tier N` when the contract gives none).
    pub name: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub threshold: f64,
    /// One entry per (effect, provider size) of the grid, effects outer, sizes inner.
    pub chances: Vec<TierChance>,
}

/// P(earning a tier) for one provider size and true effect.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TierChance {
    #[serde(deserialize_with = "nan_if_null")]
    pub effect: f64,
    pub provider_size: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub p_earn: f64,
}

impl TierChances {
    /// The chance at exactly this effect and provider size, if the grid has them.
    pub fn at(&self, effect: f64, provider_size: usize) -> Option<f64> {
        self.chances.iter().find(|c| c.effect == effect && c.provider_size == provider_size).map(|c| c.p_earn)
    }

    /// The grid's true effects and provider sizes, each sorted and distinct: the columns and
    /// rows of the tables that show this tier's chances.
    pub fn axes(&self) -> (Vec<f64>, Vec<usize>) {
        let mut effects: Vec<f64> = self.chances.iter().map(|c| c.effect).collect();
        effects.sort_by(f64::total_cmp);
        effects.dedup();
        let mut sizes: Vec<usize> = self.chances.iter().map(|c| c.provider_size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        (effects, sizes)
    }
}

/// Everything `obc baseline` reports.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Baseline {
    pub population: Population,
    pub statistic: Statistic,
    #[serde(deserialize_with = "nan_if_null")]
    pub k: f64,
    pub business_as_usual: Estimate,
    /// The population's metric at each d of the fine grid (d, metric).
    pub metric_by_effect: Vec<(f64, f64)>,
    pub thresholds: Vec<f64>,
    pub cells: Vec<OcCell>,
    pub recommendation: Recommendation,
    pub targets: Vec<Target>,
    /// P(earning each of the contract's tiers) over the grid of provider sizes and effects.
    #[serde(default)]
    pub tiers: Vec<TierChances>,
    /// Why the recommended threshold sits at or below business as usual, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_note: Option<String>,
    /// The between-year variation of business as usual, when the history holds several
    /// school years: folded into the OC curves as a cohort shift of SD `tau`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<CohortVariation>,
    /// For `share_meeting_vs_comparison`: the comparison group the OC curves assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<ComparisonShare>,
    /// The calibration study's evidence for this population, in one sentence
    /// ([`super::calibration`]); `None` when the study did not run the population.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
    /// The price of the contract: the distribution of a provider's payment under the
    /// contract's card over the grid ([`super::cost`]); `None` in files written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

// Baseline: the price of the contract.

/// What a provider would be paid under the contract's card, for each provider size and true
/// effect of the `[baseline]` grid, from the draws of the OC curves ([`super::cost`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// One per (provider size, effect), sizes outer.
    pub cells: Vec<CostCell>,
    /// Resamples per size (those of the OC curves).
    pub reps: usize,
    /// How engagement lines were priced (history students have no sessions): the planned
    /// dosage and the key it comes from; `None` when the card has no engagement line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dosage: Option<String>,
    /// `[budget] total`, drawn as the budget line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_total: Option<f64>,
    /// The payment for business as usual: a provider with no effect at the recommendation's
    /// provider size (the grid's nearest).
    pub business_as_usual: CostCell,
}

/// The distribution of one provider's total payment at one size and true effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostCell {
    pub n: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub effect: f64,
    /// Mean payment over the replicates.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// 10th and 90th percentiles (type 7).
    #[serde(deserialize_with = "nan_if_null")]
    pub p10: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p90: f64,
    /// Share of replicates whose payment before the cap is above `[payment] cap`.
    #[serde(deserialize_with = "nan_if_null")]
    pub p_cap_binds: f64,
    /// `mean / n`.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean_per_student: f64,
    /// Monte Carlo standard error of the mean: SD of the payments / sqrt(reps).
    #[serde(deserialize_with = "nan_if_null")]
    pub mc_se: f64,
}

// Baseline: operating characteristics.

/// One point of an OC curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcCell {
    #[serde(deserialize_with = "nan_if_null")]
    pub effect: f64,
    pub n: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub threshold: f64,
    /// Share of replicates with `S ≥ threshold`.
    #[serde(deserialize_with = "nan_if_null")]
    pub p_met: f64,
    /// `sqrt(p_met (1 − p_met) / reps)`.
    #[serde(deserialize_with = "nan_if_null")]
    pub mc_se: f64,
}

/// A recommended threshold for size `n`, its power, and the size needed for the target power.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub stat: Statistic,
    pub n: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub alpha: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub k: f64,
    pub reps: usize,
    /// Smallest attained null value of `S` with a null pass rate `<= alpha`.
    #[serde(deserialize_with = "nan_if_null")]
    pub threshold: f64,
    /// Realised null pass rate at `threshold` (`<= alpha`; smaller with ties).
    #[serde(deserialize_with = "nan_if_null")]
    pub p_met_null: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p_met_null_mc_se: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub power_effect: f64,
    /// `P(S >= threshold | d = power_effect, n)`.
    #[serde(deserialize_with = "nan_if_null")]
    pub power: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub power_mc_se: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub target_power: f64,
    /// Smallest size found whose own recommended threshold has power `>= target_power`.
    pub min_n: Option<usize>,
    /// Recommended threshold, realised null rate and power at `min_n`.
    pub min_n_threshold: Option<f64>,
    pub min_n_p_met_null: Option<f64>,
    pub min_n_power: Option<f64>,
    /// Largest size tried ([`super::oc::MAX_N`]).
    pub search_cap: usize,
}
