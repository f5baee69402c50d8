//! The input schema: which fields each file has, which are required, and how a district's
//! headers map onto them (`[columns]`, with `[columns.roster]`, `[columns.sessions]`, ... per file).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use super::date::{Date, iso};
use crate::error::ConfigError;

/// The role a file plays in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Roster,
    Sessions,
    Assessments,
    History,
    /// The planned roster of `[baseline.served] roster`: students a district plans to serve.
    Planned,
    /// A data file given to an analysis command (e.g. `obc norms fit --data`).
    Data,
    /// The per-subject provider assignments of `[files] assignments` ([`super::assignments`]).
    Assignments,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Roster => "roster",
            Role::Sessions => "sessions",
            Role::Assessments => "assessments",
            Role::History => "history",
            Role::Planned => "planned",
            Role::Data => "data",
            Role::Assignments => "assignments",
        }
    }

    /// The fields of this file, in the order of the documentation.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Role::Roster => ROSTER,
            Role::Sessions => SESSIONS,
            Role::Assessments => ASSESSMENTS,
            Role::History => HISTORY,
            Role::Planned => PLANNED,
            Role::Data => &[],
            Role::Assignments => ASSIGNMENTS,
        }
    }

    /// The headers of this file's identifier fields (`student_id`, `provider_id`,
    /// `tutor_id`, `school_id`) under `mapping` (field -> header; unmapped: the field name).
    pub fn id_headers(self, mapping: &BTreeMap<String, String>) -> Vec<String> {
        const IDS: [&str; 4] = ["student_id", "provider_id", "tutor_id", "school_id"];
        let ids = self.fields().iter().filter(|f| IDS.contains(&f.name));
        ids.map(|f| mapping.get(f.name).map_or(f.name, |h| h.trim()).to_string()).collect()
    }
}

/// One field of an input file.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
    pub meaning: &'static str,
}

const fn req(name: &'static str, meaning: &'static str) -> Field {
    Field { name, required: true, meaning }
}
const fn opt(name: &'static str, meaning: &'static str) -> Field {
    Field { name, required: false, meaning }
}

/// The standard equity-group columns of the roster (NSSA minimum metrics).
pub const STANDARD_GROUPS: [&str; 5] = ["low_income", "race_ethnicity", "english_learner", "disability", "gender"];

pub const ROSTER: &[Field] = &[
    req("student_id", "student identifier, read as text (leading zeros kept)"),
    req("school_id", "school identifier"),
    req("grade", "grade level, -1..=13 (K = 0, PK = -1)"),
    opt("provider_id", "tutoring provider; empty = comparison (not tutored)"),
    opt("tutor_id", "assigned tutor"),
    opt("enroll_date", "date the student entered tutoring"),
    opt("exit_date", "date the student left tutoring"),
    opt("low_income", "equity group"),
    opt("race_ethnicity", "equity group"),
    opt("english_learner", "equity group"),
    opt("disability", "equity group"),
    opt("gender", "equity group"),
];

pub const SESSIONS: &[Field] = &[
    req("student_id", "student identifier"),
    opt("provider_id", "provider that delivered the session; empty = the roster's provider"),
    opt("tutor_id", "tutor who delivered the session"),
    req("session_date", "date of the session"),
    req("minutes", "minutes of tutoring, 0-600"),
    opt("status", "attended / absent / cancelled (empty = attended)"),
    opt("group_size", "students in the session, 1-50"),
];

pub const ASSESSMENTS: &[Field] = &[
    req("student_id", "student identifier"),
    req("subject", "subject, e.g. math or reading"),
    req("test_date", "date the test was taken"),
    opt("window", "test window label: fall, winter, spring or the district's own"),
    opt("school_year", "school year label, e.g. 2025-26"),
    opt("grade", "grade when tested"),
    req("scale_score", "scale score (e.g. RIT)"),
    opt("sem", "standard error of measurement of the score"),
    opt("valid", "validity flag (true/false, 1/0, Y/N); empty = valid"),
];

