//! Published tutoring effects and typical annual growth (docs/methods.md 11), as data with
//! their sources, and [`compare`]: how a proposed growth target (in SD units) compares with
//! what tutoring programs of the provider's size achieve and with a typical year's growth.
//!
//! The annual-growth table (Hill, Bloom, Black & Lipsey 2008, Table 1) was transcribed from
//! a secondary source and **has not been verified against the paper** (docs/methods.md
//! 11.2); [`HILL_2008_VERIFIED`] is `false` and every sentence that uses it says so.
//!
//! Conventions of [`compare`]:
//! - a grade `g` uses the transition `g−1 → g` of the table (Hill's gains run spring to
//!   spring, so the school year a student spends in grade g is the (g−1) → g gain; grades 1
//!   to 12 have a transition); several grades use the unweighted mean of their transitions;
//! - proration: a school year is 36 instructional weeks and growth is spread evenly over it,
//!   so the typical growth in `w` weeks is `annual × w / 36`. Hill et al.'s gains are
//!   spring-to-spring (they include a summer), so this slightly overstates within-year growth.

use crate::stats::warning::{Warning, WarningCode};
use serde::Serialize;

/// Instructional weeks in a school year, for proration.
pub const WEEKS_PER_YEAR: f64 = 36.0;
/// The meta-analytic pooled effect used for warnings: 0.288 (Nickow, Oreopoulos & Quan,
/// AERJ), rounded.
pub const POOLED_EFFECT: f64 = 0.29;

/// Subject of a benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Subject {
    Reading,
    Math,
}

impl Subject {
    pub fn name(self) -> &'static str {
        match self {
            Subject::Reading => "reading",
            Subject::Math => "math",
        }
    }
}

/// "math"/"mathematics" → math; "reading"/"ela"/"literacy" → reading (case and surrounding
/// spaces ignored); anything else → `None`.
pub fn parse_subject(s: &str) -> Option<Subject> {
    match s.trim().to_ascii_lowercase().as_str() {
        "math" | "mathematics" => Some(Subject::Math),
        "reading" | "ela" | "literacy" => Some(Subject::Reading),
        _ => None,
    }
}

/// A published tutoring effect (or range), in SD units.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TutoringEffect {
    pub key: &'static str,
    pub study: &'static str,
    /// Lower and upper end (equal for a point estimate).
    pub low: f64,
    pub high: f64,
    /// `None`: all subjects pooled.
    pub subject: Option<Subject>,
    pub note: &'static str,
    pub source: &'static str,
}

const NICKOW_AERJ: &str = "Nickow, Oreopoulos & Quan, AERJ 2023/24 (89 RCTs)";
const NICKOW_AERJ_SRC: &str = "nssa.stanford.edu/studies/promise-tutoring-prek-12-learning-systematic-review-and-metaanalysis-experimental-evidence; restartnetwork.org";
const KRAFT: &str = "Kraft, Schueler & Falken, EdWorkingPaper 24-1031 (265-282 RCTs)";
const KRAFT_SRC: &str = "nssa.stanford.edu/studies/what-impacts-should-we-expect-tutoring-scale-exploring-meta-analytic-generalizability; schoolleadership20.com/forum/topics/the-impact-of-tutoring-programs-at-scale";

