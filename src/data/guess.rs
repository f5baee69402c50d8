//! Guessing which header of a district's file holds which field (`obc init`, README
//! "Starting a new contract: obc init").
//!
//! Headers are compared after folding case and dropping everything but letters and digits
//! (`Student_ID`, `student id` and `StudentID` all read `studentid`). A header equal to a
//! field's name is taken first; then each field's common synonyms, in order (NWEA MAP's
//! `TestRITScore`, `TermName`, `Discipline`, ...). Each header is used for one field at most.
//! Date columns are sampled to say whether they look `M/D/YYYY` (which the loader accepts,
//! README "Inputs").

use std::collections::BTreeMap;
use std::path::Path;

use super::date::parse_date;
use super::load::Source;
use super::schema::Role;
use crate::error::DataError;

/// Rows sampled per date column to tell its date form.
const DATE_SAMPLE: usize = 500;

/// The date fields of the input files.
const DATE_FIELDS: [&str; 4] = ["enroll_date", "exit_date", "session_date", "test_date"];

/// Common headers of each field (folded: lower case, letters and digits only), most
/// specific first. The field's own name is always tried before these.
fn synonyms(field: &str) -> &'static [&'static str] {
    match field {
        "student_id" => &["sid", "id", "studentnumber", "studentno", "stuid", "localid", "studentlocalid", "pupilid"],
        "school_id" => &["school", "schoolcode", "schoolnumber", "schoolno", "building", "bldg", "site", "siteid"],
        "grade" => &["gr", "gradelevel", "grd", "studentgrade", "enrolledgrade", "testgrade", "gradelevelwhenassessed"],
        "provider_id" => &["provider", "vendor", "vendorid", "providername", "tutoringprovider", "agency"],
        "tutor_id" => &["tutor", "tutorname", "staffid"],
        "enroll_date" => &["enrolldate", "enrollmentdate", "startdate", "entrydate", "enrolled", "programstartdate"],
        "exit_date" => &["exitdate", "enddate", "withdrawdate", "withdrawaldate", "programenddate"],
        "low_income" => &["frl", "frpl", "econdis", "economicallydisadvantaged", "ecodis", "lowincomestatus"],
        "race_ethnicity" => &["raceethnicity", "race", "ethnicity", "ethnicgroup"],
        "english_learner" => &["ell", "el", "lep", "emergentbilingual", "multilinguallearner", "ml"],
        "disability" => {
            &["swd", "iep", "sped", "specialeducation", "studentwithdisability", "studentswithdisabilities"]
        }
        "gender" => &["sex", "studentgender"],
        "session_date" => &["date", "sessiondt", "servicedate", "sessionday"],
        "minutes" => &["duration", "mins", "sessionminutes", "durationminutes", "minutesattended", "length"],
        "status" => &["attendance", "attendancestatus", "sessionstatus", "attended"],
        "group_size" => &["groupsz", "studentsinsession", "nstudents", "sessiongroupsize"],
        "subject" => &["discipline", "course", "contentarea", "measurementscale", "testsubject"],
        "test_date" => &["date", "assessmentdate", "teststartdate", "administrationdate", "testdt"],
        "window" => &["termname", "term", "season", "testwindow", "testingwindow", "testperiod"],
        "school_year" => &["year", "academicyear", "sy", "testyear"],
        "scale_score" => &["testritscore", "rit", "ritscore", "scaledscore", "score", "ss", "testscore"],
        "sem" => &["teststandarderror", "standarderror", "ritsem", "stderr", "se"],
        "valid" => &["isvalid", "validity", "testvalid", "validtest"],
        "pre_score" => {
            &["prescore", "fallscore", "priorscore", "baselinescore", "fallrit", "rit", "scalescore", "score"]
        }
        _ => &[],
    }
}

