//! The contract as code: a TOML file that names the input files, maps their columns, says
//! which tests count as pre and post, who counts, and how results are reported. Unknown
//! keys are errors that name the key and its line.
//!
//! ```toml
//! [contract]
//! name = "Sample district math tutoring 2025-26"
//! subject = "math"                # or ["math", "reading"]
//! grades = [3, 4, 5, 6, 7, 8]     # optional: students in other grades are excluded
//! providers = ["P1", "P2"]        # optional: any other provider ID is an exception
//!
//! [files]                          # paths relative to this file; .csv, .tsv or .parquet
//! roster = "roster.csv"
//! sessions = "sessions.csv"
//! assessments = "assessments.csv"
//! history = "history.csv"          # optional (target setting)
//! assignments = "assignments.csv"  # optional: a provider per student and subject
//!
//! [columns]                        # optional: field = "district header", in every file
//! student_id = "StudentID"
//! [columns.assessments]            # optional: per-file overrides
//! scale_score = "RIT"
//!
//! [tests]
//! pre = { window = "fall", school_year = "2025-26" }
//! post = { window = "spring", from = "2026-04-15", to = "2026-06-10" }
//! retest = "min_sem_then_latest"   # or "latest", "earliest"
//! require_valid = true
//! breaks = [{ from = "2025-12-20", to = "2026-01-04" }]
//!
//! [eligibility]
//! enrolled_by = "2025-10-31"
//! min_sessions = 20
//! min_minutes = 0
//!
//! [ids]
//! pad_width = 6                    # optional repair of lost leading zeros
//!
//! [reporting]
//! groups = ["low_income", "race_ethnicity", "english_learner", "disability", "gender"]
//! min_cell = 10
//! attrition_boundary = "cautious"
//! ```

use serde::{Deserialize, Serialize};

use crate::data::date::Date;
use std::collections::BTreeMap;

use crate::data::schema::{
    Break, Columns, Files, IdRules, STANDARD_GROUPS, ScoreRange, ScoreRanges, Tests, WindowSpec,
};
pub use crate::data::schema::{Eligibility, Ineligible};
use crate::data::vendor::measures::VendorField;
use crate::error::ConfigError;
use crate::stats::warning::{Warning, WarningCode};
use crate::stats::wwc::Boundary;

/// One subject or several.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Subjects {
    One(String),
    Many(Vec<String>),
}

impl Subjects {
    /// Lower-cased subject names, each once, in the order given.
    pub fn list(&self) -> Vec<String> {
        let all: Vec<String> = match self {
            Subjects::One(s) => vec![s.trim().to_ascii_lowercase()],
            Subjects::Many(v) => v.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        };
        let mut out: Vec<String> = Vec::new();
        for s in all {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

/// `[contract]`: what the contract covers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContractInfo {
    pub name: String,
    pub subject: Subjects,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grades: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<Vec<String>>,
    /// Roster `provider_id` values that mean "not tutored" (the comparison group), compared
    /// after trimming. Default: the empty value only (README "No silent codes").
    #[serde(default = "default_comparison_values")]
    pub comparison_values: Vec<String>,
    /// Refuse to settle when there is no comparison group and the metric needs one
    /// (`effect_size`). Default true; `false` settles with a warning.
    #[serde(default = "yes")]
    pub require_comparison: bool,
}

fn default_comparison_values() -> Vec<String> {
    vec![String::new()]
}

fn yes() -> bool {
    true
}

/// `[reporting]`.
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `groups` | the five standard roster groups | equity-group columns to carry and report | roster fields or extra columns |
/// | `min_cell` | 10 | public tables suppress cells with fewer students | 1..=100 |
/// | `attrition_boundary` | cautious | WWC boundary used to rate attrition | cautious, optimistic |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Reporting {
    pub groups: GroupNames,
    pub min_cell: usize,
    pub attrition_boundary: Boundary,
    /// Most distinct values a reporting group may have; more looks like an identifier or a
    /// free-text column, whose values public tables would publish.
    pub max_group_values: usize,
    /// What to do with a group value held by fewer than `min_cell` roster students:
    /// refuse the group (default) or combine such values into one category.
    pub rare_values: RareValues,
}

/// `reporting.groups`: the group names, and whether the contract wrote them (then every
/// group must exist in the roster) or they are the default list (then missing standard
/// columns are skipped). Written and read as a plain list of names.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNames {
    pub names: Vec<String>,
    pub named: bool,
}

impl Default for GroupNames {
    fn default() -> Self {
        GroupNames { names: STANDARD_GROUPS.iter().map(|s| s.to_string()).collect(), named: false }
    }
}

impl std::ops::Deref for GroupNames {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.names
    }
}

impl<'a> IntoIterator for &'a GroupNames {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.names.iter()
    }
}

impl Serialize for GroupNames {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for GroupNames {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(GroupNames { names: Vec::deserialize(deserializer)?, named: true })
    }
}

impl Default for Reporting {
    fn default() -> Self {
        Reporting {
            groups: GroupNames::default(),
            min_cell: 10,
            attrition_boundary: Boundary::Cautious,
            max_group_values: 20,
            rare_values: RareValues::Refuse,
        }
    }
}

/// `reporting.rare_values`: a group value too rare to show in any table.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RareValues {
    /// Refuse the group, naming it (its rare labels would be published).
    #[default]
    Refuse,
    /// Report rare values together as one combined category.
    Combine,
}

/// Identifier fields that can never be a reporting group: public tables would list them.
const IDENTIFIER_FIELDS: [&str; 4] = ["student_id", "tutor_id", "school_id", "provider_id"];

/// `[limits]`: the plausibility gates of a run (README "Limits").
///
/// | field | default | meaning |
/// |---|---|---|
/// | `max_invalid_share` | 0.05 | largest share of a file's rows that may be excepted as invalid before `check`/`prepare` stop (rows the contract's rules leave out do not count) |
/// | `min_counted` | 10 | a provider with fewer counted students gets a warning |
/// | `score` | [1, 9999] | plausible scale scores, inclusive; others are exceptions |
/// | `sem` | [0, 100] | plausible SEMs (and an SEM must be > 0) |
/// | `subjects.NAME.score`, `subjects.NAME.sem` | the above | per-subject ranges (e.g. RIT: [100, 350]) |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_invalid_share: f64,
    pub min_counted: u64,
    pub score: [f64; 2],
    pub sem: [f64; 2],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub subjects: BTreeMap<String, SubjectLimits>,
}

/// `[limits.subjects.NAME]`: ranges for one subject; an omitted range is the default one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SubjectLimits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sem: Option<[f64; 2]>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_invalid_share: 0.05,
            min_counted: 10,
            score: [1.0, 9999.0],
            sem: [0.0, 100.0],
            subjects: BTreeMap::new(),
        }
    }
}

impl Limits {
    /// The score ranges as the data layer takes them (subject names lower-cased).
    pub fn ranges(&self) -> ScoreRanges {
        let default = ScoreRange { score: self.score, sem: self.sem };
        let subjects = self
            .subjects
            .iter()
            .map(|(k, v)| {
                let r = ScoreRange { score: v.score.unwrap_or(self.score), sem: v.sem.unwrap_or(self.sem) };
                (k.trim().to_ascii_lowercase(), r)
            })
            .collect();
        ScoreRanges { default, subjects }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| Err(ConfigError::Invalid { key, message });
        if !(0.0..=1.0).contains(&self.max_invalid_share) {
            return invalid(
                "limits.max_invalid_share".into(),
                format!("a share is between 0 and 1 (got {}); write 5% as 0.05", self.max_invalid_share),
            );
        }
        let mut ranges: Vec<(String, [f64; 2])> =
            vec![("limits.score".into(), self.score), ("limits.sem".into(), self.sem)];
        for (name, s) in &self.subjects {
            ranges.extend(s.score.map(|r| (format!("limits.subjects.{name}.score"), r)));
            ranges.extend(s.sem.map(|r| (format!("limits.subjects.{name}.sem"), r)));
        }
        for (key, [lo, hi]) in ranges {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return invalid(key, format!("write [min, max] with finite min <= max (got [{lo}, {hi}])"));
            }
        }
        Ok(())
    }
}

/// `[history]`: test windows of the history file (the prior year). Defaults: the contract's
/// pre and post window labels (no dates, no school year), its retest rule and validity rule,
/// no breaks.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryWindows {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre: Option<WindowSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<WindowSpec>,
    pub breaks: Vec<Break>,
}

impl HistoryWindows {
    /// The history's test rules, given the contract's current-year rules.
    pub fn tests(&self, current: &Tests) -> Tests {
        let label_only = |w: &WindowSpec| WindowSpec { window: w.window.clone(), ..Default::default() };
        Tests {
            pre: self.pre.clone().unwrap_or_else(|| label_only(&current.pre)),
            post: self.post.clone().unwrap_or_else(|| label_only(&current.post)),
            retest: current.retest,
            require_valid: current.require_valid,
            breaks: self.breaks.clone(),
        }
    }
}

/// The per-student outcome: what a student must reach to count as meeting it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Growth at least the norm's expected growth (NWEA "growth projection met").
    GrowthVsNorm,
    /// Conditional growth percentile at least `at_least` (1..=99).
    Cgp,
    /// Student growth percentile at least `at_least` (1..=99); needs `norms.method = "sgp"`.
    Sgp,
    /// Conditional growth index at least `at_least`.
    Cgi,
    /// Growth as a percent of the norm's expected growth at least `at_least`.
    PercentTypical,
    /// Scale-score growth (post − pre) at least `at_least` points; no norms needed.
    ScaleGrowth,
    /// The vendor's own growth measure `measure` at least `at_least` (for
    /// `met_projected_growth`: met); no norms needed (README "Vendor growth measures").
    Vendor,
}

