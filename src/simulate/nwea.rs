//! A simulated district's tests as NWEA MAP Growth exports (`obc simulate --format nwea`,
//! README "Settle a contract straight from a MAP export").
//!
//! The current year's tests are written as the Comprehensive Data File's
//! `AssessmentResults.csv` (all 143 columns, in the export's order); the history as the
//! combined student + assessment file `ComboStudentAssessment.csv`, the MAP layout that
//! carries the student's grade, which the history's norms need. Scores, SEMs, dates and IDs
//! are the canonical files' own, so the MAP district settles exactly as the canonical one.
//!
//! The simulator's invalid tests are rapid-guessed tests: in `AssessmentResults.csv` they
//! have a `RapidGuessingPercentage` above [`RAPID_GUESSING_LIMIT`] (every valid test is at
//! or below it), and the written contract sets that limit. MAP does not export a test
//! invalidated in MAP, and the combined file has no rapid-guessing column, so the history's
//! invalid tests are not in `ComboStudentAssessment.csv`.
//!
//! The other columns hold plausible values drawn from ChaCha8 stream 3 of the seed (the
//! district itself is drawn before, from its own streams, and does not change):
//! percentiles and achievement quintiles of the score within the simulator's own grade
//! norms (fall mean `μ_g`, growth `γ_g` by the season), the vendor's growth measures for
//! the windows within the school year (fall to winter, fall to spring, winter to spring) on
//! the start term's row, goal scores, test times and durations. Growth across school years
//! (fall to fall, winter to winter, spring to spring) is left empty: its end test is not in
//! the export.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::generate::District;
use super::model::{FALL_MEAN, GRADES, GROWTH, GROWTH_NOISE_SD, SCALE_SD};
use super::rng::Rng;
use super::rows::{AssessmentRow, HistoryRow, RosterRow};
use super::spec::SimSpec;
use crate::data::output::OutputDir;
use crate::error::OutputError;
use crate::stats::normal::pnorm;

/// File names written by [`write_nwea`], in the order of the returned paths.
pub const NWEA_FILE_NAMES: [&str; 5] =
    ["roster.csv", "sessions.csv", "AssessmentResults.csv", "ComboStudentAssessment.csv", "truth.json"];

/// The rapid-guessing limit of the written contract: a simulated invalid test is above it,
/// a valid one at or below.
pub const RAPID_GUESSING_LIMIT: f64 = 30.0;

/// The growth windows of the Comprehensive Data File, in its column order.
const WINDOWS: [&str; 6] =
    ["FallToFall", "FallToWinter", "FallToSpring", "WinterToWinter", "WinterToSpring", "SpringToSpring"];
const SUFFIXES: [&str; 7] = [
    "ProjectedGrowth",
    "ObservedGrowth",
    "ObservedGrowthSE",
    "MetProjectedGrowth",
    "ConditionalGrowthIndex",
    "ConditionalGrowthPercentile",
    "GrowthQuintile",
];

/// The 143 columns of the current Comprehensive Data File `AssessmentResults.csv`, in order.
pub fn assessment_results_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "TermName",
        "DistrictName",
        "District_StateID",
        "SchoolName",
        "School_StateID",
        "StudentID",
        "Student_StateID",
        "Subject",
        "Course",
        "GrowthMeasureYN",
        "NormsReferenceData",
        "WISelectedAYFall",
        "WISelectedAYWinter",
        "WISelectedAYSpring",
        "WIPreviousAYFall",
        "WIPreviousAYWinter",
        "WIPreviousAYSpring",
        "TestType",
        "TestName",
        "TestID",
        "TestStartDate",
        "TestStartTime",
        "TestDurationMinutes",
        "TestRITScore",
        "TestStandardError",
        "TestPercentile",
        "AchievementQuintile",
        "PercentCorrect",
        "RapidGuessingPercentage",
    ]
    .map(String::from)
    .to_vec();
    h.extend(WINDOWS.iter().flat_map(|w| SUFFIXES.iter().map(move |s| format!("{w}{s}"))));
    h.extend(
        ["LexileScore", "LexileMin", "LexileMax", "QuantileScore", "QuantileMin", "QuantileMax"].map(String::from),
    );
    for i in 1..=8 {
        h.extend(["Name", "RitScore", "StdErr", "Range", "Adjective"].map(|s| format!("Goal{i}{s}")));
    }
    h.extend(WINDOWS.iter().map(|w| format!("Typical{w}Growth")));
    for i in 1..=10 {
        h.extend(["Study", "Level"].map(|k| format!("ProjectedProficiency{k}{i}")));
    }
    h
}

