//! Properties of simulated districts: determinism, file formats, the model's shape, and
//! the faults of messy mode counted exactly.

use std::path::Path;

use chrono::NaiveDate;

use super::calendar::weekday_index;
use super::model::{RACE, SEM_MAX, SEM_MIN};
use super::truth::mean;
use super::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::sync::OnceLock;

const N: usize = 1000;

fn spec(students: usize, seed: u64, messy: bool) -> SimSpec {
    SimSpec { students, seed, messy, ..SimSpec::default() }
}

type Written = (District, tempfile::TempDir);

/// The district of seed 11 (clean or messy), generated and written once for all tests.
fn written(cell: &'static OnceLock<Written>, messy: bool) -> &'static Written {
    cell.get_or_init(|| {
        let d = generate(&spec(N, 11, messy)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write(&d, dir.path()).unwrap();
        (d, dir)
    })
}

fn clean() -> &'static Written {
    static D: OnceLock<Written> = OnceLock::new();
    written(&D, false)
}

fn messy() -> &'static Written {
    static D: OnceLock<Written> = OnceLock::new();
    written(&D, true)
}

fn read_rows<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Vec<T> {
    let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
    r.deserialize().map(|x| x.unwrap()).collect()
}

fn pad(id: &str) -> String {
    format!("{id:0>6}")
}

fn parse_any_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(s, "%m/%d/%Y")).ok()
}

fn is_iso(s: &str) -> bool {
    s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let rank = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        for (pos, &i) in idx.iter().enumerate() {
            r[i] = pos as f64;
        }
        r
    };
    let (ra, rb) = (rank(a), rank(b));
    let n = a.len() as f64;
    let d2: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - y) * (x - y)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

#[test]
fn same_seed_gives_identical_files_and_other_seed_differs() {
    for messy in [false, true] {
        let a = generate(&spec(N, 5, messy)).unwrap();
        let b = generate(&spec(N, 5, messy)).unwrap();
        let c = generate(&spec(N, 6, messy)).unwrap();
        let (da, db, dc) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let pa = write(&a, da.path()).unwrap();
        let pb = write(&b, db.path()).unwrap();
        let pc = write(&c, dc.path()).unwrap();
        assert_eq!(pa.len(), 5);
        for (i, name) in FILE_NAMES.iter().enumerate() {
            assert_eq!(pa[i].file_name().unwrap(), *name);
            let (x, y, z) = (fs::read(&pa[i]).unwrap(), fs::read(&pb[i]).unwrap(), fs::read(&pc[i]).unwrap());
            assert!(x == y, "{name} differs between runs with the same seed");
            assert!(x != z, "{name} is the same for different seeds");
        }
    }
}

#[test]
fn files_have_exact_headers() {
    let (_, dir) = clean();
    let first = |f: &str| fs::read_to_string(dir.path().join(f)).unwrap().lines().next().unwrap().to_string();
    assert_eq!(
        first("roster.csv"),
        "student_id,school_id,grade,provider_id,tutor_id,enroll_date,exit_date,low_income,race_ethnicity,english_learner,disability,gender"
    );
    assert_eq!(first("sessions.csv"), "student_id,provider_id,tutor_id,session_date,minutes,status,group_size");
    assert_eq!(first("assessments.csv"), "student_id,subject,test_date,window,school_year,grade,scale_score,sem,valid");
    assert_eq!(
        first("history.csv"),
        "student_id,school_id,subject,test_date,window,school_year,grade,scale_score,sem,valid,low_income,race_ethnicity,english_learner,disability,gender"
    );
    let truth: Truth = serde_json::from_str(&fs::read_to_string(dir.path().join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth.spec, clean().0.truth.spec);
    assert_eq!(truth.summary.n_students, N);
    assert!(truth.messy.is_none());
}

#[test]
fn roster_counts_ids_grades_providers() {
    let (d, dir) = clean();
    let roster: Vec<RosterRow> = read_rows(dir.path(), "roster.csv");
    assert_eq!(roster, d.roster);
    assert_eq!(roster.len(), N);
    let ids: BTreeSet<&str> = roster.iter().map(|r| r.student_id.as_str()).collect();
    assert_eq!(ids.len(), N, "student IDs are unique");
    assert!(roster.iter().all(|r| r.student_id.len() == 6 && r.student_id.bytes().all(|b| b.is_ascii_digit())));
    let leading = roster.iter().filter(|r| r.student_id.starts_with('0')).count();
    assert!(leading > N / 10, "many IDs start with 0 ({leading})");
    // sorted by student ID
    assert!(roster.windows(2).all(|w| w[0].student_id < w[1].student_id));
    let grades: BTreeSet<u8> = roster.iter().map(|r| r.grade.parse().unwrap()).collect();
    assert_eq!(grades, (3..=8).collect());
    let providers: BTreeSet<&str> =
        roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.provider_id.as_str()).collect();
    let expected: Vec<String> = (1..=6).map(|k| format!("P{k}")).collect();
    assert_eq!(providers, expected.iter().map(String::as_str).collect());
    let schools: BTreeSet<&str> = roster.iter().map(|r| r.school_id.as_str()).collect();
    assert_eq!(schools.len(), 4);
    assert_eq!(d.truth.summary.n_schools, 4);
    for r in &roster {
        assert!(["Y", "N"].contains(&r.low_income.as_str()));
        assert!(["Y", "N"].contains(&r.english_learner.as_str()));
        assert!(["Y", "N"].contains(&r.disability.as_str()));
        assert!(["F", "M", "X"].contains(&r.gender.as_str()));
        assert!(RACE.iter().any(|(v, _)| *v == r.race_ethnicity));
        assert_eq!(r.provider_id.is_empty(), r.tutor_id.is_empty());
        if !r.tutor_id.is_empty() {
            assert!(r.tutor_id.starts_with(&format!("{}-T", r.provider_id)));
        }
        assert!(is_iso(&r.enroll_date));
        assert!(r.exit_date.is_empty() || is_iso(&r.exit_date));
    }
    let exited = roster.iter().filter(|r| !r.exit_date.is_empty()).count();
    assert!(exited < N / 10, "exit_date mostly empty");
    // each school has 1–2 providers; each provider serves at least one school
    let mut by_school: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in roster.iter().filter(|r| !r.provider_id.is_empty()) {
        by_school.entry(&r.school_id).or_default().insert(&r.provider_id);
    }
    assert!(by_school.values().all(|p| (1..=2).contains(&p.len())));
    // tutors have roughly 8–12 students
    let mut per_tutor: HashMap<&str, usize> = HashMap::new();
    for r in roster.iter().filter(|r| !r.tutor_id.is_empty()) {
        *per_tutor.entry(&r.tutor_id).or_default() += 1;
    }
    let mean = per_tutor.values().sum::<usize>() as f64 / per_tutor.len() as f64;
    assert!((7.0..=13.0).contains(&mean), "students per tutor {mean}");
}