/// A vendor's own per-student growth measure of the contract's window pair, as the
/// assessments file carries it (README "Canonical layout", vendor growth columns).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum VendorMeasure {
    /// NWEA observed growth (RIT points).
    ObservedGrowth,
    /// NWEA projected growth (RIT points).
    ProjectedGrowth,
    /// NWEA conditional growth index.
    ConditionalGrowthIndex,
    /// NWEA conditional growth percentile (1..=99).
    ConditionalGrowthPercentile,
    /// NWEA met projected growth (1 met, 0 not).
    MetProjectedGrowth,
    /// NWEA typical growth of the pair, or i-Ready's annual typical growth measure.
    TypicalGrowth,
    /// i-Ready annual stretch growth measure.
    StretchGrowth,
    /// i-Ready percent progress to annual typical growth.
    PercentProgressTypical,
    /// i-Ready percent progress to annual stretch growth.
    PercentProgressStretch,
    /// i-Ready diagnostic gain.
    DiagnosticGain,
}

impl VendorMeasure {
    pub const ALL: [VendorMeasure; 10] = [
        VendorMeasure::ObservedGrowth,
        VendorMeasure::ProjectedGrowth,
        VendorMeasure::ConditionalGrowthIndex,
        VendorMeasure::ConditionalGrowthPercentile,
        VendorMeasure::MetProjectedGrowth,
        VendorMeasure::TypicalGrowth,
        VendorMeasure::StretchGrowth,
        VendorMeasure::PercentProgressTypical,
        VendorMeasure::PercentProgressStretch,
        VendorMeasure::DiagnosticGain,
    ];

    /// The field of the analytic file that holds it.
    pub fn field(self) -> VendorField {
        match self {
            VendorMeasure::ObservedGrowth => VendorField::ObservedGrowth,
            VendorMeasure::ProjectedGrowth => VendorField::ProjectedGrowth,
            VendorMeasure::ConditionalGrowthIndex => VendorField::ConditionalGrowthIndex,
            VendorMeasure::ConditionalGrowthPercentile => VendorField::ConditionalGrowthPercentile,
            VendorMeasure::MetProjectedGrowth => VendorField::MetProjectedGrowth,
            VendorMeasure::TypicalGrowth => VendorField::TypicalGrowth,
            VendorMeasure::StretchGrowth => VendorField::StretchGrowth,
            VendorMeasure::PercentProgressTypical => VendorField::PercentProgressTypical,
            VendorMeasure::PercentProgressStretch => VendorField::PercentProgressStretch,
            VendorMeasure::DiagnosticGain => VendorField::DiagnosticGain,
        }
    }

    /// The snake_case name a contract writes.
    pub fn name(self) -> &'static str {
        self.field().name()
    }

    /// The measure in plain words.
    pub fn describe(self) -> &'static str {
        match self {
            VendorMeasure::ObservedGrowth => "the vendor's observed growth",
            VendorMeasure::ProjectedGrowth => "the vendor's projected growth",
            VendorMeasure::ConditionalGrowthIndex => "the vendor's conditional growth index (CGI)",
            VendorMeasure::ConditionalGrowthPercentile => "the vendor's conditional growth percentile (CGP)",
            VendorMeasure::MetProjectedGrowth => "the vendor's met projected growth flag",
            VendorMeasure::TypicalGrowth => "the vendor's typical growth",
            VendorMeasure::StretchGrowth => "the vendor's stretch growth",
            VendorMeasure::PercentProgressTypical => "the vendor's percent progress to typical growth",
            VendorMeasure::PercentProgressStretch => "the vendor's percent progress to stretch growth",
            VendorMeasure::DiagnosticGain => "the vendor's diagnostic gain",
        }
    }
}

/// `[outcome]`.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `kind` | `growth_vs_norm` | [`OutcomeKind`]: `growth_vs_norm`, `cgp`, `sgp`, `cgi`, `percent_typical`, `scale_growth` |
/// | `at_least` | none | the k, c, p or g of the outcome; required except for `growth_vs_norm` and `met_projected_growth` |
/// | `measure` | none | with `kind = "vendor"`: the [`VendorMeasure`] (`conditional_growth_percentile`, ...) |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    #[serde(default = "default_outcome_kind")]
    pub kind: OutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "vendor_measure_named")]
    pub measure: Option<VendorMeasure>,
}

/// `outcome.measure` read by name, an unknown name refused with the key and the names known.
fn vendor_measure_named<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<VendorMeasure>, D::Error> {
    let name = String::deserialize(d)?;
    match VendorMeasure::ALL.into_iter().find(|m| m.name() == name.trim()) {
        Some(m) => Ok(Some(m)),
        None => Err(serde::de::Error::custom(format!(
            "outcome.measure: unknown vendor measure {name:?}; known: {}",
            VendorMeasure::ALL.map(|m| m.name()).join(", ")
        ))),
    }
}

fn default_outcome_kind() -> OutcomeKind {
    OutcomeKind::GrowthVsNorm
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome { kind: OutcomeKind::GrowthVsNorm, at_least: None, measure: None }
    }
}

impl Outcome {
    /// Whether the outcome needs growth norms.
    pub fn needs_norms(&self) -> bool {
        !matches!(self.kind, OutcomeKind::ScaleGrowth | OutcomeKind::Vendor)
    }

    /// The outcome's own keys, checked (exit 2 naming `{key}.measure` or `{key}.at_least`):
    /// the vendor measure with `kind = "vendor"` only, `at_least` where the kind needs one and
    /// in its range. `[outcome]` and a rate line's `outcome` are checked alike.
    pub fn check(&self, key: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| Err(ConfigError::Invalid { key: key.into(), message });
        let o = self;
        match (o.kind, o.measure) {
            (OutcomeKind::Vendor, None) => {
                return invalid(
                    &format!("{key}.measure"),
                    format!(
                        "required with kind = \"vendor\": one of {}",
                        VendorMeasure::ALL.map(|m| format!("{:?}", m.name())).join(", ")
                    ),
                );
            }
            (OutcomeKind::Vendor, Some(VendorMeasure::MetProjectedGrowth)) if o.at_least.is_some() => {
                return invalid(
                    &format!("{key}.at_least"),
                    "`met_projected_growth` takes no `at_least` (met is the bar)".into(),
                );
            }
            (OutcomeKind::Vendor, _) => {}
            (_, Some(_)) => return invalid(&format!("{key}.measure"), "only used with kind = \"vendor\"".into()),
            (_, None) => {}
        }
        match (o.kind, o.at_least) {
            (OutcomeKind::Vendor, None) if o.measure == Some(VendorMeasure::MetProjectedGrowth) => {}
            (OutcomeKind::Vendor, Some(k))
                if o.measure == Some(VendorMeasure::ConditionalGrowthPercentile) && !(1.0..=99.0).contains(&k) =>
            {
                return invalid(&format!("{key}.at_least"), format!("a percentile must be in 1..=99 (got {k})"));
            }
            (OutcomeKind::GrowthVsNorm, Some(_)) => {
                return invalid(
                    &format!("{key}.at_least"),
                    "`growth_vs_norm` takes no `at_least` (the norm is the bar)".into(),
                );
            }
            (OutcomeKind::GrowthVsNorm, None) => {}
            (_, None) => {
                return invalid(
                    &format!("{key}.at_least"),
                    format!("required for outcome kind {}", as_written(o.kind)),
                );
            }
            (OutcomeKind::Cgp | OutcomeKind::Sgp, Some(k)) if !(1.0..=99.0).contains(&k) => {
                return invalid(&format!("{key}.at_least"), format!("a percentile must be in 1..=99 (got {k})"));
            }
            (OutcomeKind::PercentTypical, Some(k)) if !(k.is_finite() && k > 0.0) => {
                return invalid(
                    &format!("{key}.at_least"),
                    format!("a percent of typical growth must be > 0 (got {k})"),
                );
            }
            (_, Some(k)) if !k.is_finite() => {
                return invalid(&format!("{key}.at_least"), "must be a finite number".into());
            }
            _ => {}
        }
        Ok(())
    }

    /// The vendor measure the outcome reads (`kind = "vendor"`).
    pub fn vendor_measure(&self) -> Option<VendorMeasure> {
        if self.kind == OutcomeKind::Vendor { self.measure } else { None }
    }

    /// The outcome in plain words.
    pub fn describe(&self) -> String {
        let k = self.at_least.unwrap_or(f64::NAN);
        match self.kind {
            OutcomeKind::GrowthVsNorm => {
                "growth at least the norm's expected growth for the student's start score".into()
            }
            OutcomeKind::Cgp => format!("conditional growth percentile (CGP) at least {k}"),
            OutcomeKind::Sgp => format!("student growth percentile (SGP) at least {k}"),
            OutcomeKind::Cgi => format!("conditional growth index (CGI) at least {k}"),
            OutcomeKind::PercentTypical => format!("growth at least {k}% of the norm's expected growth"),
            OutcomeKind::ScaleGrowth => format!("scale-score growth (post − pre) at least {k} points"),
            OutcomeKind::Vendor => match self.measure {
                Some(VendorMeasure::MetProjectedGrowth) => "the vendor says the student met projected growth".into(),
                Some(m) => format!("{} at least {k}", m.describe()),
                None => "a vendor measure (none named)".into(),
            },
        }
    }
}

