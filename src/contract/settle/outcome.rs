//! Who counts and what each student reached: the students settlement sees, the rule
//! each failed first, and the outcome of a counted student (docs/methods.md, settlement).

use super::*;
use crate::contract::terms::{Outcome, VendorMeasure};
use crate::data::vendor::measures::VendorValues;
#[allow(unused_imports)]
use crate::stats::warning::{Warning, WarningCode};

/// Norm results of one student (what the outcome and the metric read).
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct NormScore {
    pub expected_growth: Option<f64>,
    pub growth_sd: Option<f64>,
    pub cgi: Option<f64>,
    pub cgp: Option<f64>,
    pub sgp: Option<u8>,
}

/// The first rule a student failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    NoPreTest,
    Enrolment,
    Dosage,
    NoPostTest,
    NoNorm,
}

impl Rule {
    pub const ALL: [Rule; 5] = [Rule::NoPreTest, Rule::Enrolment, Rule::Dosage, Rule::NoPostTest, Rule::NoNorm];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoPreTest => "no_pre_test",
            Rule::Enrolment => "enrolment",
            Rule::Dosage => "dosage",
            Rule::NoPostTest => "no_post_test",
            Rule::NoNorm => "no_norm",
        }
    }
}

/// Writes counts by rule in the order of the rules' names (as a map keyed by name was
/// written before the rule was a type), so that the JSON does not change.
pub fn by_rule_name<S: serde::Serializer>(map: &BTreeMap<Rule, u64>, s: S) -> Result<S::Ok, S::Error> {
    let named: BTreeMap<&str, u64> = map.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    named.serialize(s)
}

/// One student as settlement sees them (built by the caller from the analytic file and
/// the norms).
#[derive(Clone, Debug, PartialEq)]
pub struct Student {
    pub student_id: String,
    pub subject: String,
    pub school: String,
    pub grade: i32,
    /// `None`: comparison student.
    pub provider: Option<String>,
    pub tutor: Option<String>,
    /// Shared with the other students of the same group values (see `data::validate::Groups`).
    pub groups: crate::data::validate::Groups,
    /// Analysed by the data layer (pre, eligible, post).
    pub analysed: bool,
    /// Why not analysed, with the rule (tutored and comparison students alike).
    pub excluded: Option<(Rule, String)>,
    /// Tutored: enrolled in time and met the dosage rule.
    pub served: bool,
    pub pre: Option<f64>,
    pub post: Option<f64>,
    pub pre_sem: Option<f64>,
    /// Standard error of growth, `sqrt(sem_pre² + sem_post²)`, when both SEMs are known.
    pub growth_se: Option<f64>,
    pub weeks: Option<f64>,
    pub sessions: u32,
    pub minutes: f64,
    /// Norm results; `Err` says why the student could not be scored.
    pub score: Result<NormScore, NoOutcome>,
    /// The vendor's growth measures of the contract's window pair, from the post-test row
    /// (boxed: most students have none, and 11 measures would double the record).
    pub vendor: Option<Box<VendorValues>>,
    /// Which file decided `provider`: the roster, or the assignments file.
    pub provider_source: crate::data::assignments::ProviderSource,
}