/// A header folded for comparison: lower case, letters and digits only.
pub fn fold(header: &str) -> String {
    header.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// field -> header guessed for a file of `role` with `headers` (module docs).
pub fn guess_headers(role: Role, headers: &[String]) -> BTreeMap<&'static str, String> {
    let folded: Vec<String> = headers.iter().map(|h| fold(h)).collect();
    let mut taken = vec![false; headers.len()];
    let mut out = BTreeMap::new();
    // The field's own name first, in every field, so that a synonym of one field (`date`)
    // never takes the header named after another.
    for f in role.fields() {
        if let Some(i) = (0..headers.len()).find(|&i| !taken[i] && folded[i] == fold(f.name)) {
            taken[i] = true;
            out.insert(f.name, headers[i].clone());
        }
    }
    for f in role.fields() {
        if out.contains_key(f.name) {
            continue;
        }
        let hit = synonyms(f.name).iter().find_map(|s| (0..headers.len()).find(|&i| !taken[i] && folded[i] == *s));
        if let Some(i) = hit {
            taken[i] = true;
            out.insert(f.name, headers[i].clone());
        }
    }
    out
}

/// How the dates of a column are written, from a sample of its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateForm {
    /// `YYYY-MM-DD` (or `YYYY/MM/DD`).
    Iso,
    /// `M/D/YYYY`: accepted as is.
    Us,
    /// Both forms: accepted, but worth a look.
    Mixed,
    /// Values that are not dates in either form (two-digit years, text): see the exceptions.
    Unreadable,
    /// No value in the sample.
    Empty,
}

impl DateForm {
    pub fn describe(self) -> &'static str {
        match self {
            DateForm::Iso => "YYYY-MM-DD",
            DateForm::Us => "M/D/YYYY (accepted as is)",
            DateForm::Mixed => "both YYYY-MM-DD and M/D/YYYY (both accepted)",
            DateForm::Unreadable => {
                "some values are not dates in YYYY-MM-DD or M/D/YYYY (two-digit years?); those rows become exceptions"
            }
            DateForm::Empty => "empty in the rows sampled",
        }
    }
}

/// The form of a sample of date texts (empty values skipped).
pub fn date_form<'a>(values: impl IntoIterator<Item = &'a str>) -> DateForm {
    let (mut iso, mut us, mut bad) = (0, 0, 0);
    for v in values.into_iter().map(str::trim).filter(|v| !v.is_empty()) {
        match parse_date(v) {
            None => bad += 1,
            Some(_) if v.get(..4).is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit())) => iso += 1,
            Some(_) => us += 1,
        }
    }
    match (iso, us, bad) {
        (_, _, b) if b > 0 => DateForm::Unreadable,
        (0, 0, _) => DateForm::Empty,
        (_, 0, _) => DateForm::Iso,
        (0, _, _) => DateForm::Us,
        _ => DateForm::Mixed,
    }
}

/// What `obc init` learned from one file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileGuess {
    pub role: Role,
    /// The file's headers, in order.
    pub headers: Vec<String>,
    /// field -> header guessed.
    pub mapping: BTreeMap<&'static str, String>,
    /// Date fields guessed, with the form of their first rows.
    pub dates: Vec<(&'static str, DateForm)>,
}

impl FileGuess {
    /// Required fields of the file without a guessed header.
    pub fn missing_required(&self) -> Vec<&'static str> {
        self.role.fields().iter().filter(|f| f.required && !self.mapping.contains_key(f.name)).map(|f| f.name).collect()
    }
}

