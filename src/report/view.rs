//! Typed views of `results.json` (`obc check`) and `recommendation.json` (`obc baseline`):
//! only the fields the report shows. Each section is read on its own so that a missing
//! or malformed section is named in the error ([`ReportError`]). Optional sections
//! (`figures`, `midpoint`, `fairness`, `comparison`) may be absent or null; numbers that
//! may be undefined are `Option<f64>`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ReportError;

/// Reads `root[key]` as `T`; absent or null is [`ReportError::Missing`].
pub fn required<T: DeserializeOwned>(root: &Value, key: &str) -> Result<T, ReportError> {
    match root.get(key) {
        None | Some(Value::Null) => Err(ReportError::Missing { field: key.to_string() }),
        Some(v) => {
            T::deserialize(v).map_err(|e| ReportError::Invalid { field: key.to_string(), message: e.to_string() })
        }
    }
}

/// Reads `root[key]` as `T`; absent or null is `None`.
pub fn optional<T: DeserializeOwned>(root: &Value, key: &str) -> Result<Option<T>, ReportError> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| ReportError::Invalid { field: key.to_string(), message: e.to_string() }),
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Estimate {
    pub point: Option<f64>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub level: Option<f64>,
    #[serde(default)]
    pub units: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Counts {
    pub rostered: u64,
    #[serde(default)]
    pub served: Option<u64>,
    pub counted: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Tier {
    pub name: String,
    pub threshold: f64,
    pub verdict: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Payment {
    pub base: Option<f64>,
    pub outcome: Option<f64>,
    pub penalty: Option<f64>,
    pub payable: Option<f64>,
    #[serde(default)]
    pub arithmetic: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Provider {
    pub provider: String,
    pub counts: Counts,
    #[serde(default)]
    pub excluded: BTreeMap<String, u64>,
    #[serde(default)]
    pub estimate: Option<Estimate>,
    #[serde(default)]
    pub no_estimate: Option<String>,
    #[serde(default)]
    pub suppressed: bool,
    #[serde(default)]
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub tier_reached: Option<String>,
    pub payment: Payment,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GroupCell {
    pub provider: String,
    pub group: String,
    pub value: String,
    #[serde(default)]
    pub counted: Option<u64>,
    #[serde(default)]
    pub met: Option<u64>,
    #[serde(default)]
    pub metric: Option<f64>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub suppressed: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Equivalence {
    pub provider: String,
    pub g: Option<f64>,
    #[serde(default)]
    pub n_t: Option<u64>,
    #[serde(default)]
    pub n_c: Option<u64>,
    pub rating: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Attrition {
    pub provider: String,
    #[serde(default)]
    pub assigned: Option<u64>,
    #[serde(default)]
    pub analysed: Option<u64>,
    pub overall: Option<f64>,
    pub differential: Option<f64>,
    #[serde(default)]
    pub boundary: String,
    pub rating: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Exclusion {
    pub provider: String,
    #[serde(default)]
    pub rostered: Option<u64>,
    pub rule: String,
    pub excluded: u64,
    pub share: Option<f64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Fairness {
    #[serde(default)]
    pub regression_to_mean: Vec<String>,
    #[serde(default)]
    pub equivalence: Vec<Equivalence>,
    #[serde(default)]
    pub attrition: Vec<Attrition>,
    #[serde(default)]
    pub exclusions: Vec<Exclusion>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Totals {
    pub base: Option<f64>,
    pub outcome: Option<f64>,
    pub penalty: Option<f64>,
    pub payable: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Settlement {
    pub providers: Vec<Provider>,
    #[serde(default)]
    pub comparison: Option<Estimate>,
    #[serde(default)]
    pub groups: Vec<GroupCell>,
    #[serde(default)]
    pub fairness: Option<Fairness>,
    pub totals: Totals,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Input {
    #[serde(default)]
    pub role: String,
    pub file: String,
    #[serde(default)]
    pub sha256: String,
    pub rows_read: Option<u64>,
    pub rows_used: Option<u64>,
    pub rows_excepted: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Output {
    pub file: String,
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub rows: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub tool: String,
    #[serde(default)]
    pub version: String,
    pub command: String,
    #[serde(default)]
    pub inputs: Vec<Input>,
    #[serde(default)]
    pub spec: Value,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub outputs: Vec<Output>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MidpointDosage {
    pub provider: String,
    #[serde(default)]
    pub rostered: Option<u64>,
    pub mean: Option<f64>,
    #[serde(default)]
    pub contracted_to_date: Option<f64>,
    #[serde(default)]
    pub share: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Projection {
    pub provider: String,
    pub tier: String,
    pub threshold: Option<f64>,
    pub projected_chance_of_meeting: Option<f64>,
    pub projected_decision: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Midpoint {
    pub as_of: String,
    #[serde(default)]
    pub service_start: Option<String>,
    #[serde(default)]
    pub service_end: Option<String>,
    pub fraction_of_service_elapsed: Option<f64>,
    #[serde(default)]
    pub prorated_min_sessions: Option<f64>,
    #[serde(default)]
    pub projected_post_date: Option<String>,
    #[serde(default)]
    pub assumptions: Option<String>,
    #[serde(default)]
    pub dosage: Vec<MidpointDosage>,
    #[serde(default)]
    pub projection: Vec<Projection>,
}

/// Five quantiles and the mean of a distribution.
#[derive(Clone, Debug, Deserialize)]
pub struct Quantiles {
    pub p10: Option<f64>,
    pub p25: Option<f64>,
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    pub p90: Option<f64>,
    pub mean: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DosageProvider {
    pub provider: String,
    #[serde(default)]
    pub rostered: Option<u64>,
    #[serde(default)]
    pub suppressed: bool,
    #[serde(default)]
    pub sessions: Option<Quantiles>,
    #[serde(default)]
    pub per_week: Option<Quantiles>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Dosage {
    #[serde(default)]
    pub measure: Option<String>,
    #[serde(default)]
    pub min_sessions: Option<f64>,
    #[serde(default)]
    pub per_week_basis: Option<String>,
    #[serde(default)]
    pub providers: Vec<DosageProvider>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GrowthPoint {
    #[serde(default)]
    pub n: Option<u64>,
    pub expected: Option<f64>,
    pub observed: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GrowthSeries {
    pub label: String,
    #[serde(default)]
    pub points: Vec<GrowthPoint>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GrowthProvider {
    pub provider: String,
    #[serde(default)]
    pub n: Option<u64>,
    pub expected: Option<f64>,
    pub observed: Option<f64>,
    #[serde(default)]
    pub suppressed: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GrowthVsNorm {
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub series: Vec<GrowthSeries>,
    #[serde(default)]
    pub providers: Vec<GrowthProvider>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DoseBin {
    pub label: String,
    #[serde(default)]
    pub n: Option<u64>,
    pub value: Option<f64>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub suppressed: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DoseResponse {
    #[serde(default)]
    pub measure: Option<String>,
    #[serde(default)]
    pub population: Option<String>,
    #[serde(default)]
    pub level: Option<f64>,
    #[serde(default)]
    pub bins: Vec<DoseBin>,
}

/// `figures` of results.json: every part may be null.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Figures {
    #[serde(default)]
    pub dosage: Option<Dosage>,
    #[serde(default)]
    pub growth_vs_norm: Option<GrowthVsNorm>,
    #[serde(default)]
    pub dose_response: Option<DoseResponse>,
}

/// The whole of results.json as the report sees it.
pub struct Check {
    pub contract: String,
    pub outcome: Option<String>,
    pub metric: Option<String>,
    pub settlement: Settlement,
    pub fairness: Fairness,
    pub midpoint: Option<Midpoint>,
    /// `None`: results.json has no `figures` section (written by an older obc).
    pub figures: Option<Figures>,
    pub manifest: Manifest,
}

impl Check {
    pub fn from_json(v: &Value) -> Result<Check, ReportError> {
        let settlement: Settlement = required(v, "settlement")?;
        let fairness = settlement.fairness.clone().unwrap_or_default();
        Ok(Check {
            contract: required(v, "contract")?,
            outcome: optional(v, "outcome")?,
            metric: optional(v, "metric")?,
            settlement,
            fairness,
            midpoint: optional(v, "midpoint")?,
            figures: optional(v, "figures")?,
            manifest: required(v, "manifest")?,
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct OcCell {
    pub effect: f64,
    pub n: u64,
    pub threshold: f64,
    pub p_met: f64,
    #[serde(default)]
    pub mc_se: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Recommendation {
    pub n: u64,
    pub alpha: f64,
    pub threshold: f64,
    pub p_met_null: Option<f64>,
    pub power_effect: f64,
    pub power: Option<f64>,
    pub target_power: f64,
    #[serde(default)]
    pub min_n: Option<u64>,
    #[serde(default)]
    pub min_n_threshold: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Comparison {
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Target {
    pub label: String,
    pub threshold: Option<f64>,
    #[serde(default)]
    pub sd_equivalent: Option<f64>,
    #[serde(default)]
    pub comparison: Option<Comparison>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Population {
    #[serde(default)]
    pub history_students: Option<u64>,
    #[serde(default)]
    pub target_students: Option<u64>,
    #[serde(default)]
    pub max_pre_percentile: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BaselineBody {
    #[serde(default)]
    pub population: Option<Population>,
    #[serde(default)]
    pub statistic: Option<String>,
    pub business_as_usual: Estimate,
    #[serde(default)]
    pub cells: Vec<OcCell>,
    pub recommendation: Recommendation,
    #[serde(default)]
    pub targets: Vec<Target>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The whole of recommendation.json as the report sees it.
pub struct Baseline {
    pub contract: String,
    pub outcome: Option<String>,
    pub metric: Option<String>,
    pub weeks: Option<f64>,
    pub body: BaselineBody,
    pub manifest: Manifest,
}

impl Baseline {
    pub fn from_json(v: &Value) -> Result<Baseline, ReportError> {
        Ok(Baseline {
            contract: required(v, "contract")?,
            outcome: optional(v, "outcome")?,
            metric: optional(v, "metric")?,
            weeks: optional(v, "weeks")?,
            body: required(v, "baseline")?,
            manifest: required(v, "manifest")?,
        })
    }
}