/// How norms are obtained for the outcome and the metric.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NormsMethod {
    /// Conditional-normal norms (expected growth by a spline in the start score, and weeks)
    /// fitted on the history file, per subject and grade.
    Conditional,
    /// Student growth percentiles by quantile regression fitted on the history file.
    Sgp,
    /// A norms file made by `obc norms fit` or `obc norms import`.
    File,
}

/// `[norms]`.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `method` | `conditional` | `conditional`, `sgp` (fitted on `files.history`) or `file` |
/// | `file` | none | with `method = "file"`: a norms.json, relative to the contract |
/// | `sd_model` | `constant` | conditional norms: SD of growth `constant` or `linear_log` in the start score |
/// | `min_n` | 1000 | smallest history group fitted (SGP and conditional alike) |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NormsSpec {
    #[serde(default = "default_norms_method")]
    pub method: NormsMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_n: Option<usize>,
}

fn default_norms_method() -> NormsMethod {
    NormsMethod::Conditional
}

impl Default for NormsSpec {
    fn default() -> Self {
        NormsSpec { method: NormsMethod::Conditional, file: None, sd_model: None, min_n: None }
    }
}

/// The provider metric.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Share of counted students meeting the outcome (0 to 1).
    ShareMeeting,
    /// Mean conditional growth index of counted students.
    MeanCgi,
    /// Median student growth percentile of counted students.
    MedianSgp,
    /// Covariate-adjusted difference in post-test scores from the comparison group, in
    /// pooled within-grade SDs (WWC-style adjusted effect size).
    EffectSize,
    /// Share of counted students meeting the outcome minus the share of analysed comparison
    /// students meeting it (−1 to 1): robust to a drift of the whole cohort against the
    /// history the norms were fitted on (docs/methods.md 9).
    ShareMeetingVsComparison,
    /// The effect model's provider coefficient in scale-score points: the covariate-adjusted
    /// difference in post-test (so in growth) from the comparison group; `effect_size` is the
    /// same coefficient divided by the pooled SD and multiplied by ω.
    MeanGrowthVsComparison,
}

impl MetricKind {
    /// The metric's name as the contract writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::ShareMeeting => "share_meeting",
            MetricKind::MeanCgi => "mean_cgi",
            MetricKind::MedianSgp => "median_sgp",
            MetricKind::EffectSize => "effect_size",
            MetricKind::ShareMeetingVsComparison => "share_meeting_vs_comparison",
            MetricKind::MeanGrowthVsComparison => "mean_growth_vs_comparison",
        }
    }

    /// A metric of the effect model (`effect_size`, `mean_growth_vs_comparison`): the
    /// provider coefficient against the comparison group.
    pub fn is_effect(self) -> bool {
        matches!(self, MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison)
    }

    pub fn describe(self) -> &'static str {
        match self {
            MetricKind::ShareMeeting => "share of counted students meeting the outcome",
            MetricKind::MeanCgi => "mean conditional growth index (CGI) of counted students",
            MetricKind::MedianSgp => "median student growth percentile (SGP) of counted students",
            MetricKind::EffectSize => {
                "effect size against the comparison group: covariate-adjusted post-test difference in pooled within-grade SDs"
            }
            MetricKind::ShareMeetingVsComparison => {
                "share of counted students meeting the outcome minus the share of comparison students meeting it"
            }
            MetricKind::MeanGrowthVsComparison => {
                "mean growth against the comparison group: covariate-adjusted post-test difference in scale-score points"
            }
        }
    }
}

/// How an estimate and its interval decide whether a threshold is met.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRule {
    /// Met when the point estimate reaches the threshold (the interval is reported).
    Point,
    /// Met when the interval's lower end reaches the threshold, not met when its upper end
    /// is below it, inconclusive otherwise.
    LowerBound,
    /// Met when the bootstrap probability that the metric is at least the threshold is at
    /// least `level`, not met when it is at most `1 − level`, inconclusive otherwise.
    Probability,
}

impl DecisionRule {
    /// The rule in words at `level`, as results and reports state it.
    pub fn describe(self, level: f64) -> String {
        match self {
            DecisionRule::Point => "met when the estimate reaches the threshold".into(),
            DecisionRule::LowerBound => {
                format!("met when the lower end of the {}% interval reaches the threshold", percent(level))
            }
            DecisionRule::Probability => {
                format!("met when the probability that the metric reaches the threshold is at least {level}")
            }
        }
    }
}

/// `0.9` as `90`, `0.95` as `95`, `0.975` as `97.5`.
fn percent(level: f64) -> String {
    let p = (level * 1000.0).round() / 10.0;
    if p.fract() == 0.0 { format!("{p:.0}") } else { format!("{p}") }
}

/// `[decision]`.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `rule` | `lower_bound` | [`DecisionRule`]: `point`, `lower_bound`, `probability` |
/// | `level` | 0.90 | two-sided interval level (every rule reports this interval); for `probability`, the q |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Decision {
    pub rule: DecisionRule,
    pub level: f64,
}

impl Default for Decision {
    fn default() -> Self {
        Decision { rule: DecisionRule::LowerBound, level: 0.90 }
    }
}

/// `[metric]`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub kind: MetricKind,
}

impl Default for Metric {
    fn default() -> Self {
        Metric { kind: MetricKind::ShareMeeting }
    }
}

/// One `[[thresholds]]` tier.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `name` | `tier N` | label |
/// | `value` | required | the metric must reach this (by the decision rule) |
/// | `pool_share` | none | with an outcome pool: share of the pool earned at this tier (0 to 1) |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    #[serde(default)]
    pub name: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_share: Option<f64>,
}

/// Who earns the base payment.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BaseBasis {
    /// Every rostered student of the provider.
    Rostered,
    /// Students enrolled in time who met the dosage rule (tested or not).
    #[default]
    Served,
    /// Counted students only (served and tested).
    Counted,
}

/// `[payment]` (amounts in the contract's currency, per provider).
///
/// | field | default | meaning |
/// |---|---|---|
/// | `base_fixed` | 0 | fixed base per provider |
/// | `base_per_student` | 0 | base per student of `base_basis` |
/// | `base_basis` | `served` | `rostered`, `served` (enrolled in time and dosed) or `counted` |
/// | `outcome_per_student` | 0 | per counted student meeting the outcome |
/// | `per_student_requires_tier` | false | pay `outcome_per_student` only if the first tier is met |
/// | `outcome_pool` | 0 | fixed outcome pool per provider, paid by tier (`pool_share` of the highest tier met) |
/// | `outcome_pool_per_student` | 0 | adds this times counted students to the pool |
/// | `penalty_per_regressed` | 0 | deducted per counted student whose growth is below `regressed_below` |
/// | `regressed_below` | 0 | growth (post − pre, scale points) below this counts as regressed |
/// | `cap` | none | most a provider can be paid |
/// | `floor` | none | least a provider is paid (0 without it) |
/// | `student_cap` | none | most one student's outcome lines can earn ([`super::rates`]) |
/// | `contingent_share` | none | the outcome share of the most a provider can be paid, checked against the lines |
/// | `settle_on` | `observed` | `observed` or `expected` (each student's expected amounts under test error) |
/// | `error_prior` | `provider` | prior of true growth for the expected payment: `provider` or `flat` |
///
/// Payable = min(cap, max(floor, base + outcome − penalty)).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Payment {
    pub base_fixed: f64,
    pub base_per_student: f64,
    pub base_basis: BaseBasis,
    pub outcome_per_student: f64,
    pub per_student_requires_tier: bool,
    pub outcome_pool: f64,
    pub outcome_pool_per_student: f64,
    pub penalty_per_regressed: f64,
    pub regressed_below: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub student_cap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contingent_share: Option<f64>,
    #[serde(skip_serializing_if = "is_default")]
    pub settle_on: SettleOn,
    #[serde(skip_serializing_if = "is_default")]
    pub error_prior: ErrorPrior,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Which payment a settlement pays (docs/contracts.md section 16).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SettleOn {
    /// Each student's amounts on their observed scores.
    #[default]
    Observed,
    /// Each student's expected amounts under test error
    /// ([`super::settle::test_error`]).
    Expected,
}

/// The prior of a student's true growth in the expected payment under test error
/// ([`super::settle::test_error`]).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPrior {
    /// A normal prior fitted on the provider's own counted students (empirical Bayes).
    #[default]
    Provider,
    /// A flat prior: the true growth is normal around the observed growth.
    Flat,
}

impl Payment {
    /// Whether any outcome pool is set (tiers then need `pool_share`).
    pub fn has_pool(&self) -> bool {
        self.outcome_pool > 0.0 || self.outcome_pool_per_student > 0.0
    }
}

/// Resampling unit of the bootstrap.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClusterLevel {
    #[default]
    Student,
    Tutor,
    School,
}

/// Bootstrap interval method.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    #[default]
    Percentile,
    Bca,
    Basic,
    Normal,
}

impl IntervalMethod {
    /// The method's name as the contract writes it and outputs show it.
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalMethod::Percentile => "percentile",
            IntervalMethod::Bca => "bca",
            IntervalMethod::Basic => "basic",
            IntervalMethod::Normal => "normal",
        }
    }
}