/// Reads the header and the first rows of `path` (display name `file`) and guesses its
/// mapping as a file of `role`.
pub fn guess_file(path: &Path, file: &str, role: Role) -> Result<FileGuess, DataError> {
    let mut source = Source::open(path, file)?;
    let headers = source.headers().to_vec();
    let mapping = guess_headers(role, &headers);
    let date_cols: Vec<(&'static str, usize)> = DATE_FIELDS
        .iter()
        .filter_map(|f| mapping.get(f).and_then(|h| headers.iter().position(|x| x == h)).map(|i| (*f, i)))
        .collect();
    let mut samples: Vec<Vec<String>> = vec![Vec::new(); date_cols.len()];
    for _ in 0..DATE_SAMPLE {
        let Some(record) = source.next_record()? else { break };
        for (k, &(_, i)) in date_cols.iter().enumerate() {
            if let Some(v) = record.fields.get(i) {
                samples[k].push(v.to_string());
            }
        }
    }
    let dates =
        date_cols.iter().zip(&samples).map(|(&(f, _), s)| (f, date_form(s.iter().map(String::as_str)))).collect();
    Ok(FileGuess { role, headers, mapping, dates })
}

/// `file` as the contract in folder `dir` names it: relative to `dir` (both resolved through
/// symbolic links), `/`-separated, with `..` where the file lies outside the folder.
pub fn relative_to(dir: &Path, file: &Path) -> Result<String, DataError> {
    let canon = |p: &Path| std::fs::canonicalize(p).map_err(|error| DataError::Io { path: p.to_path_buf(), error });
    let (dir, file) = (canon(dir)?, canon(file)?);
    let d: Vec<_> = dir.components().collect();
    let f: Vec<_> = file.components().collect();
    let common = d.iter().zip(&f).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return Ok(file.to_string_lossy().into_owned());
    }
    let mut parts: Vec<String> = vec!["..".to_string(); d.len() - common];
    parts.extend(f[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nwea_export_headers_map_to_assessment_fields() {
        let headers = h(&[
            "StudentID",
            "Discipline",
            "TestStartDate",
            "TermName",
            "SchoolYear",
            "Grade",
            "TestRITScore",
            "TestStandardError",
            "Extra",
        ]);
        let g = guess_headers(Role::Assessments, &headers);
        assert_eq!(g["student_id"], "StudentID");
        assert_eq!(g["subject"], "Discipline");
        assert_eq!(g["test_date"], "TestStartDate");
        assert_eq!(g["window"], "TermName");
        assert_eq!(g["school_year"], "SchoolYear");
        assert_eq!(g["grade"], "Grade");
        assert_eq!(g["scale_score"], "TestRITScore");
        assert_eq!(g["sem"], "TestStandardError");
        assert!(!g.contains_key("valid"));
        assert!(!g.values().any(|v| v == "Extra"));
    }

    #[test]
    fn own_name_beats_a_synonym_and_each_header_is_used_once() {
        // "Date" is a synonym of session_date, but "Session Date" is the field itself.
        let g = guess_headers(Role::Sessions, &h(&["SID", "Date", "Session Date", "Duration", "Provider"]));
        assert_eq!(g["student_id"], "SID");
        assert_eq!(g["session_date"], "Session Date");
        assert_eq!(g["minutes"], "Duration");
        assert_eq!(g["provider_id"], "Provider");
        assert_eq!(g.len(), 4);
        // One header, "ID", can only be student_id once.
        let g = guess_headers(Role::Roster, &h(&["ID", "id"]));
        assert_eq!(g["student_id"], "ID");
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn case_and_punctuation_fold() {
        let g = guess_headers(Role::Roster, &h(&["Student_ID", "school id", "GRADE", "Gr"]));
        assert_eq!(g["student_id"], "Student_ID");
        assert_eq!(g["school_id"], "school id");
        assert_eq!(g["grade"], "GRADE");
        assert_eq!(g.len(), 3);
    }

    #[test]
    fn unguessable_required_fields_are_listed() {
        let g = FileGuess {
            role: Role::Assessments,
            headers: h(&["Pupil", "Points"]),
            mapping: guess_headers(Role::Assessments, &h(&["Pupil", "Points"])),
            dates: Vec::new(),
        };
        assert_eq!(g.missing_required(), vec!["student_id", "subject", "test_date", "scale_score"]);
    }

    #[test]
    fn date_forms() {
        assert_eq!(date_form(["2025-09-14", "", "2025-10-01"]), DateForm::Iso);
        assert_eq!(date_form(["9/14/2025", "10/1/2025"]), DateForm::Us);
        assert_eq!(date_form(["9/14/2025", "2025-10-01"]), DateForm::Mixed);
        assert_eq!(date_form(["9/14/25"]), DateForm::Unreadable);
        assert_eq!(date_form(["", " "]), DateForm::Empty);
    }
}