#[test]
fn history_is_a_separate_prior_year_cohort() {
    let (d, dir) = clean();
    let history: Vec<HistoryRow> = read_rows(dir.path(), "history.csv");
    assert_eq!(history, d.history);
    let roster_ids: HashSet<&str> = d.roster.iter().map(|r| r.student_id.as_str()).collect();
    let hist_ids: BTreeSet<&str> = history.iter().map(|h| h.student_id.as_str()).collect();
    assert!(hist_ids.iter().all(|id| !roster_ids.contains(id)));
    assert!((N * 9 / 10..=N * 11 / 10).contains(&hist_ids.len()));
    assert!(history.iter().all(|h| h.school_year == "2024-25" && h.subject == "math"));
    let windows: BTreeSet<&str> = history.iter().map(|h| h.window.as_str()).collect();
    assert_eq!(windows, ["fall", "spring"].into_iter().collect());
    let falls = history.iter().filter(|h| h.window == "fall").count();
    let springs = history.iter().filter(|h| h.window == "spring").count();
    assert_eq!(falls, hist_ids.len());
    assert!(springs > falls * 8 / 10 && springs < falls);
    for h in &history {
        let date = NaiveDate::parse_from_str(&h.test_date, "%Y-%m-%d").unwrap();
        let (lo, hi) = window_bounds(&h.window, 2024).unwrap();
        assert!(date >= lo && date <= hi);
    }
    let schools: BTreeSet<&str> = d.roster.iter().map(|r| r.school_id.as_str()).collect();
    assert!(history.iter().all(|h| schools.contains(h.school_id.as_str())));
}

#[test]
fn low_scorers_are_selected_into_tutoring() {
    let (d, _) = clean();
    let tutored: HashSet<&str> =
        d.roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.student_id.as_str()).collect();
    let share = tutored.len() as f64 / N as f64;
    assert!((0.3..0.5).contains(&share), "tutored share {share}");
    let (mut t, mut c) = (Vec::new(), Vec::new());
    for a in d.assessments.iter().filter(|a| a.window == "fall") {
        let s: f64 = a.scale_score.parse().unwrap();
        if tutored.contains(a.student_id.as_str()) {
            t.push(s);
        } else {
            c.push(s);
        }
    }
    assert_eq!(t.len() + c.len(), N, "every student has one fall test");
    let (mt, mc) = (mean(&t).unwrap(), mean(&c).unwrap());
    assert!(mt + 5.0 < mc, "tutored fall mean {mt} vs comparison {mc}");
}

#[test]
fn growth_declines_with_grade_for_comparison_students() {
    let d = generate(&spec(3000, 3, false)).unwrap();
    let tutored: HashSet<&str> =
        d.roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.student_id.as_str()).collect();
    let mut by: HashMap<(&str, &str), f64> = HashMap::new();
    for a in d.assessments.iter().filter(|a| a.valid == "true") {
        by.insert((a.student_id.as_str(), a.window.as_str()), a.scale_score.parse().unwrap());
    }
    let mut gains: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
    for r in d.roster.iter().filter(|r| !tutored.contains(r.student_id.as_str())) {
        let id = r.student_id.as_str();
        if let (Some(f), Some(s)) = (by.get(&(id, "fall")), by.get(&(id, "spring"))) {
            gains.entry(r.grade.parse().unwrap()).or_default().push(s - f);
        }
    }
    let g3 = mean(&gains[&3]).unwrap();
    let g8 = mean(&gains[&8]).unwrap();
    assert!((7.0..14.0).contains(&g3), "grade 3 gain {g3}");
    assert!((1.5..7.0).contains(&g8), "grade 8 gain {g8}");
    assert!(g3 > g8 + 3.0);
}