pub const PLANNED: &[Field] = &[
    req("student_id", "student identifier, read as text (leading zeros kept)"),
    req("grade", "grade the student will be in, -1..=13"),
    req("pre_score", "the student's latest scale score on the contract's test (e.g. the fall or prior spring score)"),
    opt("school_id", "school identifier"),
    opt("low_income", "equity group"),
    opt("race_ethnicity", "equity group"),
    opt("english_learner", "equity group"),
    opt("disability", "equity group"),
    opt("gender", "equity group"),
];

pub const ASSIGNMENTS: &[Field] = &[
    req("student_id", "student identifier, as on the roster"),
    req("subject", "subject the assignment is for, e.g. math or reading"),
    req("provider_id", "provider tutoring the student in this subject; empty = not tutored in it (comparison)"),
    opt("tutor_id", "tutor in this subject"),
    opt("enroll_date", "date the student entered tutoring in this subject"),
    opt("exit_date", "date the student left tutoring in this subject"),
];

pub const HISTORY: &[Field] = &[
    req("student_id", "student identifier"),
    opt("school_id", "school identifier"),
    req("subject", "subject"),
    req("test_date", "date the test was taken"),
    opt("window", "test window label"),
    opt("school_year", "school year label"),
    opt("grade", "grade when tested"),
    req("scale_score", "scale score"),
    opt("sem", "standard error of measurement"),
    opt("valid", "validity flag"),
    opt("low_income", "equity group"),
    opt("race_ethnicity", "equity group"),
    opt("english_learner", "equity group"),
    opt("disability", "equity group"),
    opt("gender", "equity group"),
];

/// An input file as the contract names it: a path relative to the contract
/// (`roster = "roster.csv"`), or a table with the path and, for an Excel workbook, the sheet
/// to read (`roster = { path = "district.xlsx", sheet = "Roster" }`; no sheet: the first),
/// and for an assessments or history file the layout it is in
/// (`assessments = { path = "AssessmentResults.csv", format = "nwea_map" }`, README
/// "Settle a contract straight from a MAP export"). Written back as a plain path when
/// neither a sheet nor a vendor format is named.
#[derive(Clone, Debug, PartialEq)]
pub struct FileRef {
    pub path: String,
    pub sheet: Option<String>,
    pub format: FileFormat,
}

/// The layout of an input file: `obc`'s own (canonical) columns, or a vendor's export read
/// by its reader in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum FileFormat {
    #[default]
    Canonical,
    /// An NWEA MAP Growth assessment results export ([`super::vendor::nwea`]), with the
    /// reader's options: the rapid-guessing limit and where the subject comes from.
    NweaMap(super::vendor::nwea::Options),
    /// An i-Ready Diagnostic results export of one subject ([`super::vendor::iready`]), with
    /// its subject when the contract sets it.
    IreadyDiagnostic(super::vendor::iready::Options),
}

/// The `format` values, as the contract spells them.
pub const FILE_FORMATS: [&str; 3] = ["canonical", "nwea_map", "iready_diagnostic"];

impl FileFormat {
    /// The name written in the contract.
    pub fn name(&self) -> &'static str {
        match self {
            FileFormat::Canonical => FILE_FORMATS[0],
            FileFormat::NweaMap(_) => FILE_FORMATS[1],
            FileFormat::IreadyDiagnostic(_) => FILE_FORMATS[2],
        }
    }

    pub fn is_vendor(&self) -> bool {
        !matches!(self, FileFormat::Canonical)
    }
}

impl FileRef {
    /// A path with no sheet named, in the canonical layout.
    pub fn path(path: &str) -> FileRef {
        FileRef { path: path.into(), sheet: None, format: FileFormat::Canonical }
    }
}

/// The table form of [`FileRef`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTable {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sheet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    /// `nwea_map`: a test whose RapidGuessingPercentage is above this (0-100) is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_rapid_guessing: Option<f64>,
    /// `nwea_map`: `subject` (default) or `course`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject_from: Option<String>,
    /// `iready_diagnostic`: the file's subject, `math` or `reading` (`ela`); default: the
    /// one the file's name says, else the contract's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
}

