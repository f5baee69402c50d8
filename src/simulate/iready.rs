//! A simulated district's tests as i-Ready Diagnostic results exports (`obc simulate
//! --format iready`, README "From your vendor's export: i-Ready Diagnostic").
//!
//! i-Ready exports one file per subject: the current year's tests are written as
//! `diagnostic_results_math.csv` (`..._ela.csv` for reading) and the history's as
//! `diagnostic_results_math_history.csv`, each with the columns of [`HEADER`], in that order.
//! Scores, dates, grades and IDs are the canonical files' own, so the i-Ready district
//! settles as the canonical one; i-Ready reports no standard error of measurement, so the
//! files have none (and the expected payment under test error is not computed).
//!
//! The simulator's invalid tests are rushed tests: their `Rush Flag` is "Red Rush Flag" and
//! their duration short; every valid test has an empty rush flag.
//!
//! The other columns hold plausible values drawn from ChaCha8 stream 3 of the seed (the
//! district itself is drawn before, from its own streams, and does not change): the
//! percentile of the score within the simulator's own grade norms (fall mean `μ_g`, growth
//! `γ_g` by the season) and a placement from it, the baseline (the student's first
//! diagnostic of the school year) and most recent flags, the gain since the baseline, the
//! annual typical growth (`γ_g` of the baseline's grade) and a stretch growth above it
//! (larger the lower the baseline's percentile), the percent progress to each, start dates
//! and durations.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::generate::District;
use super::model::SCALE_SD;
use super::nwea::{norms, percentile, season};
use super::rng::Rng;
use super::rows::{AssessmentRow, HistoryRow, RosterRow};
use super::spec::SimSpec;
use crate::data::output::OutputDir;
use crate::data::vendor::iready::Subject;
use crate::error::OutputError;

/// The columns of an i-Ready Diagnostic results file, in order.
pub const HEADER: [&str; 19] = [
    "Student ID",
    "Student Grade",
    "Academic Year",
    "School",
    "Start Date",
    "Completion Date",
    "Norming Window",
    "Baseline Diagnostic (Y/N)",
    "Most Recent Diagnostic YTD (Y/N)",
    "Rush Flag",
    "Duration (min)",
    "Overall Scale Score",
    "Overall Placement",
    "Percentile",
    "Diagnostic Gain",
    "Annual Typical Growth Measure",
    "Annual Stretch Growth Measure",
    "Percent Progress to Annual Typical Growth (%)",
    "Percent Progress to Annual Stretch Growth (%)",
];

/// The rush flag of a simulated invalid test.
pub const RUSH_FLAG: &str = "Red Rush Flag";

/// The i-Ready subject of a canonical subject, or `None` for one i-Ready does not test.
pub fn iready_subject(subject: &str) -> Option<Subject> {
    match subject.trim().to_ascii_lowercase().as_str() {
        "math" => Some(Subject::Math),
        "reading" => Some(Subject::Reading),
        _ => None,
    }
}

/// The files written by [`write_iready`] for `subject`, in the order of the returned paths:
/// roster, sessions, the current year's results, the history's, the truth.
pub fn iready_file_names(subject: Subject) -> [String; 5] {
    let s = match subject {
        Subject::Math => "math",
        Subject::Reading => "ela",
    };
    [
        "roster.csv".into(),
        "sessions.csv".into(),
        format!("diagnostic_results_{s}.csv"),
        format!("diagnostic_results_{s}_history.csv"),
        "truth.json".into(),
    ]
}

/// One diagnostic as the writer needs it.
struct Diagnostic<'a> {
    student_id: &'a str,
    school: &'a str,
    test_date: &'a str,
    window: &'a str,
    school_year: &'a str,
    grade: &'a str,
    score: &'a str,
    valid: bool,
}

impl Diagnostic<'_> {
    fn key(&self) -> (&str, &str) {
        (self.student_id, self.school_year)
    }

    fn value(&self) -> Option<f64> {
        self.score.parse().ok()
    }
}

/// `Norming Window` of a simulated window.
fn norming_window(window: &str) -> &'static str {
    match window {
        "fall" => "Fall (Beginning of Year - November 15)",
        "winter" => "Winter (November 16 - March 1)",
        _ => "Spring (March 2 - End of Year)",
    }
}

/// `Academic Year`: `2025-26` -> `2025-2026`.
fn academic_year(school_year: &str) -> String {
    let start: i32 = school_year.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2025);
    format!("{start}-{}", start + 1)
}

/// A grade as i-Ready writes it: `K` for kindergarten.
fn grade_label(grade: &str) -> String {
    if grade == "0" { "K".into() } else { grade.into() }
}