#[test]
fn sessions_are_plausible() {
    let (d, dir) = clean();
    let sessions: Vec<SessionRow> = read_rows(dir.path(), "sessions.csv");
    assert_eq!(sessions, d.sessions);
    let roster: HashMap<&str, &RosterRow> = d.roster.iter().map(|r| (r.student_id.as_str(), r)).collect();
    let mut per_student: HashMap<&str, usize> = HashMap::new();
    for s in &sessions {
        let r = roster[s.student_id.as_str()];
        assert_eq!(s.provider_id, r.provider_id);
        assert_eq!(s.tutor_id, r.tutor_id);
        let date = NaiveDate::parse_from_str(&s.session_date, "%Y-%m-%d").unwrap();
        assert!(weekday_index(date) < 5, "session on a weekend: {}", s.session_date);
        assert!(s.session_date >= r.enroll_date);
        assert!(r.exit_date.is_empty() || s.session_date < r.exit_date);
        let minutes: u32 = s.minutes.parse().unwrap();
        match s.status.as_str() {
            "attended" => assert!((20..=60).contains(&minutes)),
            "absent" | "cancelled" => assert_eq!(minutes, 0),
            other => panic!("bad status {other}"),
        }
        let g: u8 = s.group_size.parse().unwrap();
        assert!((1..=4).contains(&g));
        *per_student.entry(&s.student_id).or_default() += 1;
    }
    assert!(
        sessions.windows(2).all(|w| (&w[0].student_id, &w[0].session_date) < (&w[1].student_id, &w[1].session_date))
    );
    let n_tutored = d.roster.iter().filter(|r| !r.provider_id.is_empty()).count();
    assert!(per_student.len() > n_tutored * 9 / 10);
    let mean_sched = sessions.len() as f64 / per_student.len() as f64;
    assert!((45.0..=66.0).contains(&mean_sched), "scheduled sessions {mean_sched}");
    let attended = sessions.iter().filter(|s| s.status == "attended").count() as f64;
    let cancelled = sessions.iter().filter(|s| s.status == "cancelled").count() as f64;
    let att = attended / sessions.len() as f64;
    assert!((0.55..0.9).contains(&att), "attendance {att}");
    assert!(cancelled > 0.0 && cancelled / (sessions.len() as f64) < 0.1);
}

#[test]
fn realised_provider_effects_follow_nominal_ones() {
    for (seed, k) in [(11, 6), (12, 4), (13, 8)] {
        let d = generate(&SimSpec { providers: k, ..spec(N, seed, false) }).unwrap();
        let p = &d.truth.providers;
        assert_eq!(p.len(), k);
        let nominal: Vec<f64> = p.iter().map(|x| x.effect_points).collect();
        let realised: Vec<f64> = p.iter().map(|x| x.realised_mean_points.unwrap()).collect();
        let mut grid = nominal.clone();
        grid.sort_by(f64::total_cmp);
        for (r, g) in grid.iter().enumerate() {
            assert!((g - 4.5 * r as f64 / (k - 1) as f64).abs() < 1e-3);
        }
        let rho = spearman(&nominal, &realised);
        assert!(rho >= 0.8, "seed {seed}: rank correlation {rho}: {nominal:?} {realised:?}");
        for x in p {
            let real = x.realised_mean_points.unwrap();
            assert!(real <= x.effect_points + 1.0, "{x:?}");
            assert!(real >= 0.6 * x.effect_points - 1.0, "{x:?}");
            assert!((real / 15.0 - x.realised_mean_sd.unwrap()).abs() < 1e-3);
            assert!(x.n_rostered > 0 && x.n_tutors > 0 && !x.schools.is_empty());
            let dose = x.mean_dose_fraction.unwrap();
            assert!((0.6..=1.0).contains(&dose), "dose {dose}");
            let rostered = d.roster.iter().filter(|r| r.provider_id == x.provider_id).count();
            assert_eq!(rostered, x.n_rostered);
        }
        let tutors = d.truth.tutors.len();
        assert_eq!(tutors, d.truth.summary.n_tutors);
        assert!(d.truth.tutors.iter().all(|t| t.effect_sd.abs() < 0.25));
    }
}

#[test]
fn dose_response_is_concave_from_zero_to_one() {
    assert_eq!(dose_fraction(0.0), 0.0);
    assert!((dose_fraction(FULL_DOSE_MINUTES) - 1.0).abs() < 1e-12);
    assert!((dose_fraction(2.0 * FULL_DOSE_MINUTES) - 1.0).abs() < 1e-12);
    assert!(dose_fraction(FULL_DOSE_MINUTES / 2.0) > 0.6);
    let xs: Vec<f64> = (0..=20).map(|i| FULL_DOSE_MINUTES * i as f64 / 20.0).collect();
    let ys: Vec<f64> = xs.iter().map(|&x| dose_fraction(x)).collect();
    for w in ys.windows(3) {
        assert!(w[1] > w[0] && w[2] > w[1]);
        assert!(w[2] - w[1] < w[1] - w[0], "concave");
    }
}

/// Sessions attended and missed (absent) per student; cancelled sessions count for neither.
fn attendance(d: &District) -> HashMap<&str, (u32, u32)> {
    let mut att: HashMap<&str, (u32, u32)> = HashMap::new();
    for s in &d.sessions {
        let e = att.entry(&s.student_id).or_default();
        match s.status.as_str() {
            "attended" => e.0 += 1,
            "absent" => e.1 += 1,
            _ => {}
        }
    }
    att
}

/// Share of tutored students (not exited) missing the spring test: the bottom decile of
/// attendance rate and the top half.
fn missing_by_attendance(d: &District) -> (f64, f64) {
    let att = attendance(d);
    let springs: HashSet<&str> =
        d.assessments.iter().filter(|a| a.window == "spring").map(|a| a.student_id.as_str()).collect();
    let mut rows: Vec<(f64, bool)> = d
        .roster
        .iter()
        .filter(|r| !r.provider_id.is_empty() && r.exit_date.is_empty())
        .map(|r| {
            let (a, b) = att.get(r.student_id.as_str()).copied().unwrap_or_default();
            let rate = if a + b == 0 { 0.0 } else { f64::from(a) / f64::from(a + b) };
            (rate, !springs.contains(r.student_id.as_str()))
        })
        .collect();
    rows.sort_by(|x, y| x.0.total_cmp(&y.0));
    let miss = |v: &[(f64, bool)]| v.iter().filter(|x| x.1).count() as f64 / v.len() as f64;
    (miss(&rows[..rows.len() / 10]), miss(&rows[rows.len() / 2..]))
}

