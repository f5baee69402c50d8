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
//!
//! [columns.assessments]            # optional: field = "district header"
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

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::data::date::{Date, iso};
use crate::data::schema::{Columns, Files, IdRules, STANDARD_GROUPS, Tests};
use crate::error::ConfigError;
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
}

/// `[eligibility]`: who counts for a provider.
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `enrolled_by` | none | enroll_date (or, without one, the first session) on or before this date | date |
/// | `min_sessions` | 0 | attended sessions at least | >= 0 |
/// | `min_minutes` | 0 | attended minutes at least | >= 0 |
///
/// Comparison students (no provider) have no dosage rule.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Eligibility {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolled_by: Option<Date>,
    pub min_sessions: u32,
    pub min_minutes: f64,
}

/// Why a tutored student does not meet the eligibility rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Ineligible {
    NotEnrolledInTime { start: Option<NaiveDate>, by: NaiveDate },
    TooFewSessions { attended: u32, needed: u32 },
    TooFewMinutes { attended: f64, needed: f64 },
}

impl std::fmt::Display for Ineligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ineligible::NotEnrolledInTime { start: Some(s), by } => {
                write!(f, "enrolled {} after the contract's enrolled_by {}", iso(*s), iso(*by))
            }
            Ineligible::NotEnrolledInTime { start: None, by } => {
                write!(f, "no enroll_date and no session, so not enrolled by {}", iso(*by))
            }
            Ineligible::TooFewSessions { attended, needed } => {
                write!(f, "attended {attended} sessions; the contract requires {needed}")
            }
            Ineligible::TooFewMinutes { attended, needed } => {
                write!(f, "attended {attended} minutes; the contract requires {needed}")
            }
        }
    }
}

impl Eligibility {
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(self.min_minutes.is_finite() && self.min_minutes >= 0.0) {
            return Err(ConfigError::Invalid {
                key: "eligibility.min_minutes".into(),
                message: "must be a number >= 0".into(),
            });
        }
        Ok(())
    }

    /// Whether a student enrolled in time (`start` = enroll_date, else first session).
    pub fn enrolled_in_time(&self, start: Option<NaiveDate>) -> Result<(), Ineligible> {
        match self.enrolled_by {
            Some(by) if start.is_none_or(|s| s > by.0) => Err(Ineligible::NotEnrolledInTime { start, by: by.0 }),
            _ => Ok(()),
        }
    }

    /// Whether attended dosage meets the rule.
    pub fn met_dosage(&self, sessions: u32, minutes: f64) -> Result<(), Ineligible> {
        if sessions < self.min_sessions {
            return Err(Ineligible::TooFewSessions { attended: sessions, needed: self.min_sessions });
        }
        if minutes < self.min_minutes {
            return Err(Ineligible::TooFewMinutes { attended: minutes, needed: self.min_minutes });
        }
        Ok(())
    }
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
    pub groups: Vec<String>,
    pub min_cell: usize,
    pub attrition_boundary: Boundary,
}

impl Default for Reporting {
    fn default() -> Self {
        Reporting {
            groups: STANDARD_GROUPS.iter().map(|s| s.to_string()).collect(),
            min_cell: 10,
            attrition_boundary: Boundary::Cautious,
        }
    }
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
        c.check()?;
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
        let extra: Vec<String> =
            self.reporting.groups.iter().filter(|g| !STANDARD_GROUPS.contains(&g.as_str())).cloned().collect();
        self.columns.check(&extra)?;
        if !(1..=100).contains(&self.reporting.min_cell) {
            return invalid("reporting.min_cell", format!("must be in 1..=100 (got {})", self.reporting.min_cell));
        }
        Ok(())
    }
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
