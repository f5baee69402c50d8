//! What the data layer needs from a contract, as the plain option structs it takes: the
//! input files and the validation, preparation and history options. The data layer never
//! sees a [`Contract`] (docs/architecture.md).

use std::collections::BTreeMap;
use std::path::Path;

use super::terms::{Contract, RareValues};
use crate::data::history::HistoryOptions;
use crate::data::load::ReadSpec;
use crate::data::planned::PlannedOptions;
use crate::data::roster_rules::GroupRules;
use crate::data::schema::{FileFormat, FileRef, Role};
use crate::data::{InputFile, InputFiles, PrepareOptions, ValidateOptions};

/// The input file `file` named by `key`, relative to `base`: read as a file of `role` whose
/// headers are mapped by `columns`. An i-Ready file whose subject is neither set nor said
/// by its name is the file of the contract's subject, `subject`, when that is math or reading. A sheet named in the contract is part of the file's name
/// in messages and exceptions, as Excel writes a reference to it: `[district.xlsx]Roster`.
fn input(
    key: &str,
    file: &FileRef,
    base: &Path,
    (role, columns): (Role, &BTreeMap<String, String>),
    (pad_width, subject): (Option<usize>, &[String]),
) -> InputFile {
    use crate::data::vendor::{iready, nwea};
    // A vendor export's ID column is the vendor's (checked for lost zeros in a workbook).
    let (id_headers, format) = match file.format {
        FileFormat::Canonical => (role.id_headers(columns), file.format),
        FileFormat::NweaMap(_) => (vec![nwea::STUDENT_ID.to_string()], file.format),
        FileFormat::IreadyDiagnostic(mut opts) => {
            if opts.subject.is_none() && iready::subject_from_name(&file.path).is_none() {
                opts.subject = match subject {
                    [only] => iready::Subject::parse(only),
                    _ => None,
                };
            }
            (vec![iready::STUDENT_ID.to_string()], FileFormat::IreadyDiagnostic(opts))
        }
    };
    let spec = ReadSpec { sheet: file.sheet.clone(), id_headers, pad_width };
    let mut input = InputFile::new(key, &file.path, base).with_spec(spec).with_format(format);
    if let Some(sheet) = &file.sheet {
        input.name = format!("[{}]{sheet}", file.path);
    }
    input
}

impl Contract {
    /// The three current-year files, relative to `base` (the contract's folder), each with
    /// its sheet and the headers of its identifier columns, and the assignments file when
    /// the contract names one.
    pub fn input_files(&self, base: &Path) -> InputFiles {
        let subjects = self.contract.subject.list();
        let (c, pad) = (&self.columns, (self.ids.pad_width, subjects.as_slice()));
        InputFiles {
            roster: input("files.roster", &self.files.roster, base, (Role::Roster, &c.roster), pad),
            sessions: input("files.sessions", &self.files.sessions, base, (Role::Sessions, &c.sessions), pad),
            assessments: input(
                "files.assessments",
                &self.files.assessments,
                base,
                (Role::Assessments, &c.assessments),
                pad,
            ),
            assignments: self
                .files
                .assignments
                .as_ref()
                .map(|a| input("files.assignments", a, base, (Role::Assignments, &c.assignments), pad)),
        }
    }

    /// The history file, when the contract names one.
    pub fn history_file(&self, base: &Path) -> Option<InputFile> {
        let h = self.files.history.as_ref()?;
        let subjects = self.contract.subject.list();
        let pad = (self.ids.pad_width, subjects.as_slice());
        Some(input("files.history", h, base, (Role::History, &self.columns.history), pad))
    }

    /// The planned roster of `[baseline.served] roster`, when the contract names one.
    pub fn planned_file(&self, base: &Path) -> Option<InputFile> {
        let roster = self.baseline.served.as_ref()?.roster.as_deref()?;
        let spec = ReadSpec {
            sheet: None,
            id_headers: Role::Planned.id_headers(&self.columns.planned),
            pad_width: self.ids.pad_width,
        };
        Some(InputFile::new("baseline.served.roster", roster, base).with_spec(spec))
    }

    /// The norms file, when the contract names one (`norms.method = "file"`).
    pub fn norms_file(&self, base: &Path) -> Option<InputFile> {
        self.norms.file.as_deref().map(|n| InputFile::new("norms.file", n, base))
    }

    /// How the three current-year files are validated.
    pub fn validate_options(&self) -> ValidateOptions {
        ValidateOptions {
            columns: self.columns.clone(),
            ids: self.ids.clone(),
            providers: self.contract.providers.clone(),
            groups: self.reporting.groups.names.clone(),
            required_test_fields: self.required_test_fields(),
            comparison_values: self.contract.comparison_values.clone(),
            group_rules: GroupRules {
                named: self.reporting.groups.named,
                max_values: self.reporting.max_group_values,
                min_count: self.reporting.min_cell,
                combine_rare: self.reporting.rare_values == RareValues::Combine,
            },
            score_ranges: self.limits.ranges(),
            vendor_pair: self.window_pair(),
            subjects: self.contract.subject.list(),
        }
    }

    /// Assessment fields the contract's test windows use: `window` when a window is chosen
    /// by label, `school_year` when by school year.
    fn required_test_fields(&self) -> Vec<String> {
        let specs = [&self.tests.pre, &self.tests.post];
        let mut out = Vec::new();
        if specs.iter().any(|w| w.window.is_some()) {
            out.push("window".to_string());
        }
        if specs.iter().any(|w| w.school_year.is_some()) {
            out.push("school_year".to_string());
        }
        out
    }

    /// How validated rows are joined into the analytic file.
    pub fn prepare_options(&self) -> PrepareOptions {
        PrepareOptions {
            subjects: self.contract.subject.list(),
            providers: self.contract.providers.clone(),
            grades: self.contract.grades.clone(),
            tests: self.tests.clone(),
            eligibility: self.eligibility.clone(),
            boundary: self.reporting.attrition_boundary,
        }
    }

    /// How the history file is read: the contract's subjects and grades, the history
    /// windows, columns, ID rules, reporting groups and score ranges.
    pub fn history_options(&self) -> HistoryOptions {
        HistoryOptions {
            subjects: self.contract.subject.list(),
            grades: self.contract.grades.clone(),
            tests: self.history.tests(&self.tests),
            columns: self.columns.history.clone(),
            ids: self.ids.clone(),
            groups: self.reporting.groups.names.clone(),
            score_ranges: self.limits.ranges(),
        }
    }

    /// How the planned roster is read: `[columns.planned]`, the ID rules, the reporting
    /// groups and any `match_groups`, and the score range of the contract's (first) subject.
    pub fn planned_options(&self) -> PlannedOptions {
        let mut groups = self.reporting.groups.names.clone();
        if let Some(m) = self.baseline.served.as_ref().and_then(|s| s.match_groups.as_ref()) {
            groups.extend(m.iter().filter(|g| !groups.contains(g)).cloned().collect::<Vec<_>>());
        }
        let subject = self.contract.subject.list().first().map(|s| s.trim().to_ascii_lowercase()).unwrap_or_default();
        PlannedOptions {
            columns: self.columns.planned.clone(),
            ids: self.ids.clone(),
            groups,
            range: *self.limits.ranges().of(&subject),
        }
    }
}