#[test]
fn low_attenders_miss_the_post_test_more_often() {
    let d = generate(&spec(4000, 21, false)).unwrap();
    // bottom decile of attendance vs top half: expected about 0.17 vs 0.07
    let (low, high) = missing_by_attendance(&d);
    assert!(low > high + 0.04, "missing spring: low attenders {low}, high {high}");
}

#[test]
fn clean_mode_has_no_faults() {
    let (d, dir) = clean();
    assert!(d.truth.messy.is_none());
    let roster_ids: HashSet<&str> = d.roster.iter().map(|r| r.student_id.as_str()).collect();
    let providers: HashSet<&str> = d.roster.iter().map(|r| r.provider_id.as_str()).collect();
    assert!(d.roster.windows(2).all(|w| w[0] != w[1]));
    assert!(d.sessions.windows(2).all(|w| w[0] != w[1]));
    for s in &d.sessions {
        assert!(roster_ids.contains(s.student_id.as_str()));
        assert!(providers.contains(s.provider_id.as_str()));
        assert!(is_iso(&s.session_date));
        s.minutes.parse::<u32>().unwrap();
        s.group_size.parse::<u8>().unwrap();
    }
    let assessments: Vec<AssessmentRow> = read_rows(dir.path(), "assessments.csv");
    assert_eq!(assessments, d.assessments);
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for a in &assessments {
        assert!(roster_ids.contains(a.student_id.as_str()));
        assert!(is_iso(&a.test_date), "{}", a.test_date);
        let date = NaiveDate::parse_from_str(&a.test_date, "%Y-%m-%d").unwrap();
        let (lo, hi) = window_bounds(&a.window, 2025).unwrap();
        assert!(date >= lo && date <= hi, "{a:?}");
        let score: i32 = a.scale_score.parse().unwrap();
        assert!((100..=350).contains(&score));
        let sem: f64 = a.sem.parse().unwrap();
        assert!((SEM_MIN..=SEM_MAX).contains(&sem));
        assert!(a.valid == "true" || a.valid == "false");
        assert_eq!(a.school_year, "2025-26");
        assert_eq!(a.subject, "math");
        assert!(seen.insert((&a.student_id, &a.window)), "retest in clean mode: {a:?}");
    }
    assert!(assessments.windows(2).all(|w| (&w[0].student_id, &w[0].test_date) < (&w[1].student_id, &w[1].test_date)));
    let invalid = assessments.iter().filter(|a| a.valid == "false").count() as f64;
    let share = invalid / assessments.len() as f64;
    assert!(share > 0.0 && share < 0.05, "invalid share {share}");
}