/// How a provider's metric gets its interval (docs/contracts.md, `[inference]`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InferenceMethod {
    /// The bootstrap over `cluster` units with the `interval` method (every metric).
    #[default]
    Bootstrap,
    /// A t interval on the provider's cluster means with G − 1 degrees of freedom (share and
    /// mean metrics with `cluster = "tutor"` or `"school"`).
    ClusterT,
    /// CR2 standard error with Satterthwaite degrees of freedom on the effect model's
    /// provider coefficient (effect metrics).
    Cr2,
    /// The wild cluster restricted bootstrap of the effect model's provider coefficient,
    /// interval by test inversion (effect metrics).
    WildCluster,
}

impl InferenceMethod {
    /// The method's name as the contract writes it and outputs show it.
    pub fn as_str(self) -> &'static str {
        match self {
            InferenceMethod::Bootstrap => "bootstrap",
            InferenceMethod::ClusterT => "cluster_t",
            InferenceMethod::Cr2 => "cr2",
            InferenceMethod::WildCluster => "wild_cluster",
        }
    }

    /// The default: the bootstrap (results.json omits it).
    pub fn is_bootstrap(&self) -> bool {
        *self == InferenceMethod::Bootstrap
    }
}

/// `[inference]`.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `method` | `bootstrap` | [`InferenceMethod`]: `bootstrap`, `cluster_t`, `cr2`, `wild_cluster` |
/// | `replicates` | 2000 | bootstrap replicates per provider (also of `wild_cluster`) |
/// | `seed` | 20251 | seed; same inputs and seed give identical results |
/// | `cluster` | `student` | resampling unit / cluster: `student`, `tutor`, `school` |
/// | `interval` | `percentile` | bootstrap interval: `percentile`, `bca`, `basic`, `normal` |
/// | `weights` | `rademacher` | weights of `wild_cluster`: `rademacher`, `webb`, `mammen` |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Inference {
    pub method: InferenceMethod,
    pub replicates: usize,
    pub seed: u64,
    pub cluster: ClusterLevel,
    pub interval: IntervalMethod,
    pub weights: crate::stats::wild::Weights,
}

impl Default for Inference {
    fn default() -> Self {
        Inference {
            method: InferenceMethod::Bootstrap,
            replicates: 2000,
            seed: 20251,
            cluster: ClusterLevel::Student,
            interval: IntervalMethod::Percentile,
            weights: crate::stats::wild::Weights::Rademacher,
        }
    }
}

/// `[baseline]`: target setting from the history file.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `sizes` | [25, 50, 100, 200, 400] | provider sizes n of the OC curves |
/// | `effects` | [0, 0.1, 0.2, 0.3, 0.4] | true effects d (SD of the post-test) |
/// | `thresholds` | 10 points from the no-effect level to the level at the largest effect | metric thresholds |
/// | `replicates` | 1000 | resamples per size |
/// | `alpha` | 0.10 | largest acceptable chance that a provider with no effect meets the threshold |
/// | `power_effect` | 0.2 | effect at which power is reported |
/// | `power` | 0.8 | power wanted for the minimum n |
/// | `provider_size` | 100 | provider size for the recommendation |
/// | `population` | `like_served` with `[baseline.served]`, else `like_pre` with `max_pre_percentile`, else `all` | which history students stand in for a provider's students ([`PopulationKind`]) |
/// | `max_pre_percentile` | none | like-performing students: history students whose pre-test is at or below this percentile of their grade |
/// | `served` | none | `[baseline.served]`: the students the district plans to serve ([`ServedSpec`]) |
/// | `comparison_size` | the eligible history students | comparison students assumed at settlement by the OC curves of `share_meeting_vs_comparison` |
/// | `weeks` | from the history | instructional weeks of the contract (for the comparison with annual growth) |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineSpec {
    pub sizes: Vec<usize>,
    pub effects: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<f64>>,
    pub replicates: usize,
    pub alpha: f64,
    pub power_effect: f64,
    pub power: f64,
    pub provider_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<PopulationKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pre_percentile: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served: Option<ServedSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weeks: Option<f64>,
}

/// `[baseline] population`: which history students stand in for a provider's students
/// (docs/methods.md 10.1).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PopulationKind {
    /// Every history student with both tests.
    #[default]
    All,
    /// Like-performing students: pre-test at or below `max_pre_percentile` of their grade.
    LikePre,
    /// History students matched to the students the district plans to serve
    /// (`[baseline.served]`: a planned roster, or rules).
    LikeServed,
}

/// `[baseline.served]`: the students the district plans to serve, as a planned roster or as
/// rules (not both).
///
/// | field | default | meaning |
/// |---|---|---|
/// | `roster` | none | planned roster file (student_id, grade, pre_score and group columns), relative to the contract; history students are reweighted to it by coarsened exact matching |
/// | `pre_bins` | 5 | pre-score bins per grade for the matching (the history's within-grade quantiles) |
/// | `match_groups` | the reporting groups both files have | roster group columns matched on |
/// | `grades` | all | rule: grades served |
/// | `pre_percentile` | none | rule: `[low, high]` percentiles of the grade's history pre-tests served |
/// | `groups` | none | rule: group values served, e.g. `{ low_income = ["Y"] }` |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServedSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roster: Option<String>,
    pub pre_bins: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grades: Option<Vec<i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_percentile: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Vec<String>>,
}

impl Default for ServedSpec {
    fn default() -> Self {
        ServedSpec {
            roster: None,
            pre_bins: DEFAULT_PRE_BINS,
            match_groups: None,
            grades: None,
            pre_percentile: None,
            groups: BTreeMap::new(),
        }
    }
}

/// Default number of within-grade pre-score bins of the like-served matching.
pub const DEFAULT_PRE_BINS: usize = 5;

impl ServedSpec {
    /// Whether any rule is set (grades, percentiles or groups).
    pub fn has_rules(&self) -> bool {
        self.grades.is_some() || self.pre_percentile.is_some() || !self.groups.is_empty()
    }
}

impl BaselineSpec {
    /// The population the baseline uses: `population`, or by default `like_served` when
    /// `[baseline.served]` is given, `like_pre` when `max_pre_percentile` is, else `all`.
    pub fn population_kind(&self) -> PopulationKind {
        self.population.unwrap_or(if self.served.is_some() {
            PopulationKind::LikeServed
        } else if self.max_pre_percentile.is_some() {
            PopulationKind::LikePre
        } else {
            PopulationKind::All
        })
    }
}

impl Default for BaselineSpec {
    fn default() -> Self {
        BaselineSpec {
            sizes: vec![25, 50, 100, 200, 400],
            effects: vec![0.0, 0.1, 0.2, 0.3, 0.4],
            thresholds: None,
            replicates: 1000,
            alpha: 0.10,
            power_effect: 0.2,
            power: 0.8,
            provider_size: 100,
            population: None,
            max_pre_percentile: None,
            served: None,
            comparison_size: None,
            weeks: None,
        }
    }
}

/// `[midpoint]`: for `obc check --as-of DATE`.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `interim` | none | window of the interim test (e.g. `{ window = "winter" }`) used to project growth |
/// | `service_start`, `service_end` | first and last session in the data | the contracted service period |
/// | `contracted_sessions` | none | sessions each student is contracted to receive over the period |
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Midpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interim: Option<WindowSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_start: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_end: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contracted_sessions: Option<f64>,
}

/// A whole contract file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub contract: ContractInfo,
    pub files: Files,
    #[serde(default)]
    pub columns: Columns,
    pub tests: Tests,
    #[serde(default)]
    pub eligibility: Eligibility,
    #[serde(default)]
    pub ids: IdRules,
    #[serde(default)]
    pub reporting: Reporting,
    #[serde(default)]
    pub history: HistoryWindows,
    #[serde(default)]
    pub outcome: Outcome,
    #[serde(default)]
    pub norms: NormsSpec,
    #[serde(default)]
    pub metric: Metric,
    #[serde(default)]
    pub decision: Decision,
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    #[serde(default)]
    pub payment: Payment,
    /// `[[rate]]` lines ([`super::rates`]); none: `[payment]`'s flat terms.
    #[serde(default, rename = "rate", skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<super::rates::RateLine>,
    #[serde(default, skip_serializing_if = "is_default_budget")]
    pub budget: super::rates::Budget,
    #[serde(default)]
    pub inference: Inference,
    #[serde(default)]
    pub baseline: BaselineSpec,
    #[serde(default)]
    pub midpoint: Midpoint,
    #[serde(default)]
    pub limits: Limits,
}

/// A refused key's error with the line of the contract that holds it (or its table's
/// header), when the key can be found in `text`.
fn with_line(e: ConfigError, text: &str) -> ConfigError {
    match e {
        ConfigError::Invalid { key, message } => match key_line(text, &key) {
            Some(line) => ConfigError::Invalid { message: format!("{message} (line {line})"), key },
            None => ConfigError::Invalid { key, message },
        },
        other => other,
    }
}