/// Published tutoring effects (docs/methods.md 11.1).
pub const TUTORING_EFFECTS: &[TutoringEffect] = &[
    TutoringEffect {
        key: "nickow_2020",
        study: "Nickow, Oreopoulos & Quan, NBER Working Paper 27476 (2020)",
        low: 0.37,
        high: 0.37,
        subject: None,
        note: "pooled effect of tutoring RCTs",
        source: "nber.org/papers/w27476",
    },
    TutoringEffect {
        key: "nickow_aerj",
        study: NICKOW_AERJ,
        low: 0.288,
        high: 0.288,
        subject: None,
        note: "pooled effect (SE 0.029); largest for teacher/paraprofessional tutors, earlier grades, 3+ days a week, in school",
        source: NICKOW_AERJ_SRC,
    },
    TutoringEffect {
        key: "nickow_aerj_math",
        study: NICKOW_AERJ,
        low: 0.268,
        high: 0.268,
        subject: Some(Subject::Math),
        note: "pooled math effect",
        source: NICKOW_AERJ_SRC,
    },
    TutoringEffect {
        key: "nickow_aerj_literacy",
        study: NICKOW_AERJ,
        low: 0.290,
        high: 0.290,
        subject: Some(Subject::Reading),
        note: "pooled literacy effect",
        source: NICKOW_AERJ_SRC,
    },
    TutoringEffect {
        key: "kraft_overall",
        study: KRAFT,
        low: 0.42,
        high: 0.42,
        subject: None,
        note: "pooled effect; the policy-relevant subset is a third to a half as large",
        source: KRAFT_SRC,
    },
    TutoringEffect {
        key: "kraft_reading",
        study: KRAFT,
        low: 0.436,
        high: 0.436,
        subject: Some(Subject::Reading),
        note: "pooled reading effect",
        source: KRAFT_SRC,
    },
    TutoringEffect {
        key: "kraft_math",
        study: KRAFT,
        low: 0.385,
        high: 0.385,
        subject: Some(Subject::Math),
        note: "pooled math effect",
        source: KRAFT_SRC,
    },
    TutoringEffect {
        key: "saga",
        study: "Saga (Guryan et al., AER 2023), Chicago, 2:1, 50 min a day",
        low: 0.16,
        high: 0.37,
        subject: Some(Subject::Math),
        note: "participation effects of two RCTs (0.16 and 0.37)",
        source: "ipr.northwestern.edu/our-work/working-papers/2021/wp-21-12.html; educationlab.uchicago.edu",
    },
    TutoringEffect {
        key: "at_scale",
        study: KRAFT,
        low: 0.16,
        high: 0.21,
        subject: None,
        note: "programs serving 400 or more students",
        source: KRAFT_SRC,
    },
    TutoringEffect {
        key: "nashville",
        study: "Metro Nashville district-run tutoring at scale, EdWorkingPaper 24-1030",
        low: 0.04,
        high: 0.09,
        subject: Some(Subject::Reading),
        note: "reading; no math effect",
        source: "edworkingpapers.com/ai24-1030",
    },
];

/// The effect in [`TUTORING_EFFECTS`] with this key.
pub fn effect(key: &str) -> Option<&'static TutoringEffect> {
    TUTORING_EFFECTS.iter().find(|e| e.key == key)
}

/// Average effect by program size (Kraft, Schueler & Falken).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizeBand {
    /// Smallest and largest program size (students) of the band; `None`: no upper limit.
    pub min: usize,
    pub max: Option<usize>,
    pub effect: f64,
    pub label: &'static str,
}

/// Kraft, Schueler & Falken's effects by program size: 0.44 (<100 students), 0.30
/// (100-399), 0.21 (400-999), 0.16 (1,000 or more).
pub const KRAFT_BY_SIZE: &[SizeBand] = &[
    SizeBand { min: 0, max: Some(99), effect: 0.44, label: "fewer than 100" },
    SizeBand { min: 100, max: Some(399), effect: 0.30, label: "100-399" },
    SizeBand { min: 400, max: Some(999), effect: 0.21, label: "400-999" },
    SizeBand { min: 1000, max: None, effect: 0.16, label: "1,000 or more" },
];

/// The size band a program of `students` students falls in.
pub fn size_band(students: usize) -> &'static SizeBand {
    KRAFT_BY_SIZE.iter().rev().find(|b| students >= b.min).unwrap_or(&KRAFT_BY_SIZE[0])
}

/// Typical annual gain (SD units) from the spring of grade `from` to the spring of grade
/// `from + 1` (kindergarten = 0).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct AnnualGain {
    pub from: i32,
    #[serde(deserialize_with = "crate::contract::results::nan_if_null")]
    pub reading: f64,
    #[serde(deserialize_with = "crate::contract::results::nan_if_null")]
    pub math: f64,
}