#[test]
fn messy_mode_faults_are_present_and_counted() {
    let (d, dir) = messy();
    let m = d.truth.messy.as_ref().expect("messy record");
    let roster: Vec<RosterRow> = read_rows(dir.path(), "roster.csv");
    let sessions: Vec<SessionRow> = read_rows(dir.path(), "sessions.csv");
    let assessments: Vec<AssessmentRow> = read_rows(dir.path(), "assessments.csv");
    assert_eq!(roster, d.roster);
    assert_eq!(sessions, d.sessions);
    assert_eq!(assessments, d.assessments);

    let roster_ids: HashSet<&str> = roster.iter().map(|r| r.student_id.as_str()).collect();
    assert_eq!(roster_ids.len(), N);
    let providers: HashSet<&str> =
        roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.provider_id.as_str()).collect();

    let dup = |n: usize| n;
    let roster_dups = dup(roster.windows(2).filter(|w| w[0] == w[1]).count());
    let session_dups = sessions.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(roster_dups, m.roster_duplicate_rows);
    assert_eq!(session_dups, m.sessions_duplicate_rows);
    assert_eq!(roster.len(), N + roster_dups);

    let lost_s = sessions.iter().filter(|s| s.student_id.len() < 6).count();
    let lost_a = assessments.iter().filter(|a| a.student_id.len() < 6).count();
    assert_eq!(lost_s, m.sessions_lost_leading_zeros);
    assert_eq!(lost_a, m.assessments_lost_leading_zeros);
    // a lost-zero ID is a roster ID once padded again
    assert!(
        sessions.iter().filter(|s| s.student_id.len() < 6).all(|s| roster_ids.contains(pad(&s.student_id).as_str()))
    );

    let mut per_window: HashMap<(String, &str), usize> = HashMap::new();
    for a in &assessments {
        *per_window.entry((pad(&a.student_id), a.window.as_str())).or_default() += 1;
    }
    let retests: usize = per_window.values().map(|c| c - 1).sum();
    assert_eq!(retests, m.retests);

    let classify = |v: &str, counts: &mut TextCounts| {
        if v == "N/A" {
            counts.na += 1;
        } else if v.is_empty() {
            counts.empty += 1;
        } else if v.ends_with(" min") {
            counts.with_unit += 1;
        } else {
            v.parse::<f64>().unwrap_or_else(|_| panic!("unexpected value {v:?}"));
        }
    };
    let mut minutes = TextCounts::default();
    sessions.iter().for_each(|s| classify(&s.minutes, &mut minutes));
    let (mut score, mut sem) = (TextCounts::default(), TextCounts::default());
    for a in &assessments {
        classify(&a.scale_score, &mut score);
        classify(&a.sem, &mut sem);
    }
    assert_eq!(minutes, m.sessions_minutes_text);
    assert_eq!(score, m.assessments_scale_score_text);
    assert_eq!(sem, m.assessments_sem_text);

    let out_of_window = assessments
        .iter()
        .filter(|a| {
            let d = parse_any_date(&a.test_date).expect("parseable date");
            let (lo, hi) = window_bounds(&a.window, 2025).unwrap();
            d < lo || d > hi
        })
        .count();
    assert_eq!(out_of_window, m.assessments_out_of_window_dates);
    let us_s = sessions.iter().filter(|s| s.session_date.contains('/')).count();
    let us_a = assessments.iter().filter(|a| a.test_date.contains('/')).count();
    assert_eq!(us_s, m.sessions_us_dates);
    assert_eq!(us_a, m.assessments_us_dates);
    assert!(sessions.iter().all(|s| parse_any_date(&s.session_date).is_some()));

    let unknown_s = sessions.iter().filter(|s| !roster_ids.contains(pad(&s.student_id).as_str())).count();
    let unknown_a = assessments.iter().filter(|a| !roster_ids.contains(pad(&a.student_id).as_str())).count();
    assert_eq!(unknown_s, m.sessions_unknown_students);
    assert_eq!(unknown_a, m.assessments_unknown_students);
    let history_ids: HashSet<&str> = d.history.iter().map(|h| h.student_id.as_str()).collect();
    assert!(sessions.iter().all(|s| !history_ids.contains(pad(&s.student_id).as_str())));
    let unknown_p = sessions.iter().filter(|s| !providers.contains(s.provider_id.as_str())).count();
    assert_eq!(unknown_p, m.sessions_unknown_providers);

    // every fault present at least once
    for (name, c) in [
        ("roster duplicates", m.roster_duplicate_rows),
        ("session duplicates", m.sessions_duplicate_rows),
        ("session lost zeros", m.sessions_lost_leading_zeros),
        ("assessment lost zeros", m.assessments_lost_leading_zeros),
        ("retests", m.retests),
        ("minutes N/A", m.sessions_minutes_text.na),
        ("minutes with unit", m.sessions_minutes_text.with_unit),
        ("minutes empty", m.sessions_minutes_text.empty),
        ("score text", m.assessments_scale_score_text.total()),
        ("sem text", m.assessments_sem_text.total()),
        ("out of window", m.assessments_out_of_window_dates),
        ("session US dates", m.sessions_us_dates),
        ("assessment US dates", m.assessments_us_dates),
        ("session unknown students", m.sessions_unknown_students),
        ("assessment unknown students", m.assessments_unknown_students),
        ("unknown providers", m.sessions_unknown_providers),
    ] {
        assert!(c >= 1, "{name} missing");
    }
    assert_eq!(d.truth.summary.session_rows, sessions.len());
    assert_eq!(d.truth.summary.assessment_rows, assessments.len());
    // the history file stays clean
    assert!(d.history.iter().all(|h| h.student_id.len() == 6 && is_iso(&h.test_date)));
}

#[test]
fn messy_and_clean_share_the_same_truth() {
    // messy mode draws its faults after everything else, so the underlying
    // district (and its truth apart from row counts) is the same.
    let (c, _) = clean();
    let (m, _) = messy();
    assert_eq!(c.truth.providers, m.truth.providers);
    assert_eq!(c.truth.tutors, m.truth.tutors);
    assert_eq!(c.truth.schools, m.truth.schools);
    assert_eq!(c.history, m.history);
}

#[test]
fn spec_validation() {
    let ok = SimSpec::default();
    assert_eq!(ok.students, 5000);
    assert_eq!(ok.providers, 6);
    assert_eq!(ok.seed, 20251);
    assert!(!ok.messy);
    assert_eq!(ok.school_year, "2025-26");
    assert_eq!(ok.subject, "math");
    let err = |s: SimSpec| generate(&s).unwrap_err();
    assert!(matches!(err(SimSpec { students: 49, ..ok.clone() }), SimError::TooFewStudents { got: 49, .. }));
    assert!(matches!(err(SimSpec { students: MAX_STUDENTS + 1, ..ok.clone() }), SimError::TooManyStudents { .. }));
    assert!(matches!(err(SimSpec { providers: 0, ..ok.clone() }), SimError::ProviderCount { got: 0, .. }));
    assert!(matches!(err(SimSpec { providers: 27, ..ok.clone() }), SimError::ProviderCount { got: 27, .. }));
    for bad in ["2025", "2025-27", "2025/26", "25-26", "abcd-ef"] {
        assert!(matches!(err(SimSpec { school_year: bad.into(), ..ok.clone() }), SimError::BadSchoolYear(_)));
    }
    assert_eq!(err(SimSpec { subject: " ".into(), ..ok.clone() }), SimError::EmptySubject);
    assert_eq!(
        err(SimSpec { provider_effects: Some(vec![0.0; 5]), ..ok.clone() }),
        SimError::ProviderEffectCount { got: 5, providers: 6 }
    );
    let effects = |bad: f64| Some(vec![0.0, 0.1, 0.2, 0.3, 0.4, bad]);
    assert_eq!(err(SimSpec { provider_effects: effects(2.5), ..ok.clone() }), SimError::ProviderEffect(2.5));
    assert!(matches!(err(SimSpec { provider_effects: effects(f64::NAN), ..ok.clone() }), SimError::ProviderEffect(_)));
    assert_eq!(ok.provider_effects, None);
    assert_eq!(ok.selection, Selection::FallScoreAndIncome);
    assert!(ok.dosage_selection);
    assert_eq!(parse_school_year("2025-26"), Some(2025));
    assert_eq!(parse_school_year("1999-00"), Some(1999));
    assert_eq!((ok.history_years, ok.cohort_sd), (1, 0.0));
    for h in [0, MAX_HISTORY_YEARS + 1] {
        assert_eq!(err(SimSpec { history_years: h, ..ok.clone() }), SimError::HistoryYears { got: h, max: 10 });
    }
    for sd in [-0.5, MAX_COHORT_SD + 1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(err(SimSpec { cohort_sd: sd, ..ok.clone() }), SimError::CohortSd { .. }), "{sd}");
    }
    // The largest district fits with one history year, not with two.
    let big = SimSpec { students: MAX_STUDENTS, history_years: 2, ..ok.clone() };
    assert!(matches!(err(big), SimError::TooManyIds { years: 2, needed: 901_000, .. }));
    assert!(spec::ids_needed(MAX_STUDENTS, 1) <= MAX_IDS);
}