/// Why a counted student's outcome or metric value cannot be computed: the `no_norm` rule
/// (README "Settling a contract"). The text is what the audit shows.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoOutcome {
    #[error("the contract uses no norms")]
    NoNorms,
    #[error("no pre- or post-test")]
    NoTests,
    #[error("no growth (missing pre or post)")]
    NoGrowth,
    #[error("no norm: start score {pre} is outside the norms' support {lo}..={hi} for {subject} grade {grade}")]
    OutsideSupport { pre: f64, lo: f64, hi: f64, subject: String, grade: i32 },
    #[error("no norm: start score {pre} is outside the norms table's start scores for {subject} grade {grade}")]
    OutsideTable { pre: f64, subject: String, grade: i32 },
    /// The norms could not score the student (no group, no fitted norms...): their reason.
    #[error("no norm: {0}")]
    Unscored(String),
    #[error("the norms give no {0}")]
    Missing(&'static str),
    #[error("expected growth {0:.2} is not positive, so percent of typical growth is undefined")]
    NonPositiveExpected(f64),
    #[error("the norms give no value for the metric")]
    NoMetricValue,
    /// The vendor gave no value of the outcome's measure for the student's post-test.
    #[error("no vendor value: the assessments file gives no {0} for the student's post-test")]
    NoVendorValue(&'static str),
}

impl Student {
    pub fn growth(&self) -> Option<f64> {
        Some(self.post? - self.pre?)
    }

    /// The vendor's value of measure `m` for the contract's window pair (met projected
    /// growth as 1 met, 0 not), `None` when the vendor gave none.
    pub fn vendor_value(&self, m: VendorMeasure) -> Option<f64> {
        self.vendor.as_ref()?.get(m.field())
    }
}

/// Whether a student meets the outcome; `Err` when it cannot be computed.
pub fn outcome_met(outcome: &Outcome, s: &Student) -> Result<bool, NoOutcome> {
    outcome_met_at(outcome, s, s.post, &s.score)
}

/// [`outcome_met`] for student `s` with `post` and `score` in place of its own (the
/// baseline's shifted post-tests, without copying the student).
pub fn outcome_met_at(
    outcome: &Outcome,
    s: &Student,
    post: Option<f64>,
    score: &Result<NormScore, NoOutcome>,
) -> Result<bool, NoOutcome> {
    let (kind, at_least) = (outcome.kind, outcome.at_least);
    let growth = post.zip(s.pre).map(|(post, pre)| post - pre).ok_or(NoOutcome::NoGrowth)?;
    let k = at_least.unwrap_or(0.0);
    if kind == OutcomeKind::Vendor {
        let m = outcome.measure.ok_or(NoOutcome::Missing("vendor measure"))?;
        let v = s.vendor_value(m).ok_or(NoOutcome::NoVendorValue(m.name()))?;
        // met projected growth is a 1/0 flag: met when 1 (no `at_least`)
        return Ok(if m == VendorMeasure::MetProjectedGrowth { v >= 1.0 } else { v >= k });
    }
    if kind == OutcomeKind::ScaleGrowth {
        return Ok(growth >= k);
    }
    let score = score.as_ref().map_err(Clone::clone)?;
    let need = |v: Option<f64>, what: &'static str| v.ok_or(NoOutcome::Missing(what));
    Ok(match kind {
        OutcomeKind::GrowthVsNorm => growth >= need(score.expected_growth, "expected growth")?,
        OutcomeKind::Cgp => need(score.cgp, "CGP")? >= k,
        OutcomeKind::Cgi => need(score.cgi, "CGI")? >= k,
        OutcomeKind::Sgp => f64::from(score.sgp.ok_or(NoOutcome::Missing("SGP"))?) >= k,
        OutcomeKind::PercentTypical => {
            let e = need(score.expected_growth, "expected growth")?;
            if e <= 0.0 {
                return Err(NoOutcome::NonPositiveExpected(e));
            }
            100.0 * growth / e >= k
        }
        OutcomeKind::ScaleGrowth | OutcomeKind::Vendor => unreachable!("handled above"),
    })
}

/// The per-student value the metric averages (share: 0/1; mean CGI: the CGI).
pub(super) fn metric_value(kind: MetricKind, met: bool, s: &Student) -> Option<f64> {
    match kind {
        MetricKind::ShareMeeting | MetricKind::ShareMeetingVsComparison => Some(if met { 1.0 } else { 0.0 }),
        MetricKind::MeanCgi => s.score.as_ref().ok()?.cgi,
        MetricKind::MedianSgp => s.score.as_ref().ok()?.sgp.map(f64::from),
        MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison => None,
    }
}

/// Whether the roster has comparison (untutored) students, as the metric needs: without
/// any, a warning (fairness checks cannot run), for `effect_size` an error unless the
/// contract sets `require_comparison = false` (README "No silent codes"), and for
/// `share_meeting_vs_comparison` always an error.
pub fn comparison_present(
    contract: &Contract,
    rows: &[crate::data::AnalyticRow],
) -> Result<Vec<Warning>, crate::error::DataError> {
    if rows.is_empty() || rows.iter().any(|r| r.provider_id.is_none()) {
        return Ok(Vec::new());
    }
    // share_meeting_vs_comparison has no value without a comparison group (and the contract
    // cannot set require_comparison = false with it)
    let needs = contract.metric.kind == MetricKind::ShareMeetingVsComparison
        || (contract.metric.kind.is_effect() && contract.contract.require_comparison);
    if needs {
        return Err(crate::error::DataError::NoComparison { metric: contract.metric.kind.describe().into() });
    }
    Ok(vec![Warning::new(
        WarningCode::Comparison,
        format!(
            "no comparison students: every roster student has a provider, so baseline equivalence and attrition \
         against a comparison group cannot be checked (comparison codes: {:?}; set [contract] \
         comparison_values if untutored students carry a code)",
            contract.contract.comparison_values
        ),
    )])
}

/// Each student's outcome (`Some` = counted) or the first rule failed: the data layer's
/// exclusion, or `no_norm` when the outcome or the metric cannot be computed.
/// Per student: the outcome when counted, the first rule failed (with its reason) otherwise.
pub(super) type Outcomes = (Vec<Option<bool>>, Vec<Option<(Rule, String)>>);

pub(super) fn outcomes(contract: &Contract, students: &[Student]) -> Outcomes {
    let kind = contract.metric.kind;
    let mut met: Vec<Option<bool>> = vec![None; students.len()];
    let mut reason: Vec<Option<(Rule, String)>> = vec![None; students.len()];
    for (i, s) in students.iter().enumerate() {
        if !s.analysed {
            reason[i] = Some(s.excluded.clone().unwrap_or((Rule::NoPostTest, "not analysed".into())));
            continue;
        }
        let outcome = outcome_met(&contract.outcome, s);
        let metric_ok = match kind {
            MetricKind::EffectSize
            | MetricKind::MeanGrowthVsComparison
            | MetricKind::ShareMeeting
            | MetricKind::ShareMeetingVsComparison => Ok(()),
            _ => metric_value(kind, false, s)
                .map(|_| ())
                .ok_or_else(|| s.score.as_ref().err().cloned().unwrap_or(NoOutcome::NoMetricValue)),
        };
        match (outcome, metric_ok) {
            (Ok(m), Ok(())) => met[i] = Some(m),
            (Err(e), _) | (_, Err(e)) => reason[i] = Some((Rule::NoNorm, e.to_string())),
        }
    }
    (met, reason)
}

/// Students of `rows` not counted, by the first rule they failed.
pub(super) fn excluded_by_rule(rows: &[usize], reason: &[Option<(Rule, String)>]) -> BTreeMap<Rule, u64> {
    let mut excluded: BTreeMap<Rule, u64> = BTreeMap::new();
    for &i in rows {
        if let Some((rule, _)) = &reason[i] {
            *excluded.entry(*rule).or_default() += 1;
        }
    }
    excluded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::vendor::measures::{VendorField, VendorValues};

    fn with_vendor(cgp: Option<f64>, met: Option<f64>) -> Student {
        let mut v = VendorValues::default();
        v.0[VendorField::ConditionalGrowthPercentile as usize] = cgp;
        v.0[VendorField::MetProjectedGrowth as usize] = met;
        Student { vendor: Some(Box::new(v)), ..Student::example(4, Some(200.0), Some(205.0)) }
    }

    #[test]
    fn a_vendor_outcome_reads_the_vendors_value_and_needs_no_norms() {
        let cgp = Outcome {
            kind: OutcomeKind::Vendor,
            at_least: Some(60.0),
            measure: Some(VendorMeasure::ConditionalGrowthPercentile),
        };
        assert_eq!(outcome_met(&cgp, &with_vendor(Some(60.0), None)), Ok(true), "at the threshold is met");
        assert_eq!(outcome_met(&cgp, &with_vendor(Some(59.0), None)), Ok(false));
        let none = outcome_met(&cgp, &with_vendor(None, Some(1.0))).unwrap_err();
        assert_eq!(none, NoOutcome::NoVendorValue("conditional_growth_percentile"));
        assert!(none.to_string().starts_with("no vendor value"), "{none}");
        let bare = Student::example(4, Some(200.0), Some(205.0));
        assert_eq!(bare.vendor_value(VendorMeasure::ConditionalGrowthPercentile), None);
        let met =
            Outcome { kind: OutcomeKind::Vendor, at_least: None, measure: Some(VendorMeasure::MetProjectedGrowth) };
        assert_eq!(outcome_met(&met, &with_vendor(None, Some(1.0))), Ok(true));
        assert_eq!(outcome_met(&met, &with_vendor(Some(90.0), Some(0.0))), Ok(false));
        assert_eq!(with_vendor(None, Some(0.0)).vendor_value(VendorMeasure::MetProjectedGrowth), Some(0.0));
    }
}