/// The columns of the combined student + assessment file (student columns first, no
/// `GrowthMeasureYN`, no `TestID`).
pub const COMBINED_HEADER: [&str; 21] = [
    "TermName",
    "DistrictName",
    "SchoolName",
    "StudentLastName",
    "StudentFirstName",
    "StudentMI",
    "StudentID",
    "StudentDateOfBirth",
    "StudentEthnicGroup",
    "StudentGender",
    "Grade",
    "MeasurementScale",
    "Discipline",
    "TestType",
    "TestName",
    "TestStartDate",
    "TestDurationMinutes",
    "TestRITScore",
    "TestStandardError",
    "TestPercentile",
    "TypicalFallToSpringGrowth",
];

const DISTRICT: &str = "Simulated Unified School District";

/// MAP's subject and course of a canonical subject, or `None` for a subject MAP does not
/// test.
pub fn map_subject(subject: &str) -> Option<(&'static str, &'static str)> {
    match subject.trim().to_ascii_lowercase().as_str() {
        "math" | "mathematics" => Some(("Mathematics", "Math K-12")),
        "reading" => Some(("Language Arts", "Reading")),
        "language_usage" => Some(("Language Arts", "Language Usage")),
        "science" => Some(("Science", "Science K-12")),
        _ => None,
    }
}

/// The goal (instructional area) names of a MAP subject.
fn goal_names(subject: &str) -> [&'static str; 4] {
    match subject {
        "Mathematics" => {
            ["Operations and Algebraic Thinking", "Number and Operations", "Measurement and Data", "Geometry"]
        }
        "Science" => ["Life Science", "Earth and Space Science", "Physical Science", "Inquiry and Design"],
        _ => ["Literary Text", "Informational Text", "Vocabulary", "Foundational Skills"],
    }
}

/// A season's share of the school year's growth, and its weeks of instruction (MAP's
/// `WISelectedAY*` defaults).
pub(super) fn season(window: &str) -> (f64, u32) {
    match window {
        "fall" => (0.0, 4),
        "winter" => (0.5, 20),
        _ => (1.0, 32),
    }
}

/// `TermName`: `("fall", "2025-26")` -> `"Fall 2025-2026"`.
fn term_name(window: &str, school_year: &str) -> String {
    let start: i32 = school_year.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2025);
    let mut season = window.to_string();
    if let Some(first) = season.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!("{season} {start}-{}", start + 1)
}

/// An ISO date as MAP writes it: `MM/DD/YYYY`.
pub(super) fn us_date(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d").map(|d| d.format("%m/%d/%Y").to_string()).unwrap_or_default()
}

/// The grade norms of the simulator: mean and yearly growth of grade `g` (clamped to 3-8).
pub(super) fn norms(grade: &str) -> (f64, f64) {
    let g: u8 = grade.parse().unwrap_or(GRADES[0]);
    let i = GRADES.iter().position(|&x| x == g).unwrap_or(if g < GRADES[0] { 0 } else { GRADES.len() - 1 });
    (FALL_MEAN[i], GROWTH[i])
}

/// A percentile (1-99) of a standard normal deviate.
pub(super) fn percentile(z: f64) -> i64 {
    ((100.0 * pnorm(z)).round() as i64).clamp(1, 99)
}

/// MAP's quintile label of a percentile.
fn quintile(p: i64) -> &'static str {
    match p {
        ..=20 => "Low",
        21..=40 => "LoAvg",
        41..=60 => "Avg",
        61..=80 => "HiAvg",
        _ => "High",
    }
}