#[test]
fn extreme_provider_counts_and_other_years() {
    // 26 providers need at least 13 schools; every provider gets students.
    let d = generate(&SimSpec {
        providers: 26,
        school_year: "2023-24".into(),
        subject: "reading".into(),
        ..spec(1000, 1, false)
    })
    .unwrap();
    assert_eq!(d.truth.summary.n_schools, 13);
    assert!(d.truth.schools.iter().all(|s| (1..=2).contains(&s.providers.len())));
    assert!(d.truth.providers.iter().all(|p| p.n_rostered > 0), "{:?}", d.truth.providers);
    assert!(d.truth.providers.iter().any(|p| p.provider_id == "P26"));
    assert!(d.assessments.iter().all(|a| a.school_year == "2023-24" && a.subject == "reading"));
    assert!(d.history.iter().all(|h| h.school_year == "2022-23"));
    assert!(d.assessments.iter().all(|a| {
        let date = NaiveDate::parse_from_str(&a.test_date, "%Y-%m-%d").unwrap();
        let (lo, hi) = window_bounds(&a.window, 2023).unwrap();
        date >= lo && date <= hi
    }));
    // one provider, minimum size
    let d = generate(&SimSpec { providers: 1, ..spec(MIN_STUDENTS, 2, true) }).unwrap();
    assert_eq!(d.truth.providers.len(), 1);
    assert!((d.truth.providers[0].effect_sd - 0.15).abs() < 1e-12);
    assert!(d.truth.messy.is_some());
}

#[test]
fn the_contract_follows_the_spec_and_is_written_as_built() {
    let spec = SimSpec {
        seed: 9,
        messy: true,
        school_year: "2023-24".into(),
        subject: "reading".into(),
        ..SimSpec::default()
    };
    let text = contract_toml(&spec);
    for line in [
        "# Contract for a district simulated by `obc simulate` (seed 9, messy).",
        "subject = \"reading\"",
        r#"pre = { window = "fall", school_year = "2023-24", from = "2023-08-01", to = "2023-10-31" }"#,
        r#"post = { window = "spring", school_year = "2023-24", from = "2024-04-01", to = "2024-06-30" }"#,
        r#"breaks = [{ from = "2023-12-22", to = "2024-01-02" }]"#,
        "enrolled_by = \"2023-11-15\"",
        "seed = 9",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_contract(&spec, dir.path()).unwrap();
    assert_eq!(path, dir.path().join(CONTRACT_FILE));
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

/// Tutored students' and comparison students' mean fall score.
fn fall_means(d: &District) -> (f64, f64) {
    let tutored: HashSet<&str> =
        d.roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.student_id.as_str()).collect();
    let (mut t, mut c) = (Vec::new(), Vec::new());
    for a in d.assessments.iter().filter(|a| a.window == "fall") {
        let s: f64 = a.scale_score.parse().unwrap();
        if tutored.contains(a.student_id.as_str()) { t.push(s) } else { c.push(s) }
    }
    (mean(&t).unwrap(), mean(&c).unwrap())
}

#[test]
fn chosen_provider_effects_replace_the_grid_and_nothing_else() {
    let chosen = vec![0.0, 0.0, 0.05, 0.1, 0.2, 0.3];
    let base = spec(2000, 5, false);
    let d = generate(&base).unwrap();
    let c = generate(&SimSpec { provider_effects: Some(chosen.clone()), ..base.clone() }).unwrap();
    let mut got: Vec<f64> = c.truth.providers.iter().map(|p| p.effect_sd).collect();
    got.sort_by(f64::total_cmp);
    assert_eq!(got, chosen);
    // the same permutation: the provider whose grid effect is the r-th smallest gets the
    // r-th smallest chosen effect
    let rank = |d: &District| {
        let mut ids: Vec<(f64, String)> =
            d.truth.providers.iter().map(|p| (p.effect_sd, p.provider_id.clone())).collect();
        ids.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        ids.into_iter().map(|x| x.1).collect::<Vec<_>>()
    };
    assert_eq!(rank(&d)[2..], rank(&c)[2..], "distinct effects keep their providers' ranks");
    // only the effects differ: same roster, sessions and history, other spring scores
    assert!(
        (&d.roster, &d.sessions, &d.history) == (&c.roster, &c.sessions, &c.history),
        "more than the effects differ"
    );
    assert!(d.assessments != c.assessments, "the effects changed no score");
    let json = serde_json::to_string(&c.truth.spec).unwrap();
    assert!(json.contains("\"provider_effects\":[0.0,0.0,0.05,0.1,0.2,0.3]"), "{json}");
    assert!(!serde_json::to_string(&d.truth.spec).unwrap().contains("provider_effects"));
}

#[test]
fn random_selection_tutors_high_and_low_scorers_alike() {
    let base = spec(4000, 8, false);
    let r = generate(&SimSpec { selection: Selection::Random, ..base.clone() }).unwrap();
    let share = r.truth.summary.n_tutored as f64 / 4000.0;
    assert!((0.37..0.43).contains(&share), "tutored share {share}");
    let (t, c) = fall_means(&r);
    // SE of the difference about 15 * sqrt(1/1600 + 1/2400) = 0.5
    assert!((t - c).abs() < 2.0, "tutored fall mean {t} vs comparison {c}");
    let (t0, c0) = fall_means(&generate(&base).unwrap());
    assert!(t0 + 5.0 < c0, "the default selects low scorers: {t0} vs {c0}");
    assert!(serde_json::to_string(&r.truth.spec).unwrap().contains("\"selection\":\"random\""));
}

#[test]
fn without_dosage_selection_attendance_and_the_post_test_do_not_depend_on_the_student() {
    let base = spec(4000, 21, false);
    let d = generate(&base).unwrap();
    let u = generate(&SimSpec { dosage_selection: false, ..base.clone() }).unwrap();
    // the same students, tutored by the same providers and tutors (the sessions are drawn
    // after the roster; attended sessions draw their minutes, so every later draw differs)
    assert!(d.roster == u.roster, "the rosters differ");
    // between-student SD of the attendance rate of students with at least 30 sessions:
    // ζ (SD 1 on the logit) spreads it, without it only the binomial noise is left
    let spread = |d: &District| {
        let rates: Vec<f64> = attendance(d)
            .values()
            .filter(|(a, b)| a + b >= 30)
            .map(|(a, b)| f64::from(*a) / f64::from(a + b))
            .collect();
        let m = mean(&rates).unwrap();
        (rates.iter().map(|r| (r - m).powi(2)).sum::<f64>() / rates.len() as f64).sqrt()
    };
    let (sd_sel, sd_unif) = (spread(&d), spread(&u));
    assert!(sd_unif + 0.05 < sd_sel, "attendance-rate SD {sd_unif} without, {sd_sel} with dosage selection");
    // 0.08 for everyone: bottom decile (about 160 students, SE about 0.02) and top half
    let (low, high) = missing_by_attendance(&u);
    assert!((low - high).abs() < 0.06, "missing spring: low attenders {low}, high {high}");
    assert!(serde_json::to_string(&u.truth.spec).unwrap().contains("\"dosage_selection\":false"));
}

/// Distinct student IDs of each school year of a history file.
fn history_ids_by_year(d: &District) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for h in &d.history {
        out.entry(h.school_year.as_str()).or_default().insert(h.student_id.as_str());
    }
    out
}