/// The 1-based line of `key` (`payment.cap`, `rate[2].steps[1].amount`, `thresholds`) in a
/// contract's text: the line setting the key's first field inside its table (the K-th
/// `[[table]]` for `table[K]`), or the table's header when the field is not written there.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    let (head, rest) = key.split_once('.').map_or((key, None), |(h, r)| (h, Some(r)));
    let (table, index) = match head.split_once('[') {
        Some((t, i)) => (t, i.trim_end_matches(']').parse::<usize>().ok()),
        None => (head, None),
    };
    let field = rest.map(|r| r.split(['.', '[']).next().unwrap_or(r));
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| {
        let t = l.trim();
        let name = t.trim_start_matches('[').split(']').next().unwrap_or("").trim();
        (t.starts_with('[') && name == table).then_some(t.starts_with("[["))
    };
    let start = match index {
        Some(k) => lines.iter().enumerate().filter(|(_, l)| header(l) == Some(true)).nth(k)?.0,
        None => lines.iter().position(|l| header(l).is_some())?,
    };
    let Some(field) = field else { return Some(start + 1) };
    let end =
        lines[start + 1..].iter().position(|l| l.trim_start().starts_with('[')).map_or(lines.len(), |p| start + 1 + p);
    let sets = |l: &str| {
        let t = l.trim_start();
        t.strip_prefix(field).is_some_and(|r| r.trim_start().starts_with(['=', '.']))
    };
    Some(lines[start + 1..end].iter().position(|l| sets(l)).map_or(start, |p| start + 1 + p) + 1)
}

fn is_default_budget(b: &super::rates::Budget) -> bool {
    *b == super::rates::Budget::default()
}

/// A tier's name as reports show it: its `name`, or `tier K` when it has none.
fn tier_label(t: &[Threshold], i: usize) -> String {
    if t[i].name.trim().is_empty() { format!("tier {}", i + 1) } else { t[i].name.trim().to_string() }
}