/// One test as the writer needs it.
struct TestView<'a> {
    student_id: &'a str,
    window: &'a str,
    school_year: &'a str,
    grade: &'a str,
    score: f64,
    sem: f64,
}

impl<'a> TestView<'a> {
    fn of(r: &'a AssessmentRow) -> Self {
        TestView {
            student_id: &r.student_id,
            window: &r.window,
            school_year: &r.school_year,
            grade: &r.grade,
            score: r.scale_score.parse().unwrap_or(f64::NAN),
            sem: r.sem.parse().unwrap_or(f64::NAN),
        }
    }

    /// The score's percentile within the grade norms at the test's season.
    fn percentile(&self) -> i64 {
        let (mean, growth) = norms(self.grade);
        percentile((self.score - mean - growth * season(self.window).0) / SCALE_SD)
    }
}

/// The seven growth columns and the typical growth of window `from` -> `to` for a start
/// test, with the end test when there is one.
fn growth_cells(start: &TestView, end: Option<&TestView>) -> ([String; 7], String) {
    let (_, growth) = norms(start.grade);
    let share = season(end.map_or("spring", |e| e.window)).0 - season(start.window).0;
    let typical = (growth * share).round();
    let mut cells: [String; 7] = Default::default();
    cells[0] = format!("{typical}");
    if let Some(e) = end.filter(|e| e.score.is_finite() && start.score.is_finite()) {
        let observed = e.score - start.score;
        let se = (start.sem.powi(2) + e.sem.powi(2)).sqrt();
        let sd = ((GROWTH_NOISE_SD * share).powi(2) + se.powi(2)).sqrt();
        let cgi = (observed - typical) / sd;
        let cgp = percentile(cgi);
        cells[1] = format!("{observed}");
        cells[2] = format!("{se:.1}");
        cells[3] = (if observed >= typical { "Yes" } else { "No" }).to_string();
        cells[4] = format!("{cgi:.2}");
        cells[5] = cgp.to_string();
        cells[6] = quintile(cgp).to_string();
    }
    (cells, format!("{typical}"))
}

/// The window pairs within a school year, as (column window, start, end).
const PAIRS: [(&str, &str, &str); 3] =
    [("FallToWinter", "fall", "winter"), ("FallToSpring", "fall", "spring"), ("WinterToSpring", "winter", "spring")];