/// `Overall Placement` of a percentile `p` in grade `grade`: below grade level ("Level 2"),
/// or early, mid or late in it ("Mid 4").
fn placement(grade: &str, p: i64) -> String {
    let g: i64 = grade.parse().unwrap_or(3);
    let level = |below: i64| match g - below {
        ..0 => "Emerging K".to_string(),
        0 => "Level K".to_string(),
        l => format!("Level {l}"),
    };
    match p {
        ..10 => level(2),
        10..30 => level(1),
        30..55 => format!("Early {}", grade_label(grade)),
        55..80 => format!("Mid {}", grade_label(grade)),
        _ => format!("Late {}", grade_label(grade)),
    }
}

/// The score's percentile within the simulator's grade norms at the test's season.
fn score_percentile(d: &Diagnostic, score: f64) -> i64 {
    let (mean, growth) = norms(d.grade);
    percentile((score - mean - growth * season(d.window).0) / SCALE_SD)
}

/// A student's school year of diagnostics: the baseline (first) test and the most recent's date.
struct Year<'a> {
    baseline: &'a Diagnostic<'a>,
    latest: &'a str,
}

/// The school years of the diagnostics, by student and year.
fn years<'a>(tests: &'a [Diagnostic<'a>]) -> HashMap<(&'a str, &'a str), Year<'a>> {
    let mut out: HashMap<(&str, &str), Year> = HashMap::new();
    for t in tests {
        let y = out.entry(t.key()).or_insert(Year { baseline: t, latest: t.test_date });
        if t.test_date < y.baseline.test_date {
            y.baseline = t;
        }
        if t.test_date > y.latest {
            y.latest = t.test_date;
        }
    }
    out
}

/// An ISO date as i-Ready writes it: `9/15/2025`.
fn short_date(date: NaiveDate) -> String {
    date.format("%-m/%-d/%Y").to_string()
}

/// The growth columns (gain, typical, stretch, percent progress to each) of `score` in the
/// year whose baseline is `baseline`.
fn growth_columns(baseline: &Diagnostic, score: f64) -> [String; 5] {
    let Some(start) = baseline.value() else { return Default::default() };
    let (_, growth) = norms(baseline.grade);
    let typical = growth.round().max(1.0);
    let factor = match score_percentile(baseline, start) {
        ..25 => 2.0,
        25..50 => 1.6,
        _ => 1.3,
    };
    let stretch = (typical * factor).round();
    let gain = score - start;
    let progress = |target: f64| ((100.0 * gain / target).round().max(0.0) as i64).to_string();
    [format!("{gain}"), format!("{typical}"), format!("{stretch}"), progress(typical), progress(stretch)]
}

/// One results row of `t`, in the year `year`.
fn row(t: &Diagnostic, year: &Year, rng: &mut Rng) -> Vec<String> {
    let completed = NaiveDate::parse_from_str(t.test_date, "%Y-%m-%d").ok();
    let started = completed.map(|d| d - chrono::Duration::days(if rng.bern(0.8) { 0 } else { rng.int(1, 3) }));
    let yn = |b: bool| (if b { "Y" } else { "N" }).to_string();
    let duration = if t.valid { rng.int(35, 90) } else { rng.int(6, 18) };
    let mut out = vec![
        t.student_id.to_string(),
        grade_label(t.grade),
        academic_year(t.school_year),
        format!("{} Elementary School", t.school),
        started.map(short_date).unwrap_or_default(),
        completed.map(short_date).unwrap_or_default(),
        norming_window(t.window).to_string(),
        yn(std::ptr::eq(year.baseline, t)),
        yn(t.test_date == year.latest),
        (if t.valid { "" } else { RUSH_FLAG }).to_string(),
        duration.to_string(),
        t.score.to_string(),
    ];
    match t.value() {
        Some(score) => {
            let p = score_percentile(t, score);
            out.extend([placement(t.grade, p), p.to_string()]);
            out.extend(growth_columns(year.baseline, score));
        }
        None => out.extend(std::iter::repeat_n(String::new(), 7)),
    }
    out
}

/// The results rows of `tests`, in their order.
fn rows(tests: &[Diagnostic], rng: &mut Rng) -> Vec<Vec<String>> {
    let by_year = years(tests);
    tests.iter().map(|t| row(t, &by_year[&t.key()], rng)).collect()
}

fn is_valid(valid: &str) -> bool {
    !valid.eq_ignore_ascii_case("false")
}

/// The current year's tests as diagnostics (the school from the roster).
fn current<'a>(district: &'a District) -> Vec<Diagnostic<'a>> {
    let schools: HashMap<&str, &RosterRow> = district.roster.iter().map(|r| (r.student_id.as_str(), r)).collect();
    let of = |r: &'a AssessmentRow| Diagnostic {
        student_id: &r.student_id,
        school: schools.get(r.student_id.as_str()).map_or("S00", |s| s.school_id.as_str()),
        test_date: &r.test_date,
        window: &r.window,
        school_year: &r.school_year,
        grade: &r.grade,
        score: &r.scale_score,
        valid: is_valid(&r.valid),
    };
    district.assessments.iter().map(of).collect()
}

