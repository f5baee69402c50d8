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
    /// A contract's rate card could not be fully checked (its contingent share) or pays in
    /// a way worth a look (docs/contracts.md section 16).
    RateCard,
    /// Written as a plain string by an obc older than schema version 3.
    Other,
}

impl WarningCode {
    /// Every code, in declaration order.
    pub const ALL: [WarningCode; 30] = [
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
        WarningCode::RateCard,
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
    /// What the warning is about (a provider), when it is about one: warnings of one code
    /// are listed together as `subject (detail)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The warning's number for its subject in a few words (`g = -1.10`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Warning {
    pub fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Warning { code, message: message.into(), subject: None, detail: None }
    }

    /// The same warning about `subject`, summed up by `detail` when listed with others.
    pub fn about(self, subject: impl Into<String>, detail: impl Into<String>) -> Warning {
        Warning { subject: Some(subject.into()), detail: Some(detail.into()), ..self }
    }

    /// The same warning with its message prefixed (`"history: "`, a target's label).
    pub fn prefixed(&self, prefix: &str) -> Warning {
        Warning { message: format!("{prefix}{}", self.message), ..self.clone() }
    }
}

/// What a warning means for the settlement: whether it changes a payment, what it means
/// and what to do (README "Warnings").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consequence {
    /// The warning changes (or may change) an amount payable as computed by the contract.
    pub affects_payment: bool,
    pub meaning: &'static str,
    pub action: &'static str,
}

impl WarningCode {
    /// The warning's consequence: a property of its code, the same for every message.
    pub fn consequence(self) -> Consequence {
        use WarningCode::*;
        let (affects_payment, meaning, action) = match self {
            GlmStepTruncated | GlmBoundary | GlmNotConverged => (
                true,
                "the conditional norms' model had trouble fitting a norm group, so the expected growth of that group is less certain",
                "look at the norm group named in the message; more history rows or the SGP method may fit better",
            ),
            BootstrapExtremeOrder => (
                true,
                "an interval endpoint is the most extreme bootstrap replicate, so the interval may be too narrow",
                "raise [inference] replicates and run again",
            ),
            BootstrapInterval => (
                true,
                "an interval could not be computed or is a single value, so the decision rests on the point estimate alone",
                "check the provider's counted students; with very few, the decision is not reliable",
            ),
            NormsConstantWeeks => (
                false,
                "instructional weeks did not vary in a norm group, so the norms ignore weeks there",
                "nothing, unless test dates should differ; then check the test dates",
            ),
            QuantregNonPositiveFis | QuantregNonunique => (
                false,
                "some standard errors of the growth-percentile fit are approximate",
                "nothing for the payment; treat the norms' standard errors with care",
            ),
            NormsRowsNotUsed => (
                false,
                "some history students were left out of the norms, for the reason given",
                "check the reason; many left out may make the norms unrepresentative",
            ),
            EffectModel => (
                true,
                "the effect-size model could not be fitted, so an effect-size metric has no value",
                "check the comparison group and the pre-tests; the message says what failed",
            ),
            FewCounted => (
                true,
                "a provider has fewer counted students than limits.min_counted, so its result is withheld or unreliable",
                "check the provider's roster and tests; the contract says what is paid without a result",
            ),
            BaselineEquivalence => (
                false,
                "the provider's counted students started far from the comparison group (WWC: |g| > 0.25 SD), so a comparison of the two needs care; norm-based metrics compare each student with like students and are not changed",
                "nothing for a norm-based metric; for a metric against the comparison group, read it with care or use a matched comparison",
            ),
            HighAttrition => (
                false,
                "many of the provider's rostered students are not counted, or many more than in the comparison group (WWC attrition boundary), so the counted students may not represent the roster",
                "look at the flow section for the rules that left students out; the payment follows the contract's rules as written",
            ),
            RegressionToMean => (
                false,
                "with raw growth as the outcome, low starters gain some points by chance alone (regression to the mean)",
                "consider an outcome conditional on the start score (CGI, CGP, growth against norms) in the next contract",
            ),
            Benchmark => (
                false,
                "a target's comparison with published effects is limited or impossible",
                "read the target against the district's own history instead",
            ),
            Recommendation => (
                false,
                "no provider size on the grid reaches the power or false-payment rate asked for",
                "consider larger providers, a lower level or a different threshold",
            ),
            BaselinePopulation => (
                false,
                "the history cannot well represent the students the contract will serve",
                "read the population section; the operating characteristics may be optimistic",
            ),
            IdLeadingZeros => (
                true,
                "student IDs match across files only apart from leading zeros, so some students may not be joined",
                "export the IDs as text with their leading zeros",
            ),
            RosterCodes => (
                false,
                "a roster column or code was ignored, combined or repaired",
                "check the roster's codes for the reporting groups",
            ),
            Join => (
                true,
                "the join of roster, sessions and tests left students or tests out in a way worth a look",
                "check the rows named in the message and exceptions.csv",
            ),
            History => (
                true,
                "the history file lacks rows or its rows disagree, so the norms may be off",
                "check the history export for the subject and windows named",
            ),
            HistoryBreaks => (
                true,
                "the current year's breaks are named but the history year's are not, so the norms expect too little growth",
                "name the history year's breaks in [history] breaks",
            ),
            Partial => (
                true,
                "the run went on past the invalid-row limit (--allow-partial), so students with bad rows are missing",
                "fix the rows in exceptions.csv and run again without --allow-partial",
            ),
            Comparison => (
                true,
                "the comparison group is missing or small, so metrics against it have no value or a wide interval",
                "check that untutored students are in the roster and tests",
            ),
            ValueAdded => (
                false,
                "value-added estimates of small groups were suppressed or rest on few clusters",
                "read the value-added estimates with their intervals",
            ),
            CohortDrift => (
                false,
                "the comparison group grew differently from the history cohort and some decision would differ without that shift",
                "read the cohort drift section before settling; the payment follows the contract as written",
            ),
            FewClusters => (
                true,
                "a provider's interval rests on fewer than 10 tutors or schools, so it may be too narrow and a tier may be met by chance",
                "use [inference] method = \"cr2\" or \"wild\" for few clusters",
            ),
            EffectSizeDesign => (
                true,
                "the effect size compares groups that differ at the start, so it rests on the regression adjustment",
                "check it with a matched comparison group or share_meeting_vs_comparison",
            ),
            RateCard => (
                true,
                "the rate card's stated contingent share could not be checked against its lines",
                "cap the engagement lines per student, or give [budget] students when the card has fixed amounts",
            ),
            Other => (false, "a warning written by an older obc, without a code", "read the message"),
        };
        Consequence { affects_payment, meaning, action }
    }

