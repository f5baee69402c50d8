//! The results files, one schema for writer and reader: `results.json` (`obc check`,
//! [`CheckResults`]) and `recommendation.json` (`obc baseline`, [`BaselineResults`]). The
//! commands build and write these types; `obc report` reads the same types back and renders
//! from them (README "Outputs").
//!
//! Older files still read: sections and fields added after version 1 are `#[serde(default)]`,
//! a number written as `null` (serde_json's form of a non-finite value) reads back as NaN
//! ([`nan_if_null`]), and a warning written as a plain string (versions 1 and 2) reads as a
//! [`Warning`] with code `other`.

use serde::{Deserialize, Deserializer, Serialize};

use super::baseline::Baseline;
use super::figures::Figures;
use super::settle::{Settlement, Verdict};
use super::terms::Contract;
use crate::manifest::{Manifest, SCHEMA_VERSION};

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
            decision: format!("{:?} at level {}", contract.decision.rule, contract.decision.level),
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