/// The history's tests as diagnostics.
fn history<'a>(district: &'a District) -> Vec<Diagnostic<'a>> {
    let of = |r: &'a HistoryRow| Diagnostic {
        student_id: &r.student_id,
        school: &r.school_id,
        test_date: &r.test_date,
        window: &r.window,
        school_year: &r.school_year,
        grade: &r.grade,
        score: &r.scale_score,
        valid: is_valid(&r.valid),
    };
    district.history.iter().map(of).collect()
}

fn write_rows(out: &OutputDir, name: &str, rows: &[Vec<String>]) -> Result<(), OutputError> {
    let mut file = out.create(name)?;
    let path = file.path().to_path_buf();
    let werr = |source: std::io::Error| OutputError::Write { path: path.clone(), source };
    {
        let mut w = csv::WriterBuilder::new().buffer_capacity(1 << 16).from_writer(&mut file);
        w.write_record(HEADER).map_err(|e| werr(e.into()))?;
        for r in rows {
            w.write_record(r).map_err(|e| werr(e.into()))?;
        }
        w.flush().map_err(werr)?;
    }
    file.commit()?;
    Ok(())
}

/// Writes `roster.csv`, `sessions.csv` (as [`super::write()`] does), the i-Ready results of
/// the current year and of the history, and `truth.json` into `dir`, and returns their paths
/// in that order ([`iready_file_names`]). `spec.subject` must be math or reading (checked by
/// the caller). The same district and seed give the same bytes.
pub fn write_iready(district: &District, spec: &SimSpec, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let names = iready_file_names(iready_subject(&spec.subject).unwrap_or(Subject::Math));
    let mut rng = Rng::stream(spec.seed, 3);
    let out = super::write::write_canonical(district, dir, &[0, 1, 4])?;
    write_rows(&out, &names[2], &rows(&current(district), &mut rng))?;
    write_rows(&out, &names[3], &rows(&history(district), &mut rng))?;
    Ok(names.iter().map(|f| dir.join(f)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test<'a>(date: &'a str, window: &'a str, score: &'a str) -> Diagnostic<'a> {
        Diagnostic {
            student_id: "1",
            school: "S01",
            test_date: date,
            window,
            school_year: "2025-26",
            grade: "4",
            score,
            valid: true,
        }
    }

    #[test]
    fn labels_are_written_as_i_ready_does() {
        assert_eq!(academic_year("2025-26"), "2025-2026");
        assert_eq!(norming_window("winter"), "Winter (November 16 - March 1)");
        assert_eq!(grade_label("0"), "K");
        assert_eq!(placement("4", 5), "Level 2");
        assert_eq!(placement("1", 5), "Emerging K");
        assert_eq!(placement("1", 20), "Level K");
        assert_eq!([placement("4", 40), placement("4", 60), placement("4", 90)], ["Early 4", "Mid 4", "Late 4"]);
        assert_eq!(short_date(NaiveDate::from_ymd_opt(2025, 9, 5).unwrap()), "9/5/2025");
        assert_eq!(iready_subject("reading"), Some(Subject::Reading));
        assert_eq!(iready_subject("science"), None);
        assert_eq!(iready_file_names(Subject::Reading)[2], "diagnostic_results_ela.csv");
    }

    #[test]
    fn the_baseline_is_the_first_test_and_progress_is_the_gain_over_the_target() {
        let tests = [test("2026-05-12", "spring", "230"), test("2025-09-15", "fall", "210")];
        let y = years(&tests);
        let year = &y[&("1", "2025-26")];
        assert_eq!((year.baseline.test_date, year.latest), ("2025-09-15", "2026-05-12"));
        let cells = growth_columns(year.baseline, 230.0);
        let (typical, stretch): (f64, f64) = (cells[1].parse().unwrap(), cells[2].parse().unwrap());
        assert_eq!(cells[0], "20");
        assert!(stretch > typical && typical >= 1.0, "{cells:?}");
        assert_eq!(cells[3], ((2000.0 / typical).round() as i64).to_string());
        assert_eq!(growth_columns(year.baseline, 200.0)[3], "0", "no negative progress");
        let mut rng = Rng::stream(1, 3);
        let spring = row(&tests[0], year, &mut rng);
        let fall = row(&tests[1], year, &mut rng);
        assert_eq!(spring.len(), HEADER.len());
        assert_eq!((fall[7].as_str(), fall[8].as_str(), fall[14].as_str()), ("Y", "N", "0"));
        assert_eq!((spring[7].as_str(), spring[8].as_str(), spring[14].as_str()), ("N", "Y", "20"));
        assert_eq!((spring[5].as_str(), spring[9].as_str()), ("5/12/2026", ""));
    }
}