/// Hill, Bloom, Black & Lipsey (2008), *Child Development Perspectives* 2(3), Table 1 (how
/// they are used: docs/methods.md 11.2). **Not verified against the paper** ([`HILL_2008_VERIFIED`]).
pub const HILL_2008: &[AnnualGain] = &[
    AnnualGain { from: 0, reading: 1.52, math: 1.14 },
    AnnualGain { from: 1, reading: 0.97, math: 1.03 },
    AnnualGain { from: 2, reading: 0.60, math: 0.89 },
    AnnualGain { from: 3, reading: 0.36, math: 0.52 },
    AnnualGain { from: 4, reading: 0.40, math: 0.56 },
    AnnualGain { from: 5, reading: 0.32, math: 0.41 },
    AnnualGain { from: 6, reading: 0.23, math: 0.30 },
    AnnualGain { from: 7, reading: 0.26, math: 0.32 },
    AnnualGain { from: 8, reading: 0.24, math: 0.22 },
    AnnualGain { from: 9, reading: 0.19, math: 0.25 },
    AnnualGain { from: 10, reading: 0.19, math: 0.14 },
    AnnualGain { from: 11, reading: 0.06, math: 0.01 },
];
/// The Hill et al. values have not been checked against the paper (docs/methods.md 11.2).
pub const HILL_2008_VERIFIED: bool = false;
pub const HILL_2008_CITATION: &str = "Hill, Bloom, Black & Lipsey 2008, Child Development Perspectives 2(3), Table 1";
pub const HILL_2008_SOURCE: &str =
    "mdrc.org/publication/performance-trajectories-and-performance-gaps-achievement-effect-size-benchmarks";

/// Weeks as written in sentences: whole weeks, or one decimal.
fn round_weeks(w: f64) -> String {
    if (w - w.round()).abs() < 0.05 { format!("{:.0}", w.round()) } else { format!("{w:.1}") }
}

/// The transition of the table used for a student in grade `grade` (module docs: `g−1 → g`).
pub fn transition_from(grade: i32) -> i32 {
    grade - 1
}

/// Typical annual gain for a student in `grade` (via [`transition_from`]), if tabulated.
pub fn annual_gain(grade: i32, subject: Subject) -> Option<f64> {
    let from = transition_from(grade);
    HILL_2008.iter().find(|g| g.from == from).map(|g| match subject {
        Subject::Reading => g.reading,
        Subject::Math => g.math,
    })
}

/// How a target compares with published effects and annual growth.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Comparison {
    #[serde(deserialize_with = "crate::contract::results::nan_if_null")]
    pub target_sd: f64,
    /// Kraft et al.'s average effect for programs of the provider's size.
    #[serde(deserialize_with = "crate::contract::results::nan_if_null")]
    pub program_size_benchmark: f64,
    /// Typical annual gain (mean over the grades' transitions), if subject and grades allow.
    pub annual_growth_sd: Option<f64>,
    /// `target_sd / annual_growth_sd`: the fraction of a typical year's gain the target asks for.
    pub share_of_annual_growth: Option<f64>,
    /// `target_sd / (annual_growth_sd × weeks / 36)`: the target as a multiple of the typical
    /// growth over the contract's weeks.
    pub multiple_of_prorated_growth: Option<f64>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// Plain-English sentences with citations.
    pub lines: Vec<String>,
}

/// The common fraction within 10% of `x`, in words ("two-thirds", "a quarter", ...).
fn fraction_name(x: f64) -> Option<&'static str> {
    const NAMED: [(f64, &str); 13] = [
        (0.1, "a tenth"),
        (0.125, "an eighth"),
        (1.0 / 6.0, "a sixth"),
        (0.2, "a fifth"),
        (0.25, "a quarter"),
        (1.0 / 3.0, "a third"),
        (0.4, "two-fifths"),
        (0.5, "half"),
        (0.6, "three-fifths"),
        (2.0 / 3.0, "two-thirds"),
        (0.75, "three-quarters"),
        (0.8, "four-fifths"),
        (1.0, "all"),
    ];
    let best = NAMED.iter().min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))?;
    ((best.0 - x).abs() <= 0.1 * best.0).then_some(best.1)
}