impl FileTable {
    /// The file reference this table names; the error is the message.
    fn into_ref(self) -> Result<FileRef, String> {
        use super::vendor::nwea::{Options, SubjectFrom};
        if self.sheet.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err("sheet is empty: name the sheet, or leave it out to read the first".into());
        }
        let format = self.format.as_deref().unwrap_or(FILE_FORMATS[0]);
        let options = [
            ("max_rapid_guessing", "nwea_map", self.max_rapid_guessing.is_some()),
            ("subject_from", "nwea_map", self.subject_from.is_some()),
            ("subject", "iready_diagnostic", self.subject.is_some()),
        ];
        // (an unknown format is refused below, for itself)
        if FILE_FORMATS.contains(&format)
            && let Some((key, of, _)) = options.iter().find(|(_, of, given)| *given && *of != format)
        {
            let layout = if format == "canonical" { "the canonical layout".to_string() } else { format!("{format:?}") };
            return Err(format!("{key} is an option of format = \"{of}\", not of {layout}"));
        }
        match format {
            "canonical" => Ok(FileRef { path: self.path, sheet: self.sheet, format: FileFormat::Canonical }),
            "nwea_map" => {
                if let Some(p) = self.max_rapid_guessing.filter(|p| !(0.0..=100.0).contains(p)) {
                    return Err(format!("max_rapid_guessing = {p}: give a percentage from 0 to 100"));
                }
                let subject_from = match self.subject_from.as_deref() {
                    None | Some("subject") => SubjectFrom::Subject,
                    Some("course") => SubjectFrom::Course,
                    Some(other) => {
                        return Err(format!("subject_from = {other:?} is not known: use \"subject\" or \"course\""));
                    }
                };
                let opts = Options { subject_from, max_rapid_guessing: self.max_rapid_guessing };
                Ok(FileRef { path: self.path, sheet: self.sheet, format: FileFormat::NweaMap(opts) })
            }
            "iready_diagnostic" => {
                let subject = match self.subject.as_deref() {
                    None => None,
                    Some(s) => Some(super::vendor::iready::Subject::parse(s).ok_or_else(|| {
                        format!("subject = {s:?} is not an i-Ready Diagnostic subject: use \"math\" or \"reading\"")
                    })?),
                };
                let opts = super::vendor::iready::Options { subject };
                Ok(FileRef { path: self.path, sheet: self.sheet, format: FileFormat::IreadyDiagnostic(opts) })
            }
            other => Err(format!(
                "format = {other:?} is not a known layout: use one of {}",
                FILE_FORMATS.map(|f| format!("{f:?}")).join(", ")
            )),
        }
    }
}

impl Serialize for FileRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = FileTable {
            path: self.path.clone(),
            sheet: self.sheet.clone(),
            format: None,
            max_rapid_guessing: None,
            subject_from: None,
            subject: None,
        };
        match self.format {
            FileFormat::Canonical if self.sheet.is_none() => return s.serialize_str(&self.path),
            FileFormat::Canonical => {}
            FileFormat::NweaMap(o) => {
                t.format = Some(self.format.name().into());
                t.max_rapid_guessing = o.max_rapid_guessing;
                t.subject_from = (o.subject_from == super::vendor::nwea::SubjectFrom::Course).then(|| "course".into());
            }
            FileFormat::IreadyDiagnostic(o) => {
                t.format = Some(self.format.name().into());
                t.subject = o.subject.map(|x| x.as_str().into());
            }
        }
        t.serialize(s)
    }
}