/// One `AssessmentResults.csv` row: `test` with the student's other tests of the subject and
/// year in `same`, numbered `n` in the file.
fn results_row(
    test: &AssessmentRow,
    same: &[&AssessmentRow],
    school: &str,
    valid: bool,
    n: usize,
    rng: &mut Rng,
) -> Vec<String> {
    let header = assessment_results_header();
    let mut row: HashMap<String, String> = HashMap::new();
    let mut set = |k: &str, v: String| {
        row.insert(k.to_string(), v);
    };
    let t = TestView::of(test);
    let (subject, course) = map_subject(&test.subject).unwrap_or(("Mathematics", "Math K-12"));
    let school_no: String = school.chars().filter(char::is_ascii_digit).collect();
    set("TermName", term_name(t.window, t.school_year));
    set("DistrictName", DISTRICT.into());
    set("District_StateID", "999001".into());
    set("SchoolName", format!("{school} Elementary School"));
    set("School_StateID", format!("999001{school_no:0>3}"));
    set("StudentID", t.student_id.into());
    set("Student_StateID", format!("9{}", t.student_id));
    set("Subject", subject.into());
    set("Course", course.into());
    set("GrowthMeasureYN", "TRUE".into());
    set("NormsReferenceData", "2020".into());
    for (s, w) in [("Fall", 4), ("Winter", 20), ("Spring", 32)] {
        set(&format!("WISelectedAY{s}"), w.to_string());
        set(&format!("WIPreviousAY{s}"), w.to_string());
    }
    set("TestType", "Survey With Goals".into());
    let band = if t.grade.parse::<u8>().unwrap_or(3) <= 5 { "2-5" } else { "6+" };
    set("TestName", format!("Growth: {} {band} CCSS 2010", course.split(' ').next().unwrap_or(course)));
    set("TestID", format!("{}", 40_000_000 + n));
    set("TestStartDate", us_date(&test.test_date));
    set("TestStartTime", format!("{:02}:{:02}:{:02}", rng.int(8, 14), rng.int(0, 59), rng.int(0, 59)));
    set("TestDurationMinutes", rng.int(if valid { 30 } else { 8 }, if valid { 75 } else { 25 }).to_string());
    set("TestRITScore", test.scale_score.clone());
    set("TestStandardError", test.sem.clone());
    let p = t.percentile();
    set("TestPercentile", p.to_string());
    set("AchievementQuintile", quintile(p).into());
    set("PercentCorrect", rng.int(45, 75).to_string());
    let rapid = if valid { rng.int(0, RAPID_GUESSING_LIMIT as i64 / 2) } else { rng.int(35, 80) };
    set("RapidGuessingPercentage", rapid.to_string());
    for (name, from, to) in PAIRS {
        if from != t.window {
            continue;
        }
        let end = same.iter().find(|o| o.window == to).map(|o| TestView::of(o));
        let (cells, typical) = growth_cells(&t, end.as_ref());
        for (s, v) in SUFFIXES.iter().zip(cells) {
            set(&format!("{name}{s}"), v);
        }
        set(&format!("Typical{name}Growth"), typical);
    }
    if t.score.is_finite() {
        let (lo, hi) = (t.score - 50.0, t.score + 50.0);
        if subject == "Mathematics" {
            let q = |x: f64| format!("{}Q", (((x - 160.0) * 12.0).max(0.0) / 5.0).round() * 5.0);
            set("QuantileScore", q(t.score));
            set("QuantileMin", q(lo));
            set("QuantileMax", q(hi));
        } else if subject == "Language Arts" && course == "Reading" {
            let l = |x: f64| format!("{}L", (((x - 150.0) * 12.0).max(0.0) / 5.0).round() * 5.0);
            set("LexileScore", l(t.score));
            set("LexileMin", l(lo));
            set("LexileMax", l(hi));
        }
        for (i, goal) in goal_names(subject).iter().enumerate() {
            let g = (t.score + 6.0 * rng.normal()).round();
            let se = (rng.range(6.0, 8.0) * 10.0).round() / 10.0;
            set(&format!("Goal{}Name", i + 1), goal.to_string());
            set(&format!("Goal{}RitScore", i + 1), g.to_string());
            set(&format!("Goal{}StdErr", i + 1), format!("{se:.1}"));
            set(&format!("Goal{}Range", i + 1), format!("{}-{}", (g - se).round(), (g + se).round()));
            let (mean, growth) = norms(t.grade);
            let gp = percentile((g - mean - growth * season(t.window).0) / SCALE_SD);
            set(&format!("Goal{}Adjective", i + 1), quintile(gp).into());
        }
        let level = match p {
            ..=25 => "Level 1",
            26..=50 => "Level 2",
            51..=80 => "Level 3",
            _ => "Level 4",
        };
        set("ProjectedProficiencyStudy1", "Linked State Assessment".into());
        set("ProjectedProficiencyLevel1", level.into());
        set("ProjectedProficiencyStudy2", "ACT College Readiness".into());
        set("ProjectedProficiencyLevel2", (if p > 60 { "On Track" } else { "Not on Track" }).into());
    }
    header.iter().map(|h| row.remove(h).unwrap_or_default()).collect()
}

/// MAP's ethnic group of a simulated race/ethnicity.
fn ethnic_group(race: &str) -> &'static str {
    match race {
        "White" => "White",
        "Hispanic" => "Hispanic or Latino",
        "Black" => "Black or African American",
        "Asian" => "Asian",
        "Multiracial" => "Multi-ethnic",
        _ => "Not Specified or Other",
    }
}

const LAST_NAMES: [&str; 12] =
    ["Alvarez", "Brooks", "Chen", "Dawson", "Ellis", "Flores", "Grant", "Hayes", "Ibarra", "Jensen", "Kim", "Lopez"];
const FIRST_NAMES: [&str; 12] =
    ["Ava", "Ben", "Cora", "Dev", "Eli", "Fay", "Gus", "Hana", "Ian", "Jude", "Kai", "Lena"];