#[test]
fn several_history_years_are_fresh_cohorts_and_leave_the_rest_as_it_was() {
    let base = &clean().0;
    let d = generate(&SimSpec { history_years: 3, ..spec(N, 11, false) }).unwrap();
    // The current year and the history year Y−1 are the default district's, row for row.
    assert_eq!((&d.roster, &d.sessions, &d.assessments), (&base.roster, &base.sessions, &base.assessments));
    let y1: Vec<&HistoryRow> = d.history.iter().filter(|h| h.school_year == "2024-25").collect();
    assert_eq!(y1, base.history.iter().collect::<Vec<_>>());
    // Three cohorts whose IDs never collide with each other or with the roster.
    let by_year = history_ids_by_year(&d);
    assert_eq!(by_year.keys().copied().collect::<Vec<_>>(), vec!["2022-23", "2023-24", "2024-25"]);
    let roster: BTreeSet<&str> = d.roster.iter().map(|r| r.student_id.as_str()).collect();
    let mut all: BTreeSet<&str> = BTreeSet::new();
    for (year, ids) in &by_year {
        assert!((N * 90 / 100..=N * 110 / 100).contains(&ids.len()), "{year}: {} students", ids.len());
        assert!(ids.is_disjoint(&roster), "{year}");
        assert!(ids.is_disjoint(&all), "{year} repeats an ID of another year");
        all.extend(ids.iter().copied());
    }
    // Each year's tests are dated in that year's windows, and rows are sorted by ID and date.
    for h in &d.history {
        let start = parse_school_year(&h.school_year).unwrap();
        let (lo, hi) = window_bounds(&h.window, start).unwrap();
        let date = NaiveDate::parse_from_str(&h.test_date, "%Y-%m-%d").unwrap();
        assert!(date >= lo && date <= hi, "{h:?}");
    }
    assert!(d.history.windows(2).all(|w| (&w[0].student_id, &w[0].test_date) < (&w[1].student_id, &w[1].test_date)));
    // The truth counts every cohort and records the years, without drift.
    assert_eq!(d.truth.summary.n_history_students, all.len());
    assert_eq!(d.truth.summary.history_rows, d.history.len());
    assert_eq!(d.truth.schools.iter().map(|s| s.n_history_students).sum::<usize>(), all.len());
    let years: Vec<(&str, bool, usize, f64)> = d
        .truth
        .cohorts
        .iter()
        .map(|c| (c.school_year.as_str(), c.current, c.n_students, c.growth_shift_points))
        .collect();
    assert_eq!(
        years,
        vec![
            ("2022-23", false, by_year["2022-23"].len(), 0.0),
            ("2023-24", false, by_year["2023-24"].len(), 0.0),
            ("2024-25", false, by_year["2024-25"].len(), 0.0),
            ("2025-26", true, N, 0.0),
        ]
    );
    assert!(base.truth.cohorts.is_empty(), "a default district's truth is unchanged");
    let json = serde_json::to_string(&d.truth).unwrap();
    assert!(json.contains("\"history_years\":3") && !json.contains("cohort_sd"), "{}", &json[..300]);
    // A fourth year leaves the three drawn before as they were.
    let d4 = generate(&SimSpec { history_years: 4, ..spec(N, 11, false) }).unwrap();
    let first3: Vec<&HistoryRow> = d4.history.iter().filter(|h| h.school_year != "2021-22").collect();
    assert_eq!(first3, d.history.iter().collect::<Vec<_>>());
    // The contract names every history year's winter break.
    let text = contract_toml(&SimSpec { history_years: 3, ..SimSpec::default() });
    let breaks = r#"breaks = [{ from = "2022-12-22", to = "2023-01-02" }, { from = "2023-12-22", to = "2024-01-02" }, { from = "2024-12-22", to = "2025-01-02" }]"#;
    assert!(text.lines().any(|l| l == breaks), "{text}");
}