    /// The code as written in results.json (`baseline_equivalence`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// Warnings of one code, in the order they were raised, with the code's consequence.
#[derive(Clone, Debug, PartialEq)]
pub struct WarningGroup<'a> {
    pub code: WarningCode,
    pub consequence: Consequence,
    pub warnings: Vec<&'a Warning>,
}

impl WarningGroup<'_> {
    /// One line per warning, or, when every warning names its subject, one line listing
    /// them: `P1 (g = -1.10), P2 (g = -0.97)`.
    pub fn entries(&self) -> Vec<String> {
        let listed: Option<Vec<String>> =
            self.warnings.iter().map(|w| Some(format!("{} ({})", w.subject.as_ref()?, w.detail.as_ref()?))).collect();
        match listed {
            Some(l) if self.warnings.len() > 1 => vec![l.join(", ")],
            _ => self.warnings.iter().map(|w| w.message.clone()).collect(),
        }
    }

    /// The group as console lines: a heading with the consequence, then the entries.
    pub fn lines(&self) -> Vec<String> {
        let c = self.consequence;
        let mut out = vec![
            format!(
                "warning {} ({}): {} payment. {}.",
                self.code.as_str(),
                self.warnings.len(),
                if c.affects_payment { "may affect a" } else { "does not affect any" },
                capitalised(c.meaning)
            ),
            format!("  what to do: {}.", c.action),
        ];
        out.extend(self.entries().into_iter().map(|e| format!("  - {e}")));
        out
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Warnings grouped by code, groups in the order of their first warning.
pub fn group(warnings: &[Warning]) -> Vec<WarningGroup<'_>> {
    let mut out: Vec<WarningGroup<'_>> = Vec::new();
    for w in warnings {
        match out.iter_mut().find(|g| g.code == w.code) {
            Some(g) => g.warnings.push(w),
            None => out.push(WarningGroup { code: w.code, consequence: w.code.consequence(), warnings: vec![w] }),
        }
    }
    out
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
    Object {
        code: WarningCode,
        message: String,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        detail: Option<String>,
    },
    Text(String),
}

impl<'de> Deserialize<'de> for Warning {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Written::deserialize(d)? {
            Written::Object { code, message, subject, detail } => Warning { code, message, subject, detail },
            Written::Text(message) => Warning::new(WarningCode::Other, message),
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
        let about = Warning::new(WarningCode::FewCounted, "P1: 3").about("P1", "3 counted");
        let text = serde_json::to_string(&about).unwrap();
        assert_eq!(text, r#"{"code":"few_counted","message":"P1: 3","subject":"P1","detail":"3 counted"}"#);
        assert_eq!(serde_json::from_str::<Warning>(&text).unwrap(), about);
    }

    #[test]
    fn every_code_has_a_consequence_with_meaning_and_action() {
        for code in WarningCode::ALL {
            let c = code.consequence();
            assert!(c.meaning.len() > 20 && c.action.len() > 5, "{code:?}");
            assert!(!c.meaning.ends_with('.') && !c.action.ends_with('.'), "{code:?}: the lines add the full stop");
        }
        // a warning about the comparison design does not change what a norm-based contract pays;
        // one that leaves students out of the run does
        assert!(!WarningCode::BaselineEquivalence.consequence().affects_payment);
        assert!(WarningCode::Partial.consequence().affects_payment);
    }

    #[test]
    fn warnings_of_one_code_are_one_group_listing_each_subject() {
        let ws = vec![
            Warning::new(WarningCode::BaselineEquivalence, "P1: g = -1.10 ...").about("P1", "g = -1.10"),
            Warning::new(WarningCode::HighAttrition, "P1: attrition ...").about("P1", "24.3%"),
            Warning::new(WarningCode::BaselineEquivalence, "P2: g = -0.97 ...").about("P2", "g = -0.97"),
            Warning::new(WarningCode::Join, "no test in a window"),
            Warning::new(WarningCode::Join, "two tests on one date"),
        ];
        let g = group(&ws);
        assert_eq!(
            g.iter().map(|g| g.code).collect::<Vec<_>>(),
            [WarningCode::BaselineEquivalence, WarningCode::HighAttrition, WarningCode::Join]
        );
        assert_eq!(g[0].entries(), ["P1 (g = -1.10), P2 (g = -0.97)"]);
        // a lone warning and warnings without a subject keep their own sentences
        assert_eq!(g[1].entries(), ["P1: attrition ..."]);
        assert_eq!(g[2].entries(), ["no test in a window", "two tests on one date"]);
        let lines = g[0].lines();
        assert!(lines[0].starts_with("warning baseline_equivalence (2): does not affect any payment."), "{}", lines[0]);
        assert!(lines[1].starts_with("  what to do: "));
        assert_eq!(lines.len(), 3);
    }
}