impl<'de> Deserialize<'de> for FileRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FileRef, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = FileRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path, or a table { path = \"...\", sheet = \"...\", format = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FileRef, E> {
                Ok(FileRef::path(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<FileRef, A::Error> {
                let t = FileTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                t.into_ref().map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Input files, as paths relative to the configuration file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Files {
    pub roster: FileRef,
    pub sessions: FileRef,
    pub assessments: FileRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<FileRef>,
    /// Per-subject providers: overrides the roster's provider, tutor and dates for a student
    /// and subject (README "Per-subject providers").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignments: Option<FileRef>,
    /// Allow input paths outside the contract's folder (`..` or absolute).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_outside: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Plausible range of scale scores and SEMs for one subject, inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub score: [f64; 2],
    pub sem: [f64; 2],
}

/// Plausible ranges by subject (lower-case names), with a default for other subjects.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRanges {
    pub default: ScoreRange,
    pub subjects: BTreeMap<String, ScoreRange>,
}

impl Default for ScoreRanges {
    /// Wide but finite: scores 1..=9999, SEMs up to 100 (README "Limits").
    fn default() -> Self {
        ScoreRanges { default: ScoreRange { score: [1.0, 9999.0], sem: [0.0, 100.0] }, subjects: BTreeMap::new() }
    }
}

impl ScoreRanges {
    /// The range of a (lower-case) subject.
    pub fn of(&self, subject: &str) -> &ScoreRange {
        self.subjects.get(subject).unwrap_or(&self.default)
    }
}

/// Header of each field in each file, where the district's header differs from the field
/// name. Unmapped fields are looked up by their own name (case-insensitive).
///
/// In the contract, a top-level key of `[columns]` (`student_id = "StudentID"`) maps that
/// field in every file that has it (and a key that is an extra reporting group in the roster,
/// history and planned files); `[columns.roster]` and the other per-file tables override it
/// for one file. Parsing resolves the shared keys into the per-file maps, which are what
/// loading uses and what the results echo; `shared` keeps them for [`Columns::check`].
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Columns {
    pub roster: BTreeMap<String, String>,
    pub sessions: BTreeMap<String, String>,
    pub assessments: BTreeMap<String, String>,
    pub history: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub planned: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub assignments: BTreeMap<String, String>,
    /// The top-level keys of `[columns]` as written (already applied to the per-file maps).
    #[serde(skip)]
    pub shared: BTreeMap<String, String>,
}

/// The files a `[columns]` table may name, in the order of the documentation.
pub const COLUMN_ROLES: [Role; 6] =
    [Role::Roster, Role::Sessions, Role::Assessments, Role::History, Role::Planned, Role::Assignments];

/// Whether `role`'s file has the field `key`, or may carry it as an extra reporting group.
fn role_takes(role: Role, key: &str, extra_groups: Option<&[String]>) -> bool {
    let group_file = matches!(role, Role::Roster | Role::History | Role::Planned);
    role.fields().iter().any(|f| f.name == key)
        || (group_file && extra_groups.is_none_or(|g| g.iter().any(|g| g == key)))
}

impl Columns {
    pub fn for_role(&self, role: Role) -> &BTreeMap<String, String> {
        match role {
            Role::Roster => &self.roster,
            Role::Sessions => &self.sessions,
            Role::Assessments => &self.assessments,
            Role::History => &self.history,
            Role::Planned => &self.planned,
            Role::Assignments => &self.assignments,
            Role::Data => {
                static NONE: BTreeMap<String, String> = BTreeMap::new();
                &NONE
            }
        }
    }

    fn for_role_mut(&mut self, role: Role) -> Option<&mut BTreeMap<String, String>> {
        match role {
            Role::Roster => Some(&mut self.roster),
            Role::Sessions => Some(&mut self.sessions),
            Role::Assessments => Some(&mut self.assessments),
            Role::History => Some(&mut self.history),
            Role::Planned => Some(&mut self.planned),
            Role::Assignments => Some(&mut self.assignments),
            Role::Data => None,
        }
    }

    /// Applies the shared keys to every file that has the field (a key that is a field of
    /// no file goes to the files that carry reporting groups, as an extra group column),
    /// where that file's own table does not map it.
    pub fn apply_shared(&mut self) {
        let shared = self.shared.clone();
        let of_some_file = |k: &str| COLUMN_ROLES.iter().any(|r| r.fields().iter().any(|f| f.name == k));
        for (key, header) in &shared {
            let extra = if of_some_file(key) { Some(&[][..]) } else { None };
            for role in COLUMN_ROLES {
                if role_takes(role, key, extra)
                    && let Some(map) = self.for_role_mut(role)
                {
                    map.entry(key.clone()).or_insert_with(|| header.clone());
                }
            }
        }
    }

    /// Every mapped key must be a field of its file (or a declared extra group column); a
    /// shared key must be a field of some file (or a declared extra group column).
    pub fn check(&self, extra_groups: &[String]) -> Result<(), ConfigError> {
        for key in self.shared.keys() {
            if !COLUMN_ROLES.iter().any(|&r| role_takes(r, key, Some(extra_groups))) {
                let mut names: Vec<&str> = Vec::new();
                for f in COLUMN_ROLES.iter().flat_map(|r| r.fields()) {
                    if !names.contains(&f.name) {
                        names.push(f.name);
                    }
                }
                return Err(ConfigError::Invalid {
                    key: format!("columns.{key}"),
                    message: format!(
                        "`{key}` is not a field of any file (nor a reporting group of `[reporting] groups`); fields \
                         are {names:?}; per-file tables are {:?}",
                        COLUMN_ROLES.map(Role::name)
                    ),
                });
            }
        }
        for role in COLUMN_ROLES {
            for key in self.for_role(role).keys() {
                if !role_takes(role, key, Some(extra_groups)) {
                    let names: Vec<&str> = role.fields().iter().map(|f| f.name).collect();
                    return Err(ConfigError::Invalid {
                        key: format!("columns.{}.{key}", role.name()),
                        message: format!("`{key}` is not a field of the {} file; fields are {names:?}", role.name()),
                    });
                }
            }
        }
        Ok(())
    }
}

/// One entry of `[columns]`: a shared header or a per-file table.
enum ColumnsEntry {
    Header(String),
    Table(BTreeMap<String, String>),
}

impl<'de> Deserialize<'de> for ColumnsEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ColumnsEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header name (text) or a per-file table")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ColumnsEntry, E> {
                Ok(ColumnsEntry::Header(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ColumnsEntry, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(ColumnsEntry::Table)
            }
        }
        d.deserialize_any(Visit)
    }
}

impl<'de> Deserialize<'de> for Columns {
    /// `[columns]`: per-file tables (`roster`, `sessions`, `assessments`, `history`,
    /// `planned`, `assignments`) and shared keys (`field = "header"`), resolved by [`Columns::apply_shared`].
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let entries = BTreeMap::<String, ColumnsEntry>::deserialize(d)?;
        let mut c = Columns::default();
        for (key, entry) in entries {
            let role = COLUMN_ROLES.into_iter().find(|r| r.name() == key);
            match (role, entry) {
                (Some(role), ColumnsEntry::Table(t)) => {
                    *c.for_role_mut(role).expect("a file role") = t;
                }
                (Some(role), ColumnsEntry::Header(_)) => {
                    return Err(D::Error::custom(format!(
                        "`columns.{key}` must be a table of the {} file's headers ([columns.{key}] field = \"header\")",
                        role.name()
                    )));
                }
                (None, ColumnsEntry::Header(h)) => {
                    c.shared.insert(key, h);
                }
                (None, ColumnsEntry::Table(_)) => {
                    return Err(D::Error::custom(format!(
                        "unknown table `[columns.{key}]`; the per-file tables are {:?}, and a key of [columns] \
                         itself maps a field in every file (field = \"header\")",
                        COLUMN_ROLES.map(Role::name)
                    )));
                }
            }
        }
        c.apply_shared();
        Ok(c)
    }
}