#[test]
fn messy_mode_with_several_history_years_invents_no_history_id() {
    let d = generate(&SimSpec { history_years: 2, ..spec(N, 11, true) }).unwrap();
    let history: HashSet<&str> = d.history.iter().map(|h| h.student_id.as_str()).collect();
    let roster: HashSet<String> = d.roster.iter().map(|r| pad(&r.student_id)).collect();
    let unknown: Vec<String> =
        d.assessments.iter().map(|a| pad(&a.student_id)).filter(|id| !roster.contains(id)).collect();
    assert!(!unknown.is_empty());
    assert!(unknown.iter().all(|id| !history.contains(id.as_str())), "an unknown student is a history student");
}

#[test]
fn cohort_drift_shifts_each_years_growth_and_is_recorded() {
    let base = &clean().0;
    let d = generate(&SimSpec { cohort_sd: 4.0, ..spec(N, 11, false) }).unwrap();
    // Who is tutored, the sessions and the fall tests are unchanged; later scores move.
    assert_eq!((&d.roster, &d.sessions), (&base.roster, &base.sessions));
    let falls =
        |d: &District| -> Vec<AssessmentRow> { d.assessments.iter().filter(|a| a.window == "fall").cloned().collect() };
    assert_eq!(falls(&d), falls(base));
    assert_ne!(d.assessments, base.assessments);
    let shifts: Vec<(&str, bool, f64)> =
        d.truth.cohorts.iter().map(|c| (c.school_year.as_str(), c.current, c.growth_shift_points)).collect();
    assert_eq!(shifts.len(), 2);
    assert_eq!((shifts[0].0, shifts[0].1, shifts[1].0, shifts[1].1), ("2024-25", false, "2025-26", true));
    assert!(shifts.iter().all(|s| s.2 != 0.0 && s.2.abs() < 4.0 * 5.0), "{shifts:?}");
    // The same shifts with more history years (their own stream, current year first).
    let d3 = generate(&SimSpec { cohort_sd: 4.0, history_years: 3, ..spec(N, 11, false) }).unwrap();
    let nu3: Vec<f64> = d3.truth.cohorts.iter().map(|c| c.growth_shift_points).collect();
    assert_eq!(&nu3[2..], &[shifts[0].2, shifts[1].2]);
    // The history cohort is the same students: each spring score moves by about
    // ν · weeks / 28 (the SEM, which depends on the status, moves a little too).
    let spring = |d: &District| -> BTreeMap<String, f64> {
        d.history
            .iter()
            .filter(|h| h.window == "spring")
            .map(|h| (h.student_id.clone(), h.scale_score.parse().unwrap()))
            .collect()
    };
    let (a, b) = (spring(base), spring(&d));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let diff = mean(&a.iter().map(|(k, v)| b[k] - v).collect::<Vec<_>>()).unwrap();
    let weeks = base.truth.model.calendar.mean_weeks_fall_to_spring;
    let expected = shifts[0].2 * weeks / 28.0;
    assert!((diff - expected).abs() < 0.3, "spring scores moved {diff:.3}, expected {expected:.3}");
    let json = serde_json::to_string(&d.truth).unwrap();
    assert!(json.contains("\"cohort_sd\":4.0") && json.contains("\"growth_shift_points\""));
}

#[test]
fn tutor_sd_scales_the_tutor_effects_and_nothing_else() {
    let base = &clean().0;
    let d = generate(&SimSpec { tutor_sd: 0.25, ..spec(N, 11, false) }).unwrap();
    // the same draws: who is tutored, by whom, and the fall tests are unchanged
    assert_eq!((&d.roster, &d.sessions), (&base.roster, &base.sessions));
    assert_eq!(d.truth.tutors.len(), base.truth.tutors.len());
    for (a, b) in d.truth.tutors.iter().zip(&base.truth.tutors) {
        assert_eq!(a.tutor_id, b.tutor_id);
        // written to 4 decimals: each rounded by at most 5e-5
        assert!((a.effect_sd - 5.0 * b.effect_sd).abs() <= 3e-4 + 1e-12, "{} vs {}", a.effect_sd, b.effect_sd);
    }
    assert_eq!(d.truth.model.effects.tutor_effect_sd, 0.25);
    // the default is left out of the written spec, so default districts keep their bytes
    assert!(serde_json::to_value(&base.truth.spec).unwrap().get("tutor_sd").is_none());
    assert_eq!(serde_json::to_value(&d.truth.spec).unwrap()["tutor_sd"], 0.25);
    assert!(matches!(generate(&SimSpec { tutor_sd: 0.6, ..spec(N, 11, false) }), Err(SimError::TutorSd { .. })));
}