/// One `ComboStudentAssessment.csv` row of a history test; `names` holds the student's
/// drawn name and birth date.
fn combined_row(h: &HistoryRow, names: &[String; 4], rng: &mut Rng) -> Vec<String> {
    let (scale, discipline) = match map_subject(&h.subject) {
        Some((s, "Reading")) | Some((s, "Language Usage")) => (if s == "Language Arts" { "Reading" } else { s }, s),
        Some((s, _)) => (s, s),
        None => ("Mathematics", "Mathematics"),
    };
    let t = TestView {
        student_id: &h.student_id,
        window: &h.window,
        school_year: &h.school_year,
        grade: &h.grade,
        score: h.scale_score.parse().unwrap_or(f64::NAN),
        sem: h.sem.parse().unwrap_or(f64::NAN),
    };
    let band = if t.grade.parse::<u8>().unwrap_or(3) <= 5 { "2-5" } else { "6+" };
    let typical = if h.window == "fall" { growth_cells(&t, None).1 } else { String::new() };
    vec![
        term_name(t.window, t.school_year),
        DISTRICT.to_string(),
        format!("{} Elementary School", h.school_id),
        names[0].clone(),
        names[1].clone(),
        names[2].clone(),
        h.student_id.clone(),
        names[3].clone(),
        ethnic_group(&h.race_ethnicity).to_string(),
        h.gender.clone(),
        h.grade.clone(),
        scale.to_string(),
        discipline.to_string(),
        "Survey With Goals".to_string(),
        format!("Growth: {} {band} CCSS 2010", if scale == "Mathematics" { "Math" } else { scale }),
        us_date(&h.test_date),
        rng.int(30, 75).to_string(),
        h.scale_score.clone(),
        h.sem.clone(),
        t.percentile().to_string(),
        typical,
    ]
}

/// A student's name and birth date for the combined file: last, first, middle initial,
/// `MM/DD/YYYY` (born in the calendar year that makes the grade's usual age).
fn student_names(h: &HistoryRow, rng: &mut Rng) -> [String; 4] {
    let start: i32 = h.school_year.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2024);
    let grade: i32 = h.grade.parse().unwrap_or(3);
    let born = NaiveDate::from_ymd_opt(start - grade - 6, 1, 1).expect("a valid year")
        + chrono::Duration::days(rng.int(0, 364));
    [
        LAST_NAMES[rng.index(LAST_NAMES.len())].to_string(),
        FIRST_NAMES[rng.index(FIRST_NAMES.len())].to_string(),
        ((b'A' + rng.index(26) as u8) as char).to_string(),
        born.format("%m/%d/%Y").to_string(),
    ]
}

fn write_rows(out: &OutputDir, name: &str, header: &[String], rows: &[Vec<String>]) -> Result<(), OutputError> {
    let mut file = out.create(name)?;
    let path = file.path().to_path_buf();
    let werr = |source: std::io::Error| OutputError::Write { path: path.clone(), source };
    // MAP quotes the values, not the header line.
    std::io::Write::write_all(&mut file, format!("{}\n", header.join(",")).as_bytes()).map_err(werr)?;
    {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .quote_style(csv::QuoteStyle::Always)
            .buffer_capacity(1 << 16)
            .from_writer(&mut file);
        for r in rows {
            w.write_record(r).map_err(|e| werr(e.into()))?;
        }
        w.flush().map_err(werr)?;
    }
    file.commit()?;
    Ok(())
}

/// The `AssessmentResults.csv` rows of the current year's tests, in the canonical file's
/// order.
fn results_rows(district: &District, rng: &mut Rng) -> Vec<Vec<String>> {
    let schools: HashMap<&str, &RosterRow> = district.roster.iter().map(|r| (r.student_id.as_str(), r)).collect();
    let tests = &district.assessments;
    let mut rows = Vec::with_capacity(tests.len());
    let mut start = 0;
    while start < tests.len() {
        let key = |r: &AssessmentRow| (r.student_id.clone(), r.subject.clone(), r.school_year.clone());
        let end = start + tests[start..].iter().take_while(|r| key(r) == key(&tests[start])).count();
        let same: Vec<&AssessmentRow> = tests[start..end].iter().collect();
        for (k, t) in same.iter().enumerate() {
            let school = schools.get(t.student_id.as_str()).map_or("S00", |r| r.school_id.as_str());
            let valid = !t.valid.eq_ignore_ascii_case("false");
            rows.push(results_row(t, &same, school, valid, start + k, rng));
        }
        start = end;
    }
    rows
}

