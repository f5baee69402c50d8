//! Warnings: a message for people with a stable code for programs. Defined in the lowest
//! layer so that every layer (`stats`, `data`, `contract`, the commands) pushes the same
//! type; written to `results.json`, `recommendation.json` and `manifest.json` as
//! `{"code": "snake_case_code", "message": "..."}` (README "Outputs"). The console prints
//! `warning: {message}`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// What a warning is about (README "Outputs" lists each code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// The IRLS fit of a conditional-norms GLM halved its step (divergence).
    GlmStepTruncated,
    /// The GLM fit stopped at a boundary value.
    GlmBoundary,
    /// The GLM fit did not converge within its iteration limit.
    GlmNotConverged,
    /// A bootstrap interval used the extreme order statistics as endpoints.
    BootstrapExtremeOrder,
    /// A bootstrap interval could not be computed or collapsed to one value.
    BootstrapInterval,
    /// Weeks were supplied but constant in a norm group, so left out of the mean model.
    NormsConstantWeeks,
    /// Quantile-regression standard errors met non-positive sparsity estimates.
    QuantregNonPositiveFis,
    /// The quantile-regression sparsity fit may not be unique.
    QuantregNonunique,
    /// History students left out of the norms (with the reason).
    NormsRowsNotUsed,
    /// The effect-size model could not be fitted.
    EffectModel,
    /// A provider has fewer counted students than `limits.min_counted`.
    FewCounted,
    /// WWC baseline equivalence is not satisfied for a provider.
    BaselineEquivalence,
    /// A provider's attrition is high under the WWC boundary.
    HighAttrition,
    /// A provider's growth may partly be regression to the mean.
    RegressionToMean,
    /// A target's comparison with published effects is limited or impossible.
    Benchmark,
    /// The recommended threshold does not reach the wanted power or alpha.
    Recommendation,
    /// The history cannot well support the population the contract will serve (planned
    /// students without like history students, a small effective size, poor balance).
    BaselinePopulation,
    /// IDs in one file match another file's only apart from leading zeros.
    IdLeadingZeros,
    /// A roster column or code was ignored or repaired.
    RosterCodes,
    /// The join left students or rows out in a way worth a look.
    Join,
    /// The history file lacks rows or differs between rows.
    History,
    /// The current year's breaks are named but the history year's are not, so the history's
    /// instructional weeks include its breaks.
    HistoryBreaks,
    /// The run went on past the invalid-row limit (`--allow-partial`).
    Partial,
    /// A comparison group is missing or small.
    Comparison,
    /// A value-added run's fixed effects or clusters limit the inference.
    ValueAdded,
    /// The comparison group's level differs from the history cohort's (the interval of the
    /// shift excludes 0) and some provider's decision would differ without the shift.
    CohortDrift,
    /// A provider's interval rests on fewer than 10 clusters (tutors or schools) with a
    /// method that is unreliable so few (the bootstrap of `[inference]`, CR1 in `obc vam`).
    FewClusters,
    /// The effect-size metric compares a provider whose counted students are not
    /// baseline-equivalent to the comparison group (`|g| > 0.25`): the estimate rests on the
    /// regression adjustment and its unit is the SD of selected groups.
    EffectSizeDesign,
    /// Written as a plain string by an obc older than schema version 3.
    Other,
}

impl WarningCode {
    /// Every code, in declaration order.
    pub const ALL: [WarningCode; 29] = [
        WarningCode::GlmStepTruncated,
        WarningCode::GlmBoundary,
        WarningCode::GlmNotConverged,
        WarningCode::BootstrapExtremeOrder,
        WarningCode::BootstrapInterval,
        WarningCode::NormsConstantWeeks,
        WarningCode::QuantregNonPositiveFis,
        WarningCode::QuantregNonunique,
        WarningCode::NormsRowsNotUsed,
        WarningCode::EffectModel,
        WarningCode::FewCounted,
        WarningCode::BaselineEquivalence,
        WarningCode::HighAttrition,
        WarningCode::RegressionToMean,
        WarningCode::Benchmark,
        WarningCode::Recommendation,
        WarningCode::BaselinePopulation,
        WarningCode::IdLeadingZeros,
        WarningCode::RosterCodes,
        WarningCode::Join,
        WarningCode::History,
        WarningCode::HistoryBreaks,
        WarningCode::Partial,
        WarningCode::Comparison,
        WarningCode::ValueAdded,
        WarningCode::CohortDrift,
        WarningCode::FewClusters,
        WarningCode::EffectSizeDesign,
        WarningCode::Other,
    ];
}

/// Fewer clusters than this make a bootstrap over clusters or CR1 too narrow: the threshold
/// of the `few_clusters` warning in `obc vam` and `obc check` (docs/methods.md 3.8, 9.6).
pub const FEW_CLUSTERS: usize = 10;

/// One warning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
}

impl Warning {
    pub fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Warning { code, message: message.into() }
    }

    /// The same warning with its message prefixed (`"history: "`, a target's label).
    pub fn prefixed(&self, prefix: &str) -> Warning {
        Warning { code: self.code, message: format!("{prefix}{}", self.message) }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A warning as written: an object (schema version 3) or a plain string (versions 1 and 2,
/// read with code `other`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Object { code: WarningCode, message: String },
    Text(String),
}

impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Written::deserialize(d)? {
            Written::Object { code, message } => Warning { code, message },
            Written::Text(message) => Warning { code: WarningCode::Other, message },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_to_distinct_snake_case_text() {
        let mut seen = std::collections::BTreeSet::new();
        for code in WarningCode::ALL {
            let text = serde_json::to_value(code).unwrap().as_str().unwrap().to_string();
            assert!(text.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{text}");
            assert!(!text.starts_with('_') && !text.ends_with('_') && !text.contains("__"), "{text}");
            assert!(seen.insert(text.clone()), "{text} twice");
            let back: WarningCode = serde_json::from_value(serde_json::Value::String(text)).unwrap();
            assert_eq!(back, code);
        }
        assert_eq!(seen.len(), WarningCode::ALL.len());
    }

    #[test]
    fn a_warning_is_an_object_and_an_old_string_reads_as_other() {
        let w = Warning::new(WarningCode::FewCounted, "P1: only 3 counted students");
        let text = serde_json::to_string(&w).unwrap();
        assert_eq!(text, r#"{"code":"few_counted","message":"P1: only 3 counted students"}"#);
        assert_eq!(serde_json::from_str::<Warning>(&text).unwrap(), w);
        let old: Warning = serde_json::from_str(r#""an old warning""#).unwrap();
        assert_eq!(old, Warning::new(WarningCode::Other, "an old warning"));
        assert!(serde_json::from_str::<Warning>(r#"{"code":"no_such_code","message":"x"}"#).is_err());
    }
}