/// Which test counts as the pre- or post-test: by window label, by date range, or both.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `window` | none | the test's window label must equal this (case-insensitive) |
/// | `from`, `to` | none | the test date must lie in [from, to] |
/// | `school_year` | none | the test's school_year must equal this |
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school_year: Option<String>,
}

impl WindowSpec {
    pub fn check(&self, key: &str) -> Result<(), ConfigError> {
        if self.window.is_none() && self.from.is_none() && self.to.is_none() {
            return Err(ConfigError::Invalid {
                key: key.into(),
                message: "give a window label (window = \"fall\") or a date range (from, to)".into(),
            });
        }
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err(ConfigError::Invalid {
                key: key.into(),
                message: format!("`from` {} is after `to` {}", super::date::iso(f.0), super::date::iso(t.0)),
            });
        }
        Ok(())
    }
}

impl std::fmt::Display for RetestRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RetestRule::MinSemThenLatest => "min_sem_then_latest",
            RetestRule::Latest => "latest",
            RetestRule::Earliest => "earliest",
        })
    }
}

/// How to choose one test when a student has several tests in a window. A valid test is
/// always preferred to one flagged invalid (only relevant with `require_valid = false`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RetestRule {
    /// The test with the smallest SEM (NWEA's rule); a test without an SEM ranks after every
    /// test with one; ties go to the latest date, then the later row.
    #[default]
    MinSemThenLatest,
    /// The latest test in the window.
    Latest,
    /// The earliest test in the window.
    Earliest,
}