/// The combined rows of the history's valid tests, in the canonical file's order.
fn combined_rows(district: &District, rng: &mut Rng) -> Vec<Vec<String>> {
    let mut names: HashMap<&str, [String; 4]> = HashMap::new();
    let mut rows = Vec::with_capacity(district.history.len());
    for h in &district.history {
        if h.valid.eq_ignore_ascii_case("false") {
            continue;
        }
        let person = names.entry(&h.student_id).or_insert_with(|| student_names(h, rng)).clone();
        rows.push(combined_row(h, &person, rng));
    }
    rows
}

/// Writes `roster.csv`, `sessions.csv` (as [`super::write()`] does), `AssessmentResults.csv`,
/// `ComboStudentAssessment.csv` and `truth.json` into `dir` and returns their paths in that
/// order ([`NWEA_FILE_NAMES`]). The same district and seed give the same bytes.
pub fn write_nwea(district: &District, spec: &SimSpec, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let mut rng = Rng::stream(spec.seed, 3);
    let out = super::write::write_canonical(district, dir, &[0, 1, 4])?;
    write_rows(&out, NWEA_FILE_NAMES[2], &assessment_results_header(), &results_rows(district, &mut rng))?;
    let combined = COMBINED_HEADER.map(String::from).to_vec();
    write_rows(&out, NWEA_FILE_NAMES[3], &combined, &combined_rows(district, &mut rng))?;
    Ok(NWEA_FILE_NAMES.iter().map(|f| dir.join(f)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_results_header_is_the_export_s_143_columns() {
        let h = assessment_results_header();
        assert_eq!(h.len(), 143);
        assert_eq!((h[0].as_str(), h[28].as_str()), ("TermName", "RapidGuessingPercentage"));
        assert_eq!(h[29], "FallToFallProjectedGrowth");
        assert_eq!(h[29 + 6 * 7 - 1], "SpringToSpringGrowthQuintile");
        assert_eq!(h[142], "ProjectedProficiencyLevel10");
    }

    #[test]
    fn terms_dates_and_quintiles_are_written_as_map_does() {
        assert_eq!(term_name("fall", "2025-26"), "Fall 2025-2026");
        assert_eq!(term_name("spring", "2099-00"), "Spring 2099-2100");
        assert_eq!(us_date("2025-09-02"), "09/02/2025");
        assert_eq!(
            [quintile(20), quintile(21), quintile(60), quintile(61), quintile(81)],
            ["Low", "LoAvg", "Avg", "HiAvg", "High"]
        );
        assert_eq!(map_subject("math"), Some(("Mathematics", "Math K-12")));
        assert_eq!(map_subject("civics"), None);
    }

    #[test]
    fn growth_is_observed_only_with_an_end_test() {
        let fall =
            TestView { student_id: "1", window: "fall", school_year: "2025-26", grade: "3", score: 200.0, sem: 3.0 };
        let spring = TestView { window: "spring", score: 214.0, sem: 4.0, ..fall };
        let (cells, typical) = growth_cells(&fall, Some(&spring));
        assert_eq!((cells[0].as_str(), typical.as_str()), ("10", "10"));
        assert_eq!((cells[1].as_str(), cells[2].as_str(), cells[3].as_str()), ("14", "5.0", "Yes"));
        let cgi: f64 = cells[4].parse().unwrap();
        assert!((cgi - 4.0 / (25.0f64 + 25.0).sqrt()).abs() < 0.01, "{cgi}");
        let (none, _) = growth_cells(&fall, None);
        assert!(none[1..].iter().all(String::is_empty), "{none:?}");
    }
}