/// "about two-thirds (67%)", "1.5 times (150%)", or "about 45%".
fn fraction_words(x: f64) -> String {
    let pct = format!("{:.0}%", 100.0 * x);
    if x > 1.05 {
        return format!("{x:.1} times ({pct})");
    }
    match fraction_name(x) {
        Some("all") if x < 0.995 => format!("nearly all ({pct})"),
        Some("all") => format!("all ({pct})"),
        Some(name) => format!("about {name} ({pct})"),
        None => format!("about {pct}"),
    }
}

/// A multiple in words with enough digits: "1.5 times", "0.35 times", "0.023 times", "less
/// than 0.001 times" (never "0.0 times" for a small positive multiple).
pub fn times(m: f64) -> String {
    if m >= 0.95 || m <= 0.0 {
        format!("{m:.1} times")
    } else if m >= 0.1 {
        format!("{m:.2} times")
    } else if m >= 0.001 {
        format!("{m:.3} times")
    } else {
        "less than 0.001 times".to_string()
    }
}

/// How a target compares with Kraft et al.'s effect for each provider size of the OC grid,
/// sizes of the same band together: "For the grid's provider sizes: 25 and 50 students
/// (programs of fewer than 100 students, 0.44 SD): at or below; ...".
pub fn by_sizes(target_sd: f64, sizes: &[usize]) -> String {
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    for band in KRAFT_BY_SIZE {
        let ns: Vec<String> =
            sorted.iter().filter(|&&n| std::ptr::eq(size_band(n), band)).map(|n| n.to_string()).collect();
        if ns.is_empty() {
            continue;
        }
        let verdict = if target_sd > band.effect { "above" } else { "at or below" };
        let students = if ns.len() > 1 {
            format!("{} and {}", ns[..ns.len() - 1].join(", "), ns[ns.len() - 1])
        } else {
            ns[0].clone()
        };
        parts.push(format!(
            "{students} students (programs serving {} students, {:.2} SD): {verdict}",
            band.label, band.effect
        ));
    }
    format!(
        "For the provider sizes of the OC grid, the target of +{target_sd:.2} SD against the average effect of programs \
         of the same size (Kraft, Schueler & Falken): {}.",
        parts.join("; ")
    )
}

fn grade_name(g: i32) -> String {
    if g == 0 { "K".into() } else { g.to_string() }
}