/// A period without instruction (winter break), left out of instructional weeks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Break {
    pub from: Date,
    pub to: Date,
}

/// Test selection rules.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `pre`, `post` | required | [`WindowSpec`] of each test |
/// | `retest` | `min_sem_then_latest` | [`RetestRule`] |
/// | `require_valid` | true | tests flagged invalid never count |
/// | `breaks` | [] | non-instructional periods subtracted from weeks between tests |
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tests {
    pub pre: WindowSpec,
    pub post: WindowSpec,
    #[serde(default)]
    pub retest: RetestRule,
    #[serde(default = "yes")]
    pub require_valid: bool,
    #[serde(default)]
    pub breaks: Vec<Break>,
}

fn yes() -> bool {
    true
}

/// Identifier rules.
///
/// | field | default | meaning |
/// |---|---|---|
/// | `pad_width` | none | left-pad all-digit student IDs shorter than this with zeros, in every file (repairs IDs that a spreadsheet turned into numbers) |
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdRules {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pad_width: Option<usize>,
}

impl IdRules {
    pub fn check(&self) -> Result<(), ConfigError> {
        if let Some(w) = self.pad_width
            && !(1..=64).contains(&w)
        {
            return Err(ConfigError::Invalid {
                key: "ids.pad_width".into(),
                message: format!("must be in 1..=64 (got {w})"),
            });
        }
        Ok(())
    }