impl Contract {
    /// Parses and checks a contract; `origin` names the file in messages.
    ///
    /// ```
    /// use obc::contract::terms::Contract;
    /// let text = r#"
    /// [contract]
    /// name = "demo"
    /// subject = "math"
    /// [files]
    /// roster = "roster.csv"
    /// sessions = "sessions.csv"
    /// assessments = "assessments.csv"
    /// [tests]
    /// pre = { window = "fall" }
    /// post = { window = "spring" }
    /// [eligibility]
    /// min_sessions = 20
    /// "#;
    /// let c = Contract::from_toml(text, "demo.toml").unwrap();
    /// assert_eq!(c.eligibility.min_sessions, 20);
    /// assert_eq!(c.reporting.min_cell, 10); // the default
    /// let typo = text.replace("min_sessions", "min_session");
    /// assert!(Contract::from_toml(&typo, "demo.toml").unwrap_err().to_string().contains("min_session"));
    /// ```
    pub fn from_toml(text: &str, origin: &str) -> Result<Contract, ConfigError> {
        let c: Contract =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.into(), message: e.to_string() })?;
        c.check().map_err(|e| with_line(e, text))?;
        Ok(c)
    }

    /// Checks the rules that types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| Err(ConfigError::Invalid { key: key.into(), message });
        if self.contract.subject.list().iter().any(|s| s.is_empty()) || self.contract.subject.list().is_empty() {
            return invalid("contract.subject", "name at least one subject".into());
        }
        if let Some(g) = &self.contract.grades
            && (g.is_empty() || g.iter().any(|g| !(-1..=13).contains(g)))
        {
            return invalid("contract.grades", format!("grades must be in -1..=13 and not empty (got {g:?})"));
        }
        if let Some(p) = &self.contract.providers
            && (p.is_empty() || p.iter().any(|p| p.trim().is_empty()))
        {
            return invalid("contract.providers", "list provider IDs, none empty".into());
        }
        self.tests.pre.check("tests.pre")?;
        self.tests.post.check("tests.post")?;
        if self.tests.pre == self.tests.post {
            return invalid("tests.post", "the post-test window is the same as the pre-test window".into());
        }
        for (i, b) in self.tests.breaks.iter().enumerate() {
            if b.from > b.to {
                return invalid(&format!("tests.breaks[{i}]"), "`from` is after `to`".into());
            }
        }
        self.eligibility.check()?;
        self.ids.check()?;
        self.check_files()?;
        self.check_formats()?;
        self.check_reporting()?;
        self.limits.check()?;
        if let Some(w) = &self.history.pre {
            w.check("history.pre")?;
        }
        if let Some(w) = &self.history.post {
            w.check("history.post")?;
        }
        self.check_outcome()?;
        self.check_thresholds()?;
        self.check_payment()?;
        super::rates::check(self)?;
        self.check_inference()?;
        self.check_baseline()?;
        if let Some(w) = &self.midpoint.interim {
            w.check("midpoint.interim")?;
        }
        if let (Some(a), Some(b)) = (self.midpoint.service_start, self.midpoint.service_end)
            && a > b
        {
            return invalid("midpoint.service_end", "is before service_start".into());
        }
        if self.midpoint.contracted_sessions.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            return invalid("midpoint.contracted_sessions", "must be a number > 0".into());
        }
        Ok(())
    }

    /// Terms that are valid but probably not what the district meant: the current year's
    /// breaks named without the history year's while conditional norms are fitted on the
    /// history, so that the history students' instructional weeks include their breaks while
    /// the current students' do not, and the norms' weeks term expects too little growth of
    /// every current student (docs/methods.md 10.5).
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = super::rates::card_warnings(self);
        let weeks_in_norms = self.files.history.is_some() && self.norms.method == NormsMethod::Conditional;
        if weeks_in_norms && !self.tests.breaks.is_empty() && self.history.breaks.is_empty() {
            out.push(Warning::new(
                WarningCode::HistoryBreaks,
                "[tests] breaks names the current year's breaks but [history] breaks is empty: the history \
                 students' instructional weeks include their year's breaks, so the norms expect too little \
                 growth of current students; name the history year's breaks under [history] \
                 (docs/contracts.md section 10)",
            ));
        }
        out
    }

    /// Whether the outcome or the metric needs growth norms.
    pub fn uses_norms(&self) -> bool {
        self.outcome.needs_norms()
            || matches!(self.metric.kind, MetricKind::MeanCgi | MetricKind::MedianSgp)
            || super::rates::card_needs_norms(self)
    }

    /// The terms `obc check` needs beyond those every command needs: at least one threshold,
    /// and a history file when norms are fitted from it.
    pub fn check_settlement_terms(&self) -> Result<(), ConfigError> {
        if self.thresholds.is_empty() {
            return Err(ConfigError::Invalid {
                key: "thresholds".into(),
                message: "give at least one [[thresholds]] tier with a `value`".into(),
            });
        }
        self.check_history_named()
    }

    /// The contract's test window pair in snake case (`fall_to_spring`), when both test
    /// windows are chosen by label.
    pub fn window_pair(&self) -> Option<String> {
        match (&self.tests.pre.window, &self.tests.post.window) {
            (Some(a), Some(b)) => Some(crate::data::vendor::measures::window_pair(a, b)),
            _ => None,
        }
    }

    /// A vendor outcome needs its measure's column in the assessments file (`present`: the
    /// measures the file has): an outcome on a measure the data does not have is refused,
    /// not settled as nobody meeting it.
    pub fn check_vendor_columns(&self, present: &[VendorField]) -> Result<(), ConfigError> {
        let mut needed: Vec<(String, VendorMeasure)> =
            self.outcome.vendor_measure().map(|m| ("outcome.measure".to_string(), m)).into_iter().collect();
        needed.extend(super::rates::card_vendor_measures(self));
        for (key, m) in needed {
            self.check_vendor_column(&key, m, present)?;
        }
        Ok(())
    }

    /// One vendor measure's column against the data's (see [`Contract::check_vendor_columns`]).
    fn check_vendor_column(&self, key: &str, m: VendorMeasure, present: &[VendorField]) -> Result<(), ConfigError> {
        if present.contains(&m.field()) {
            return Ok(());
        }
        let pair = self.window_pair();
        let columns = m.field().columns(pair.as_deref());
        let message = if columns.is_empty() {
            format!(
                "{:?} is read per window pair, but [tests] pre and post are not both chosen by window label, so the \
                 pair's column cannot be named",
                m.name()
            )
        } else {
            format!(
                "{:?}: the assessments file has no column {} (read from the post-test row of the window pair); \
                 a contract cannot settle on a measure the data does not carry",
                m.name(),
                columns.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(" or ")
            )
        };
        Err(ConfigError::Invalid { key: key.into(), message })
    }

    /// Norms fitted from history need a history file.
    pub fn check_history_named(&self) -> Result<(), ConfigError> {
        if self.uses_norms() && self.norms.method != NormsMethod::File && self.files.history.is_none() {
            return Err(ConfigError::Invalid {
                key: "files.history".into(),
                message: "norms are fitted on the history file: name it, or use norms.method = \"file\"".into(),
            });
        }
        Ok(())
    }

    fn check_outcome(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| Err(ConfigError::Invalid { key: key.into(), message });
        let o = &self.outcome;
        o.check("outcome")?;
        let n = &self.norms;
        match (n.method, &n.file) {
            (NormsMethod::File, None) => return invalid("norms.file", "required with method = \"file\"".into()),
            (NormsMethod::Conditional | NormsMethod::Sgp, Some(_)) => {
                return invalid("norms.file", "only used with method = \"file\"".into());
            }
            _ => {}
        }
        if let Some(m) = &n.sd_model
            && !["constant", "linear_log"].contains(&m.as_str())
        {
            return invalid("norms.sd_model", format!("must be \"constant\" or \"linear_log\" (got {m:?})"));
        }
        if n.sd_model.is_some() && n.method != NormsMethod::Conditional {
            return invalid("norms.sd_model", "only applies to method = \"conditional\"".into());
        }
        if n.min_n == Some(0) {
            return invalid("norms.min_n", "must be at least 1".into());
        }
        let sgp_needed = o.kind == OutcomeKind::Sgp || self.metric.kind == MetricKind::MedianSgp;
        // rate lines on SGPs are checked with the lines (super::rates)
        if sgp_needed && n.method == NormsMethod::Conditional {
            return invalid(
                "norms.method",
                "SGP outcomes and the median-SGP metric need method = \"sgp\" (or a file of SGP norms)".into(),
            );
        }
        let normal_needed = matches!(
            o.kind,
            OutcomeKind::Cgp | OutcomeKind::Cgi | OutcomeKind::GrowthVsNorm | OutcomeKind::PercentTypical
        ) || self.metric.kind == MetricKind::MeanCgi;
        if normal_needed && n.method == NormsMethod::Sgp {
            return invalid(
                "norms.method",
                format!(
                    "outcome.kind = {} with metric.kind = {} needs expected growth: use method = \"conditional\" \
                     (or a file)",
                    as_written(o.kind),
                    as_written(self.metric.kind)
                ),
            );
        }
        if self.metric.kind == MetricKind::ShareMeetingVsComparison && !self.contract.require_comparison {
            return invalid(
                "contract.require_comparison",
                "metric.kind = \"share_meeting_vs_comparison\" is the share meeting minus the comparison group's \
                 share: it cannot be settled without a comparison group, so require_comparison must stay true"
                    .into(),
            );
        }
        if !(self.decision.level > 0.5 && self.decision.level < 1.0) {
            return invalid("decision.level", format!("must be between 0.5 and 1 (got {})", self.decision.level));
        }
        Ok(())
    }

    /// Input paths stay inside the contract's folder unless `files.allow_outside = true`
    /// (checked on the text of the path: `..` components or an absolute path).
    /// A vendor format is for the assessments and history files only, and its columns are
    /// the vendor's: a `[columns]` mapping of the same file is refused (README "Settle a
    /// contract straight from a MAP export").
    fn check_formats(&self) -> Result<(), ConfigError> {
        let f = &self.files;
        let mut canonical = vec![("files.roster", &f.roster), ("files.sessions", &f.sessions)];
        canonical.extend(f.assignments.as_ref().map(|a| ("files.assignments", a)));
        for (key, file) in canonical {
            if file.format.is_vendor() {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: format!(
                        "format = {:?} is a layout of assessment results; only files.assessments and files.history \
                         take it",
                        file.format.name()
                    ),
                });
            }
        }
        let tests = [
            ("assessments", Some(&f.assessments), &self.columns.assessments),
            ("history", f.history.as_ref(), &self.columns.history),
        ];
        for (role, file, mapping) in tests {
            if let Some(file) = file.filter(|x| x.format.is_vendor())
                && !mapping.is_empty()
            {
                return Err(ConfigError::Invalid {
                    key: format!("columns.{role}"),
                    message: format!(
                        "files.{role} is read as format = {:?}, whose columns are the vendor's; a [columns.{role}] \
                         mapping does not apply to it: remove one of the two",
                        file.format.name()
                    ),
                });
            }
        }
        Ok(())
    }

    fn check_files(&self) -> Result<(), ConfigError> {
        if self.files.allow_outside {
            return Ok(());
        }
        let mut named: Vec<(&str, &str)> = vec![
            ("files.roster", &self.files.roster.path),
            ("files.sessions", &self.files.sessions.path),
            ("files.assessments", &self.files.assessments.path),
        ];
        if let Some(h) = &self.files.history {
            named.push(("files.history", &h.path));
        }
        if let Some(a) = &self.files.assignments {
            named.push(("files.assignments", &a.path));
        }
        if let Some(f) = &self.norms.file {
            named.push(("norms.file", f));
        }
        if let Some(r) = self.baseline.served.as_ref().and_then(|s| s.roster.as_ref()) {
            named.push(("baseline.served.roster", r));
        }
        for (key, path) in named {
            let p = std::path::Path::new(path);
            let outside = p.is_absolute()
                || p.components()
                    .any(|c| matches!(c, std::path::Component::ParentDir | std::path::Component::Prefix(_)));
            if outside {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: format!(
                        "{path:?} is outside the contract's folder; move the file next to the contract, or set \
                         [files] allow_outside = true to read it where it is"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Reporting groups: no identifier fields, no duplicates, a sensible `min_cell` and
    /// `max_group_values`, and the column mapping of extra group columns.
    fn check_reporting(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| Err(ConfigError::Invalid { key: key.into(), message });
        let r = &self.reporting;
        for (i, g) in r.groups.iter().enumerate() {
            let id_headers = IDENTIFIER_FIELDS.iter().filter_map(|f| self.columns.roster.get(*f));
            if IDENTIFIER_FIELDS.iter().any(|f| g.eq_ignore_ascii_case(f))
                || id_headers.clone().any(|h| h.eq_ignore_ascii_case(g))
            {
                return invalid(
                    "reporting.groups",
                    format!("{g:?} is an identifier column: public tables would publish its values; remove it"),
                );
            }
            if g.trim().is_empty() {
                return invalid("reporting.groups", "a group name is empty".into());
            }
            if r.groups[..i].iter().any(|h| h.eq_ignore_ascii_case(g)) {
                return invalid("reporting.groups", format!("{g:?} is listed twice"));
            }
        }
        let extra: Vec<String> = r.groups.iter().filter(|g| !STANDARD_GROUPS.contains(&g.as_str())).cloned().collect();
        self.columns.check(&extra)?;
        if !(1..=100).contains(&r.min_cell) {
            return invalid("reporting.min_cell", format!("must be in 1..=100 (got {})", r.min_cell));
        }
        if !(2..=1000).contains(&r.max_group_values) {
            return invalid("reporting.max_group_values", format!("must be in 2..=1000 (got {})", r.max_group_values));
        }
        Ok(())
    }

    fn check_thresholds(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| Err(ConfigError::Invalid { key, message });
        for (i, t) in self.thresholds.iter().enumerate() {
            let key = format!("thresholds[{i}]");
            let name = tier_label(&self.thresholds, i);
            if let Some(j) = (0..i).find(|&j| tier_label(&self.thresholds, j) == name) {
                return invalid(
                    format!("{key}.name"),
                    format!("tier name {name:?} is also the name of thresholds[{j}]; give each tier its own name"),
                );
            }
            if !t.value.is_finite() {
                return invalid(format!("{key}.value"), "must be a finite number".into());
            }
            if self.metric.kind == MetricKind::ShareMeeting && !(0.0..=1.0).contains(&t.value) {
                return invalid(
                    format!("{key}.value"),
                    format!("a share is between 0 and 1 (got {}); write 45% as 0.45", t.value),
                );
            }
            if self.metric.kind == MetricKind::ShareMeetingVsComparison && !(-1.0..=1.0).contains(&t.value) {
                return invalid(
                    format!("{key}.value"),
                    format!(
                        "a difference of shares is between -1 and 1 (got {}); write 5 percentage points as 0.05",
                        t.value
                    ),
                );
            }
            if self.metric.kind == MetricKind::MedianSgp && !(1.0..=99.0).contains(&t.value) {
                return invalid(format!("{key}.value"), format!("a median SGP is between 1 and 99 (got {})", t.value));
            }
            if i > 0 && t.value <= self.thresholds[i - 1].value {
                return invalid(
                    format!("{key}.value"),
                    format!(
                        "tiers must be in increasing order of value ({} after {})",
                        t.value,
                        self.thresholds[i - 1].value
                    ),
                );
            }
            match t.pool_share {
                Some(s) if !(s > 0.0 && s <= 1.0) => {
                    return invalid(format!("{key}.pool_share"), format!("must be in (0, 1] (got {s})"));
                }
                Some(s) if i > 0 && self.thresholds[i - 1].pool_share.is_some_and(|p| s < p) => {
                    return invalid(
                        format!("{key}.pool_share"),
                        "a higher tier cannot earn a smaller share of the pool".into(),
                    );
                }
                None if self.payment.has_pool() => {
                    return invalid(
                        format!("{key}.pool_share"),
                        "required when the payment has an outcome pool".into(),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_payment(&self) -> Result<(), ConfigError> {
        let p = &self.payment;
        let amounts = [
            ("base_fixed", p.base_fixed),
            ("base_per_student", p.base_per_student),
            ("outcome_per_student", p.outcome_per_student),
            ("outcome_pool", p.outcome_pool),
            ("outcome_pool_per_student", p.outcome_pool_per_student),
            ("penalty_per_regressed", p.penalty_per_regressed),
            ("cap", p.cap.unwrap_or(0.0)),
        ];
        for (name, v) in amounts {
            if !(v.is_finite() && v >= 0.0) {
                return Err(ConfigError::Invalid {
                    key: format!("payment.{name}"),
                    message: format!("must be a number >= 0 (got {v}); penalties are written as positive amounts"),
                });
            }
        }
        if !p.regressed_below.is_finite() {
            return Err(ConfigError::Invalid {
                key: "payment.regressed_below".into(),
                message: "must be a finite number".into(),
            });
        }
        if p.outcome_per_student > 0.0 && p.has_pool() {
            return Err(ConfigError::Invalid {
                key: "payment.outcome_pool".into(),
                message: "choose one outcome payment: per student meeting the outcome, or a pool paid by tier".into(),
            });
        }
        Ok(())
    }

    fn check_inference(&self) -> Result<(), ConfigError> {
        let r = self.inference.replicates;
        if !(100..=1_000_000).contains(&r) {
            return Err(ConfigError::Invalid {
                key: "inference.replicates".into(),
                message: format!("must be in 100..=1000000 (got {r})"),
            });
        }
        self.check_inference_method()
    }

    /// `[inference] method` against the metric and the cluster (docs/contracts.md).
    fn check_inference_method(&self) -> Result<(), ConfigError> {
        let (method, kind) = (self.inference.method, self.metric.kind);
        let invalid = |message: String| Err(ConfigError::Invalid { key: "inference.method".into(), message });
        let effect_metric = kind.is_effect();
        match method {
            InferenceMethod::Bootstrap => Ok(()),
            InferenceMethod::ClusterT if effect_metric || kind == MetricKind::MedianSgp => invalid(format!(
                "cluster_t is a t interval on cluster means, for share_meeting, mean_cgi and \
                 share_meeting_vs_comparison; metric {} takes bootstrap{}",
                kind.as_str(),
                if effect_metric { ", cr2 or wild_cluster" } else { "" }
            )),
            InferenceMethod::ClusterT if self.inference.cluster == ClusterLevel::Student => {
                invalid("cluster_t needs clusters: set [inference] cluster = \"tutor\" or \"school\"".into())
            }
            InferenceMethod::Cr2 | InferenceMethod::WildCluster if !effect_metric => invalid(format!(
                "{} applies to the effect model's provider coefficient (metrics effect_size and \
                 mean_growth_vs_comparison); metric {} takes bootstrap{}",
                method.as_str(),
                kind.as_str(),
                if kind == MetricKind::MedianSgp { "" } else { " or cluster_t" }
            )),
            InferenceMethod::WildCluster if self.decision.rule == DecisionRule::Probability => invalid(
                "wild_cluster gives p-values and an interval by test inversion, not a distribution of the \
                 metric: decision rule probability needs bootstrap or cr2 (use rule lower_bound or point with \
                 wild_cluster)"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    fn check_baseline(&self) -> Result<(), ConfigError> {
        let b = &self.baseline;
        let invalid =
            |key: &str, message: String| Err(ConfigError::Invalid { key: format!("baseline.{key}"), message });
        if b.sizes.is_empty() || b.sizes.contains(&0) {
            return invalid("sizes", "list provider sizes >= 1".into());
        }
        if b.effects.first() != Some(&0.0)
            || b.effects.windows(2).any(|w| w[1] <= w[0])
            || b.effects.iter().any(|e| !e.is_finite())
        {
            return invalid("effects", format!("must start at 0 and increase (got {:?})", b.effects));
        }
        if let Some(t) = &b.thresholds
            && (t.is_empty() || t.windows(2).any(|w| w[1] <= w[0]) || t.iter().any(|x| !x.is_finite()))
        {
            return invalid("thresholds", "must be finite and increasing".into());
        }
        if !(10..=1_000_000).contains(&b.replicates) {
            return invalid("replicates", format!("must be in 10..=1000000 (got {})", b.replicates));
        }
        if !(b.alpha > 0.0 && b.alpha < 0.5) {
            return invalid("alpha", format!("must be in (0, 0.5) (got {})", b.alpha));
        }
        if !(b.power > 0.5 && b.power < 1.0) {
            return invalid("power", format!("must be in (0.5, 1) (got {})", b.power));
        }
        if !(b.power_effect.is_finite() && b.power_effect > 0.0) {
            return invalid("power_effect", "must be > 0".into());
        }
        if b.provider_size == 0 {
            return invalid("provider_size", "must be >= 1".into());
        }
        if b.max_pre_percentile.is_some_and(|p| !(p > 0.0 && p <= 100.0)) {
            return invalid("max_pre_percentile", "must be in (0, 100]".into());
        }
        if b.weeks.is_some_and(|w| !(w.is_finite() && w > 0.0)) {
            return invalid("weeks", "must be > 0".into());
        }
        if b.comparison_size == Some(0) {
            return invalid("comparison_size", "must be >= 1".into());
        }
        self.check_population()
    }

    /// `[baseline] population` against `max_pre_percentile` and `[baseline.served]`.
    fn check_population(&self) -> Result<(), ConfigError> {
        let b = &self.baseline;
        let invalid =
            |key: &str, message: String| Err(ConfigError::Invalid { key: format!("baseline.{key}"), message });
        match b.population_kind() {
            PopulationKind::LikePre if b.max_pre_percentile.is_none() => {
                return invalid("population", "\"like_pre\" needs max_pre_percentile (e.g. 40)".into());
            }
            PopulationKind::LikeServed if b.served.is_none() => {
                return invalid(
                    "population",
                    "\"like_served\" needs [baseline.served]: a planned roster (roster = \"planned.csv\") or rules (grades, pre_percentile, groups)".into(),
                );
            }
            PopulationKind::All | PopulationKind::LikeServed if b.max_pre_percentile.is_some() => {
                return invalid(
                    "max_pre_percentile",
                    format!(
                        "applies to population = \"like_pre\" only (population is {})",
                        as_written(b.population_kind())
                    ),
                );
            }
            _ => {}
        }
        let Some(s) = &b.served else { return Ok(()) };
        if b.population_kind() != PopulationKind::LikeServed {
            return invalid(
                "served",
                format!(
                    "applies to population = \"like_served\" only (population is {})",
                    as_written(b.population_kind())
                ),
            );
        }
        match (&s.roster, s.has_rules()) {
            (Some(_), true) => {
                return invalid(
                    "served",
                    "give a planned roster or rules (grades, pre_percentile, groups), not both".into(),
                );
            }
            (None, false) => {
                return invalid(
                    "served",
                    "give a planned roster (roster = \"planned.csv\") or rules (grades, pre_percentile, groups)".into(),
                );
            }
            _ => {}
        }
        if s.roster.is_none() && s.match_groups.is_some() {
            return invalid("served.match_groups", "applies to a planned roster only".into());
        }
        if !(1..=100).contains(&s.pre_bins) {
            return invalid("served.pre_bins", format!("must be in 1..=100 (got {})", s.pre_bins));
        }
        if let Some([lo, hi]) = s.pre_percentile
            && !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo < hi && hi <= 100.0)
        {
            return invalid(
                "served.pre_percentile",
                format!("must be [low, high] with 0 <= low < high <= 100 (got [{lo}, {hi}])"),
            );
        }
        if s.grades.as_ref().is_some_and(|g| g.is_empty()) {
            return invalid("served.grades", "list at least one grade".into());
        }
        if let Some((g, _)) = s.groups.iter().find(|(_, v)| v.is_empty()) {
            return invalid(&format!("served.groups.{g}"), "list at least one value".into());
        }
        Ok(())
    }
}

/// A key's value as the contract file writes it (`"growth_vs_norm"`), for messages.
fn as_written<T: Serialize>(value: T) -> String {
    serde_json::to_value(value).map_or_else(|_| "?".into(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[contract]
name = "t"
subject = "Math"
[files]
roster = "r.csv"
sessions = "s.csv"
assessments = "a.csv"
[tests]
pre = { window = "fall" }
post = { window = "spring" }
"#;

    #[test]
    fn vendor_outcomes_name_their_measure_and_its_column() {
        let with = |o: &str| Contract::from_toml(&format!("{MINIMAL}[outcome]\n{o}\n"), "c.toml");
        let c = with("kind = \"vendor\"\nmeasure = \"conditional_growth_percentile\"\nat_least = 60").unwrap();
        assert_eq!(c.outcome.vendor_measure(), Some(VendorMeasure::ConditionalGrowthPercentile));
        assert!(!c.uses_norms(), "the vendor's measure needs no norms");
        assert_eq!(c.outcome.describe(), "the vendor's conditional growth percentile (CGP) at least 60");
        assert_eq!(c.window_pair().as_deref(), Some("fall_to_spring"));
        assert!(c.check_vendor_columns(&[VendorField::ConditionalGrowthPercentile]).is_ok());
        let e = c.check_vendor_columns(&[VendorField::ConditionalGrowthIndex]).unwrap_err().to_string();
        assert!(e.contains("outcome.measure") && e.contains("\"fall_to_spring_conditional_growth_percentile\""), "{e}");
        assert!(with("kind = \"vendor\"\nmeasure = \"met_projected_growth\"").is_ok(), "met needs no at_least");
        for (o, key) in [
            ("kind = \"vendor\"\nat_least = 60", "outcome.measure"),
            ("kind = \"vendor\"\nmeasure = \"lexile\"\nat_least = 60", "outcome.measure"),
            ("kind = \"cgp\"\nmeasure = \"conditional_growth_percentile\"\nat_least = 60", "outcome.measure"),
            ("kind = \"vendor\"\nmeasure = \"met_projected_growth\"\nat_least = 1", "outcome.at_least"),
            ("kind = \"vendor\"\nmeasure = \"diagnostic_gain\"", "outcome.at_least"),
            ("kind = \"vendor\"\nmeasure = \"conditional_growth_percentile\"\nat_least = 100", "outcome.at_least"),
        ] {
            let e = with(o).unwrap_err().to_string();
            assert!(e.contains(key), "{o}: {e}");
        }
    }

    #[test]
    fn minimal_contract_takes_documented_defaults() {
        let c = Contract::from_toml(MINIMAL, "c.toml").unwrap();
        assert_eq!(c.contract.subject.list(), vec!["math"]);
        assert_eq!(
            Subjects::Many(vec!["Math".into(), "reading".into(), "math ".into()]).list(),
            vec!["math", "reading"]
        );
        assert_eq!(c.reporting.min_cell, 10);
        assert_eq!(c.reporting.groups.len(), 5);
        assert!(c.tests.require_valid);
        assert_eq!(c.tests.retest, crate::data::schema::RetestRule::MinSemThenLatest);
        assert_eq!(c.eligibility.min_sessions, 0);
    }

    #[test]
    fn current_breaks_without_the_history_years_are_a_warning_when_conditional_norms_use_weeks() {
        let with = |files: &str, history: &str, norms: &str| {
            let text =
                MINIMAL.replace("assessments = \"a.csv\"\n", &format!("assessments = \"a.csv\"\n{files}")).replace(
                    "post = { window = \"spring\" }\n",
                    "post = { window = \"spring\" }\nbreaks = [{ from = \"2025-12-22\", to = \"2026-01-02\" }]\n",
                );
            let text = format!("{text}{history}{norms}");
            Contract::from_toml(&text, "c.toml").unwrap().warnings()
        };
        let history_file = "history = \"h.csv\"\n";
        let history_breaks = "[history]\nbreaks = [{ from = \"2024-12-22\", to = \"2025-01-02\" }]\n";
        let w = with(history_file, "", "");
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].code, WarningCode::HistoryBreaks);
        assert!(w[0].message.contains("[history]"), "{}", w[0].message);
        assert!(with(history_file, history_breaks, "").is_empty(), "the history year's breaks are named");
        assert!(with("", "", "").is_empty(), "no history file: no norms fitted on it");
        assert!(
            with(history_file, "", "[norms]\nmethod = \"sgp\"\n[outcome]\nkind = \"sgp\"\nat_least = 50\n").is_empty(),
            "SGP norms do not use weeks"
        );
        assert!(Contract::from_toml(MINIMAL, "c.toml").unwrap().warnings().is_empty(), "no breaks at all");
    }

    #[test]
    fn norms_errors_name_keys_and_values_as_the_contract_writes_them() {
        let text = format!("{MINIMAL}[norms]\nmethod = \"sgp\"\n");
        let e = Contract::from_toml(&text, "c.toml").unwrap_err().to_string();
        assert!(e.contains("outcome.kind = \"growth_vs_norm\" with metric.kind = \"share_meeting\""), "{e}");
        assert!(!e.contains("GrowthVsNorm") && !e.contains("ShareMeeting"), "no type names: {e}");
    }

    #[test]
    fn reporting_groups_remember_whether_the_contract_named_them() {
        let c = Contract::from_toml(MINIMAL, "c.toml").unwrap();
        assert!(!c.reporting.groups.named, "the default list is not named");
        let text = format!("{MINIMAL}\n[reporting]\ngroups = [\"low_income\"]\n");
        let named = Contract::from_toml(&text, "c.toml").unwrap();
        assert!(named.reporting.groups.named);
        assert_eq!(named.reporting.groups.names, vec!["low_income"]);
        // written back as a plain list, as the manifest's spec shows it
        let spec = serde_json::to_value(&named).unwrap();
        assert_eq!(spec["reporting"]["groups"], serde_json::json!(["low_income"]));
        let other = format!("{MINIMAL}\n[reporting]\nmin_cell = 5\n");
        assert!(!Contract::from_toml(&other, "c.toml").unwrap().reporting.groups.named);
    }

    #[test]
    fn decision_rules_and_outcome_kinds_read_as_words_not_type_names() {
        assert_eq!(
            DecisionRule::LowerBound.describe(0.9),
            "met when the lower end of the 90% interval reaches the threshold"
        );
        assert!(DecisionRule::LowerBound.describe(0.975).contains("97.5% interval"));
        assert!(DecisionRule::Probability.describe(0.8).ends_with("at least 0.8"));
        let text = format!("{MINIMAL}[outcome]\nkind = \"percent_typical\"\n");
        let e = Contract::from_toml(&text, "c.toml").unwrap_err().to_string();
        assert!(e.contains("\"percent_typical\"") && !e.contains("PercentTypical"), "{e}");
    }

    #[test]
    fn metric_names_are_the_contract_spelling() {
        for text in [
            "share_meeting",
            "mean_cgi",
            "median_sgp",
            "effect_size",
            "share_meeting_vs_comparison",
            "mean_growth_vs_comparison",
        ] {
            let kind: MetricKind = serde_json::from_value(serde_json::Value::String(text.into())).unwrap();
            assert_eq!(kind.as_str(), text);
        }
    }

    #[test]
    fn inference_methods_are_refused_for_metrics_and_clusters_they_do_not_fit() {
        let with = |metric: &str, inference: &str| {
            let text = format!("{MINIMAL}[metric]\nkind = \"{metric}\"\n[inference]\n{inference}\n");
            Contract::from_toml(&text, "c.toml").map(|c| c.inference.method)
        };
        let refused = |metric: &str, inference: &str, says: &str| {
            let e = with(metric, inference).unwrap_err().to_string();
            assert!(e.contains("inference.method") && e.contains(says), "{metric} {inference}: {e}");
        };
        refused("share_meeting", "method = \"cr2\"", "effect_size");
        refused("mean_cgi", "method = \"wild_cluster\"", "effect_size");
        refused("effect_size", "method = \"cluster_t\"\ncluster = \"school\"", "cr2 or wild_cluster");
        refused("share_meeting", "method = \"cluster_t\"", "cluster = \"tutor\"");
        assert_eq!(
            with("share_meeting", "method = \"cluster_t\"\ncluster = \"tutor\"").unwrap(),
            InferenceMethod::ClusterT
        );
        assert_eq!(
            with("effect_size", "method = \"wild_cluster\"\ncluster = \"school\"").unwrap(),
            InferenceMethod::WildCluster
        );
        assert_eq!(with("mean_cgi", "").unwrap(), InferenceMethod::Bootstrap);
        // both effect metrics take the tests of the effect model's coefficient
        refused("mean_growth_vs_comparison", "method = \"cluster_t\"\ncluster = \"school\"", "cr2 or wild_cluster");
        refused("share_meeting_vs_comparison", "method = \"cr2\"", "mean_growth_vs_comparison");
        for method in ["cr2", "wild_cluster"] {
            for metric in ["effect_size", "mean_growth_vs_comparison"] {
                assert_eq!(with(metric, &format!("method = \"{method}\"")).unwrap().as_str(), method);
            }
        }
        // the probability rule: t for cr2; refused for wild_cluster, which gives no distribution
        let with_rule = |method: &str| {
            let text = format!(
                "{MINIMAL}[metric]\nkind = \"effect_size\"\n[decision]\nrule = \"probability\"\n[inference]\nmethod = \"{method}\"\n"
            );
            Contract::from_toml(&text, "c.toml")
        };
        assert!(with_rule("cr2").is_ok());
        let e = with_rule("wild_cluster").unwrap_err().to_string();
        assert!(e.contains("inference.method") && e.contains("probability") && e.contains("lower_bound"), "{e}");
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = MINIMAL.replace("[tests]", "[tests]\nretset = \"latest\"");
        let e = Contract::from_toml(&text, "c.toml").unwrap_err().to_string();
        assert!(e.contains("retset") && e.contains("line 10"), "{e}");
    }

    #[test]
    fn inconsistent_rules_are_refused_with_their_key() {
        let cases = [
            (MINIMAL.replace("window = \"spring\"", "window = \"fall\""), "tests.post"),
            (
                MINIMAL
                    .replace("post = { window = \"spring\" }", "post = { from = \"2026-05-01\", to = \"2026-04-01\" }"),
                "tests.post",
            ),
            (format!("{MINIMAL}[reporting]\nmin_cell = 0\n"), "reporting.min_cell"),
            (format!("{MINIMAL}[eligibility]\nmin_minutes = -5.0\n"), "eligibility.min_minutes"),
            (MINIMAL.replace("subject = \"Math\"", "subject = \"Math\"\ngrades = [3, 20]"), "contract.grades"),
            (format!("{MINIMAL}[columns.roster]\nstudent = \"ID\"\n"), "columns.roster.student"),
        ];
        for (text, key) in cases {
            let e = Contract::from_toml(&text, "c.toml").unwrap_err().to_string();
            assert!(e.contains(key), "expected {key} in {e}");
        }
    }

    #[test]
    fn eligibility_rules_explain_themselves() {
        let d = |s: &str| Some(crate::data::date::parse_date(s).unwrap());
        let e = Eligibility { enrolled_by: Some(Date(d("2025-10-31").unwrap())), min_sessions: 20, min_minutes: 600.0 };
        assert!(e.enrolled_in_time(d("2025-10-31")).is_ok());
        assert!(e.enrolled_in_time(d("2025-11-01")).unwrap_err().to_string().contains("2025-11-01"));
        assert!(e.enrolled_in_time(None).is_err());
        assert_eq!(e.met_dosage(19, 900.0).unwrap_err().to_string(), "attended 19 sessions; the contract requires 20");
        assert!(e.met_dosage(20, 599.0).is_err());
        assert!(e.met_dosage(20, 600.0).is_ok());
    }
}