/// Compares a target (`target_sd`, SD units, over `weeks` instructional weeks, for students
/// in `grades`, in `subject`, for a provider serving `provider_size` students) with Kraft et
/// al.'s effect for programs of that size, the pooled meta-analytic effect (0.29) and Hill et
/// al.'s typical annual growth (module docs for the conventions).
pub fn compare(target_sd: f64, weeks: f64, grades: &[i32], subject: &str, provider_size: usize) -> Comparison {
    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    let band = size_band(provider_size);
    let bench = band.effect;
    if !target_sd.is_finite() {
        warnings.push(Warning::new(
            WarningCode::Benchmark,
            format!("The target ({target_sd}) is not a number of SD units; no comparison is possible."),
        ));
    }

    if target_sd > bench {
        warnings.push(Warning::new(WarningCode::Benchmark, format!(
            "The target of +{target_sd:.2} SD exceeds the average effect of tutoring programs serving {} students, \
             {bench:.2} SD (Kraft, Schueler & Falken, EdWorkingPaper 24-1031, effects by program size); a provider with \
             {provider_size} students would have to outperform the typical program of its size.",
            band.label
        )));
    } else if target_sd.is_finite() {
        lines.push(format!(
            "For a provider of {provider_size} students, the target of +{target_sd:.2} SD is at or below the average \
             effect of tutoring programs serving {} students, {bench:.2} SD (Kraft, Schueler & Falken, EdWorkingPaper \
             24-1031).",
            band.label
        ));
    }
    if target_sd > POOLED_EFFECT {
        warnings.push(Warning::new(WarningCode::Benchmark, format!(
            "The target of +{target_sd:.2} SD exceeds the pooled effect of tutoring RCTs, 0.29 SD (0.288, SE 0.029; \
             Nickow, Oreopoulos & Quan, AERJ, 89 RCTs), which pools programs of every size and comes mostly from small, \
             closely run trials; the provider has {provider_size} students."
        )));
    }
    lines.push(
        "At scale, tutoring effects are smaller: 0.21 SD for programs of 400-999 students and 0.16 SD for 1,000 or \
         more (Kraft, Schueler & Falken); Saga's Chicago trials, each serving thousands of students, found 0.16-0.37 SD \
         (Guryan et al., AER 2023); district-run tutoring across Metro Nashville, a whole district, found 0.04-0.09 SD \
         in reading and no math effect (EdWorkingPaper 24-1030)."
            .to_string(),
    );

    let subj = parse_subject(subject);
    if subj.is_none() {
        warnings.push(Warning::new(WarningCode::Benchmark, format!(
            "Subject \"{subject}\" is not recognised (use math/mathematics or reading/ela/literacy); no annual-growth \
             benchmark is available."
        )));
    }
    let mut used = Vec::new();
    if let Some(s) = subj {
        for &g in grades {
            match annual_gain(g, s) {
                Some(a) => used.push((g, a)),
                None => warnings.push(Warning::new(WarningCode::Benchmark, format!(
                    "Grade {g} has no typical annual gain in Hill et al. (2008) (grades K-11, transition g to g+1); \
                     it is left out of the growth comparison."
                ))),
            }
        }
        if grades.is_empty() {
            warnings.push(Warning::new(
                WarningCode::Benchmark,
                "No grades given; no annual-growth benchmark is available.".to_string(),
            ));
        }
    }
    let annual = (!used.is_empty()).then(|| used.iter().map(|u| u.1).sum::<f64>() / used.len() as f64);
    let share = annual.filter(|a| *a > 0.0 && target_sd.is_finite()).map(|a| target_sd / a);
    let weeks_ok = weeks.is_finite() && weeks > 0.0;
    if !weeks_ok {
        warnings.push(Warning::new(
            WarningCode::Benchmark,
            format!("{weeks} weeks is not a positive duration; the growth comparison is not prorated."),
        ));
    }
    let multiple = share.filter(|_| weeks_ok).map(|s| s * WEEKS_PER_YEAR / weeks);

    if let (Some(a), Some(s), Some(subj)) = (annual, share, subj) {
        let transitions: Vec<String> = used
            .iter()
            .map(|(g, _)| format!("{}-{}", grade_name(transition_from(*g)), grade_name(transition_from(*g) + 1)))
            .collect();
        let grades_text: Vec<String> = used.iter().map(|u| grade_name(u.0)).collect();
        let unverified = if HILL_2008_VERIFIED { "" } else { "; values not yet verified against the paper" };
        let what = if weeks_ok { format!("A {}-week target", round_weeks(weeks)) } else { "A target".to_string() };
        let mut line = format!(
            "{what} of +{target_sd:.2} SD for {} {} asks for {} of a year's typical {} gain ({a:.2} SD, grade {} \
             transition{}, {HILL_2008_CITATION}{unverified})",
            if used.len() > 1 { "grades" } else { "grade" },
            grades_text.join(", "),
            fraction_words(s),
            subj.name(),
            transitions.join(", "),
            if used.len() > 1 { "s averaged" } else { "" },
        );
        if let Some(m) = multiple {
            let year = weeks / WEEKS_PER_YEAR;
            let part = match fraction_name(year) {
                Some(name) if year <= 1.05 => format!("about {name} of a {WEEKS_PER_YEAR}-week school year"),
                _ => format!("{:.0}% of a {WEEKS_PER_YEAR}-week school year", 100.0 * year),
            };
            line.push_str(&format!(
                " in {part}, i.e. {} the typical growth over {} weeks (growth spread evenly over the year; \
                 growth benchmarks do not depend on the provider's size).",
                times(m),
                round_weeks(weeks)
            ));
        } else {
            line.push('.');
        }
        lines.push(line);
    }

    Comparison {
        target_sd,
        program_size_benchmark: bench,
        annual_growth_sd: annual,
        share_of_annual_growth: share,
        multiple_of_prorated_growth: multiple,
        warnings,
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_match_domain_section_7() {
        assert_eq!(effect("nickow_2020").unwrap().low, 0.37);
        assert_eq!(effect("nickow_aerj").unwrap().low, 0.288);
        assert_eq!(effect("nickow_aerj_math").unwrap().low, 0.268);
        assert_eq!(effect("nickow_aerj_literacy").unwrap().low, 0.290);
        assert_eq!(effect("kraft_overall").unwrap().low, 0.42);
        let saga = effect("saga").unwrap();
        assert_eq!((saga.low, saga.high), (0.16, 0.37));
        let scale = effect("at_scale").unwrap();
        assert_eq!((scale.low, scale.high), (0.16, 0.21));
        let nash = effect("nashville").unwrap();
        assert_eq!((nash.low, nash.high, nash.subject), (0.04, 0.09, Some(Subject::Reading)));
        assert!(TUTORING_EFFECTS.iter().all(|e| !e.source.is_empty() && e.low <= e.high));
        assert_eq!(size_band(0).effect, 0.44);
        assert_eq!(size_band(99).effect, 0.44);
        assert_eq!(size_band(100).effect, 0.30);
        assert_eq!(size_band(399).effect, 0.30);
        assert_eq!(size_band(400).effect, 0.21);
        assert_eq!(size_band(999).effect, 0.21);
        assert_eq!(size_band(1000).effect, 0.16);
        assert_eq!(size_band(1_000_000).effect, 0.16);
        assert_eq!(HILL_2008.len(), 12);
        const { assert!(!HILL_2008_VERIFIED) };
        assert_eq!(annual_gain(1, Subject::Reading), Some(1.52));
        assert_eq!(annual_gain(7, Subject::Math), Some(0.30));
        assert_eq!(annual_gain(9, Subject::Math), Some(0.22));
        assert_eq!(annual_gain(12, Subject::Math), Some(0.01));
        assert_eq!(annual_gain(13, Subject::Math), None);
        assert_eq!(annual_gain(0, Subject::Math), None);
    }

    #[test]
    fn subjects_are_matched() {
        for s in ["math", "Mathematics", " MATH "] {
            assert_eq!(parse_subject(s), Some(Subject::Math), "{s}");
        }
        for s in ["reading", "ELA", "Literacy"] {
            assert_eq!(parse_subject(s), Some(Subject::Reading), "{s}");
        }
        for s in ["science", "", "maths"] {
            assert_eq!(parse_subject(s), None, "{s}");
        }
    }

    #[test]
    fn grade_7_example() {
        // The worked example of docs/methods.md 11.2: a 12-week target of +0.2 SD in grade 7
        // math against the 6-7 transition (0.30): 0.2 / 0.30 = two-thirds of a year's gain.
        let c = compare(0.2, 12.0, &[7], "math", 50);
        assert_eq!(c.annual_growth_sd, Some(0.30));
        let s = c.share_of_annual_growth.unwrap();
        assert!((s - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.multiple_of_prorated_growth.unwrap() - 2.0).abs() < 1e-12);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let line = c.lines.iter().find(|l| l.contains("12-week target")).expect("growth line");
        assert!(
            line.contains("two-thirds") && line.contains("6-7") && line.contains("Hill, Bloom, Black & Lipsey 2008"),
            "{line}"
        );
        assert!(line.contains("not yet verified"), "{line}");
        assert!(line.contains("about a third of a 36-week school year"), "{line}");
        // reading, grade 7: 0.2 / 0.23 (6-7 reading)
        let r = compare(0.2, 12.0, &[7], "ELA", 50);
        assert!((r.share_of_annual_growth.unwrap() - 0.2 / 0.23).abs() < 1e-12);
        // several grades: unweighted mean of their transitions (5-6 0.41, 6-7 0.30)
        let m = compare(0.2, 12.0, &[6, 7], "math", 50);
        assert!((m.annual_growth_sd.unwrap() - 0.355).abs() < 1e-12);
        assert!(
            m.lines.iter().any(|l| l.contains("for grades 6, 7 asks") && l.contains("transitions averaged")),
            "{:?}",
            m.lines
        );
    }

    #[test]
    fn warns_when_target_exceeds_program_size_effect() {
        // 0.25 is below 0.30 (100-399) but above 0.21 (400-999) and 0.16 (1,000+)
        assert!(compare(0.25, 12.0, &[7], "math", 200).warnings.is_empty());
        let c = compare(0.25, 12.0, &[7], "math", 500);
        assert_eq!(c.program_size_benchmark, 0.21);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].message.contains("400-999") && c.warnings[0].message.contains("Kraft"),
            "{}",
            c.warnings[0]
        );
        assert_eq!(compare(0.25, 12.0, &[7], "math", 5000).program_size_benchmark, 0.16);
    }

    #[test]
    fn warns_when_target_exceeds_pooled_effect() {
        // 0.35 is below 0.44 (< 100 students) but above the pooled 0.29
        let c = compare(0.35, 12.0, &[4], "reading", 50);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].message.contains("0.29") && c.warnings[0].message.contains("Nickow"),
            "{}",
            c.warnings[0]
        );
        assert!(!compare(0.29, 12.0, &[4], "reading", 50).warnings.iter().any(|w| w.message.contains("Nickow")));
        // both warnings for a large provider
        assert_eq!(compare(0.35, 12.0, &[4], "reading", 2000).warnings.len(), 2);
    }

    #[test]
    fn warns_on_unknown_subject_grade_or_weeks() {
        let c = compare(0.2, 12.0, &[7], "science", 50);
        assert_eq!(c.annual_growth_sd, None);
        assert_eq!(c.share_of_annual_growth, None);
        assert!(c.warnings.iter().any(|w| w.message.contains("science")));
        let c = compare(0.2, 12.0, &[13, 7], "math", 50);
        assert_eq!(c.annual_growth_sd, Some(0.30));
        assert!(c.warnings.iter().any(|w| w.message.contains("Grade 13")));
        let c = compare(0.2, 0.0, &[7], "math", 50);
        assert!(c.share_of_annual_growth.is_some() && c.multiple_of_prorated_growth.is_none());
        assert!(c.warnings.iter().any(|w| w.message.contains("not prorated")));
        assert!(compare(0.2, 12.0, &[], "math", 50).warnings.iter().any(|w| w.message.contains("No grades")));
    }

    #[test]
    fn small_multiples_keep_their_digits_and_sizes_are_named() {
        assert_eq!(times(1.46), "1.5 times");
        assert_eq!(times(0.35), "0.35 times");
        assert_eq!(times(0.023), "0.023 times");
        assert_eq!(times(0.0004), "less than 0.001 times");
        let c = compare(0.01, 31.6, &[3, 4], "math", 100);
        assert!(c.lines.iter().all(|l| !l.contains(" 0.0 times")), "{:?}", c.lines);
        assert!(c.lines[0].starts_with("For a provider of 100 students"), "{}", c.lines[0]);
        let s = by_sizes(0.25, &[25, 50, 100, 200, 400]);
        assert!(
            s.contains("25 and 50 students (programs serving fewer than 100 students, 0.44 SD): at or below"),
            "{s}"
        );
        assert!(s.contains("100 and 200 students (programs serving 100-399 students, 0.30 SD): at or below"), "{s}");
        assert!(s.contains("400 students (programs serving 400-999 students, 0.21 SD): above"), "{s}");
    }

    #[test]
    fn fractions_in_words() {
        assert_eq!(fraction_words(2.0 / 3.0), "about two-thirds (67%)");
        assert_eq!(fraction_words(1.0 / 3.0), "about a third (33%)");
        assert_eq!(fraction_words(0.625), "about three-fifths (62%)");
        assert_eq!(fraction_words(1.5), "1.5 times (150%)");
        assert_eq!(fraction_words(0.92), "nearly all (92%)");
        assert_eq!(fraction_words(1.0), "all (100%)");
        assert_eq!(fraction_words(0.45), "about 45%");
    }
}