    /// Applies the padding rule to one ID (borrowed unless it is padded).
    pub fn normalize<'a>(&self, id: &'a str) -> std::borrow::Cow<'a, str> {
        let id = id.trim();
        match self.pad_width {
            Some(w) if id.len() < w && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                std::borrow::Cow::Owned(format!("{id:0>w$}"))
            }
            _ => std::borrow::Cow::Borrowed(id),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_a_path_or_a_path_with_a_sheet() {
        let files: Files = toml::from_str(
            "roster = { path = \"d.xlsx\", sheet = \"Roster\" }\nsessions = \"s.csv\"\n\
             assessments = { path = \"a.xlsx\" }\nhistory = \"h.xlsx\"\n",
        )
        .unwrap();
        assert_eq!(files.roster, FileRef { sheet: Some("Roster".into()), ..FileRef::path("d.xlsx") });
        assert_eq!((files.sessions, files.assessments.clone()), (FileRef::path("s.csv"), FileRef::path("a.xlsx")));
        // written back as it was given: a plain path without a sheet
        assert_eq!(serde_json::to_string(&files.assessments).unwrap(), "\"a.xlsx\"");
        let with_sheet = serde_json::to_string(&files.roster).unwrap();
        assert_eq!(with_sheet, r#"{"path":"d.xlsx","sheet":"Roster"}"#);
        for bad in
            ["{ path = \"d.xlsx\", tab = \"R\" }", "{ path = \"d.xlsx\", sheet = \" \" }", "{ sheet = \"R\" }", "3"]
        {
            let text = format!("roster = {bad}\nsessions = \"s\"\nassessments = \"a\"\n");
            assert!(toml::from_str::<Files>(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_vendor_format_and_its_options_are_read_and_checked() {
        use crate::data::vendor::nwea::{Options, SubjectFrom};
        let parse =
            |a: &str| toml::from_str::<Files>(&format!("roster = \"r\"\nsessions = \"s\"\nassessments = {a}\n"));
        let f =
            parse("{ path = \"AR.csv\", format = \"nwea_map\", max_rapid_guessing = 30, subject_from = \"course\" }")
                .unwrap();
        let opts = Options { subject_from: SubjectFrom::Course, max_rapid_guessing: Some(30.0) };
        assert_eq!(f.assessments.format, FileFormat::NweaMap(opts));
        let back = serde_json::to_string(&f.assessments).unwrap();
        assert_eq!(back, r#"{"path":"AR.csv","format":"nwea_map","max_rapid_guessing":30.0,"subject_from":"course"}"#);
        let plain = parse("{ path = \"a.csv\", format = \"canonical\" }").unwrap();
        assert_eq!(plain.assessments, FileRef::path("a.csv"));
        let e = parse("{ path = \"a.csv\", format = \"nwea\" }").unwrap_err().to_string();
        assert!(e.contains("format = \"nwea\"") && e.contains("\"canonical\", \"nwea_map\""), "{e}");
        let e = parse("{ path = \"a.csv\", max_rapid_guessing = 30 }").unwrap_err().to_string();
        assert!(e.contains("max_rapid_guessing is an option of format = \"nwea_map\""), "{e}");
        for bad in ["max_rapid_guessing = 130", "subject_from = \"discipline\""] {
            assert!(parse(&format!("{{ path = \"a.csv\", format = \"nwea_map\", {bad} }}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_iready_format_takes_a_subject_and_only_its_own_options() {
        use crate::data::vendor::iready::{Options, Subject};
        let parse =
            |a: &str| toml::from_str::<Files>(&format!("roster = \"r\"\nsessions = \"s\"\nassessments = {a}\n"));
        let f = parse("{ path = \"d.csv\", format = \"iready_diagnostic\", subject = \"ela\" }").unwrap();
        assert_eq!(f.assessments.format, FileFormat::IreadyDiagnostic(Options { subject: Some(Subject::Reading) }));
        let back = serde_json::to_string(&f.assessments).unwrap();
        assert_eq!(back, r#"{"path":"d.csv","format":"iready_diagnostic","subject":"reading"}"#);
        let plain = parse("{ path = \"diagnostic_results_math.csv\", format = \"iready_diagnostic\" }").unwrap();
        assert_eq!(plain.assessments.format, FileFormat::IreadyDiagnostic(Options { subject: None }));
        assert_eq!(plain.assessments.format.name(), "iready_diagnostic");
        let e = parse("{ path = \"a.csv\", format = \"iready_diagnostic\", subject = \"science\" }").unwrap_err();
        assert!(e.to_string().contains("use \"math\" or \"reading\""), "{e}");
        let e = parse("{ path = \"a.csv\", format = \"iready_diagnostic\", max_rapid_guessing = 30 }").unwrap_err();
        assert!(
            e.to_string()
                .contains("max_rapid_guessing is an option of format = \"nwea_map\", not of \"iready_diagnostic\""),
            "{e}"
        );
        let e = parse("{ path = \"a.csv\", format = \"nwea_map\", subject = \"math\" }").unwrap_err();
        assert!(e.to_string().contains("subject is an option of format = \"iready_diagnostic\""), "{e}");
        let e = parse("{ path = \"a.csv\", subject = \"math\" }").unwrap_err();
        assert!(e.to_string().contains("not of the canonical layout"), "{e}");
    }

    #[test]
    fn padding_touches_only_short_all_digit_ids() {
        let r = IdRules { pad_width: Some(6) };
        assert_eq!(r.normalize("4512"), "004512");
        assert_eq!(r.normalize("004512"), "004512");
        assert_eq!(r.normalize("A4512"), "A4512");
        assert_eq!(r.normalize("1234567"), "1234567");
        assert_eq!(IdRules::default().normalize(" 0045 "), "0045");
    }

    #[test]
    fn unknown_column_keys_are_named() {
        let mut c = Columns::default();
        c.sessions.insert("minutez".into(), "Mins".into());
        let e = c.check(&[]).unwrap_err().to_string();
        assert!(e.contains("columns.sessions.minutez"), "{e}");
        let mut c = Columns::default();
        c.roster.insert("homeroom".into(), "HR".into());
        assert!(c.check(&["homeroom".into()]).is_ok());
    }

    #[test]
    fn every_role_has_student_id_required() {
        for role in [Role::Roster, Role::Sessions, Role::Assessments, Role::History] {
            assert!(role.fields().iter().any(|f| f.name == "student_id" && f.required), "{role:?}");
        }
    }
}
