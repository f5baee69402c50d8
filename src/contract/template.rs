//! The commented contract template of `obc init` (README "Starting a new contract: obc
//! init"): every section an analyst fills, the defaults of the rest, and the `[columns]`
//! mapping guessed from the headers of the district's files ([`crate::data::guess`]).
//! Pure string building: the command reads the files and writes the text.
//!
//! A value the analyst must choose (test windows, thresholds, payment amounts) is written
//! as `key = TODO`, which is not valid TOML: `obc check` stops at the first one and shows
//! its line, so a template is never settled with a made-up number.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::data::guess::{DateForm, FileGuess};
use crate::data::schema::Role;

/// One file given to `obc init`: its role, its path as the contract writes it (relative to
/// the contract's folder, `/`-separated) and what was guessed from it.
#[derive(Clone, Debug)]
pub struct InitFile<'a> {
    pub role: Role,
    pub path: String,
    pub guess: &'a FileGuess,
}

/// What the template is built from.
#[derive(Clone, Debug)]
pub struct InitSpec<'a> {
    pub files: Vec<InitFile<'a>>,
    /// `[contract] subject`, when given.
    pub subject: Option<String>,
}

/// The `[columns]` mapping of the guesses: shared keys and per-file tables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnPlan {
    /// field -> header, for every file that has the field.
    pub shared: BTreeMap<&'static str, String>,
    /// Per-file overrides and mappings, by file.
    pub per_file: BTreeMap<Role, BTreeMap<&'static str, String>>,
    /// Required fields of each file without a guessed header.
    pub todo: BTreeMap<Role, Vec<&'static str>>,
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The mapping to write: a field whose header differs from its name (beyond case) in some
/// file is mapped, in as few lines as possible. When every given file with the field has a
/// header for it, its most common mapped header may be a shared key, the other files
/// overriding it; otherwise (or when that takes more lines) each file that needs it maps the
/// field in its own table. A file that lacks the column (an optional field) never gets a
/// shared key, which would make the column required there.
pub fn column_plan(files: &[(Role, &FileGuess)]) -> ColumnPlan {
    let mut plan = ColumnPlan::default();
    let mut fields: Vec<&'static str> = Vec::new();
    for (role, _) in files {
        for f in role.fields() {
            if !fields.contains(&f.name) {
                fields.push(f.name);
            }
        }
    }
    for field in fields {
        let having: Vec<(Role, Option<&String>)> = files
            .iter()
            .filter(|(r, _)| r.fields().iter().any(|f| f.name == field))
            .map(|(r, g)| (*r, g.mapping.get(field)))
            .collect();
        let needs_map = |h: &String| !h.eq_ignore_ascii_case(field);
        if !having.iter().any(|(_, h)| h.is_some_and(needs_map)) {
            continue;
        }
        let mapped: Vec<&String> = having.iter().filter_map(|(_, h)| h.filter(|h| needs_map(h))).collect();
        let count = |h: &String| mapped.iter().filter(|x| **x == h).count();
        let best = mapped.iter().copied().max_by_key(|h| (count(h), std::cmp::Reverse(first_at(&mapped, h))));
        let best = best.expect("a header that needs a mapping").clone();
        // A shared key costs one line plus an override for every file with another header.
        let overrides = having.iter().filter(|(_, h)| *h != Some(&best)).count();
        if having.iter().all(|(_, h)| h.is_some()) && overrides < mapped.len() {
            for (role, h) in &having {
                if let Some(h) = h.filter(|h| **h != best) {
                    plan.per_file.entry(*role).or_default().insert(field, h.clone());
                }
            }
            plan.shared.insert(field, best);
        } else {
            for (role, h) in &having {
                if let Some(h) = h.filter(|h| needs_map(h)) {
                    plan.per_file.entry(*role).or_default().insert(field, h.clone());
                }
            }
        }
    }
    for (role, g) in files {
        let missing = g.missing_required();
        if !missing.is_empty() {
            plan.todo.insert(*role, missing);
        }
    }
    plan
}

fn first_at(headers: &[&String], h: &String) -> usize {
    headers.iter().position(|x| *x == h).unwrap_or(usize::MAX)
}

/// The `[columns]` section of the template.
fn columns_section(spec: &InitSpec) -> String {
    let pairs: Vec<(Role, &FileGuess)> = spec.files.iter().map(|f| (f.role, f.guess)).collect();
    let plan = column_plan(&pairs);
    let mut s = String::from(
        "# Column mapping: field = \"your header\". A key of [columns] maps the field in every file that has\n\
         # it; [columns.roster], [columns.sessions], [columns.assessments], [columns.history] override it\n\
         # for one file. A field left out is looked up by its own name (any case). Guessed by `obc init`\n\
         # from the files' headers: check each line.\n[columns]\n",
    );
    for (field, header) in &plan.shared {
        let _ = writeln!(s, "{field} = {}", quote(header));
    }
    for f in &spec.files {
        let own = plan.per_file.get(&f.role);
        let todo = plan.todo.get(&f.role);
        let odd_dates: Vec<&(&str, DateForm)> =
            f.guess.dates.iter().filter(|(_, d)| !matches!(d, DateForm::Iso | DateForm::Empty)).collect();
        if own.is_none() && todo.is_none() && odd_dates.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n[columns.{}]", f.role.name());
        for (field, header) in own.into_iter().flatten() {
            let _ = writeln!(s, "{field} = {}", quote(header));
        }
        for field in todo.into_iter().flatten() {
            let headers: Vec<String> = f.guess.headers.iter().map(|h| quote(h)).collect();
            let _ = writeln!(
                s,
                "# {field} = \"TODO\"  # TODO: required; which header holds it? The file's headers: {}",
                headers.join(", ")
            );
        }
        for (field, form) in odd_dates {
            let header = f.guess.mapping.get(field).map_or_else(|| (*field).to_string(), |h| h.clone());
            let _ = writeln!(s, "# {field} ({}): the dates look {}", quote(&header), form.describe());
        }
    }
    s
}

/// The `[contract]` and `[files]` sections.
fn head_sections(spec: &InitSpec) -> String {
    let mut s = String::from(
        "# Contract for `obc check` and `obc baseline`, written by `obc init` (README \"The contract file\",\n\
         # docs/contracts.md). Every line marked TODO needs a value: obc refuses the file until then.\n\
         # Commented-out keys show their default.\n\n[contract]\n\
         name = TODO  # TODO: a title for reports, e.g. \"Springfield 2025-26 math tutoring\"\n",
    );
    match &spec.subject {
        Some(sub) => {
            let _ = writeln!(s, "subject = {}  # or a list, e.g. [\"math\", \"reading\"]", quote(sub));
        }
        None => s.push_str("subject = TODO  # TODO: the subject as the assessments file writes it, e.g. \"math\"\n"),
    }
    s.push_str(
        "# grades = [3, 4, 5, 6, 7, 8]   # students in other grades are excluded (default: every grade)\n\
         # providers = [\"P1\", \"P2\"]      # any other provider ID is an exception (default: any ID)\n\
         # comparison_values = [\"\"]      # roster provider_id values meaning \"not tutored\" (default: empty only)\n\n\
         # Input files, relative to this file (.csv, .tsv or .parquet).\n[files]\n",
    );
    let outside = spec.files.iter().any(|f| f.path.starts_with("../") || f.path.starts_with('/'));
    for role in [Role::Roster, Role::Sessions, Role::Assessments, Role::History] {
        match spec.files.iter().find(|f| f.role == role) {
            Some(f) => {
                let _ = writeln!(s, "{} = {}", role.name(), quote(&f.path));
            }
            None if role == Role::History => s.push_str(
                "# history = \"history.csv\"  # the prior year's tests: growth norms and `obc baseline` need it\n",
            ),
            None => {
                let _ =
                    writeln!(s, "{} = TODO  # TODO: path of the {} file, e.g. \"{0}.csv\"", role.name(), role.name());
            }
        }
    }
    if outside {
        s.push_str("allow_outside = true  # the files are outside this folder; or move them next to the contract\n");
    }
    s
}

/// The rule sections: tests, eligibility, reporting, norms, outcome, metric, decision.
const RULES: &str = r#"
# Which test is the pre-test and which the post-test: a window label (as the file's window
# column writes it), a date range, a school year, or several of these.
[tests]
pre = TODO  # TODO: e.g. { window = "fall", school_year = "2025-26", from = "2025-08-01", to = "2025-10-31" }
post = TODO  # TODO: e.g. { window = "spring", school_year = "2025-26", from = "2026-04-01", to = "2026-06-30" }
breaks = TODO  # TODO: periods without instruction, e.g. [{ from = "2025-12-22", to = "2026-01-02" }], or []
# retest = "min_sem_then_latest"  # several tests in a window: min_sem_then_latest, latest or earliest
# require_valid = true            # tests flagged invalid never count

# The history file's windows; default: the [tests] windows one school year earlier. Its winter
# break matters for the growth norms (docs/methods.md 10.5).
# [history]
# breaks = [{ from = "2024-12-22", to = "2025-01-02" }]

# Who counts for a provider (comparison students have no dosage rule).
[eligibility]
enrolled_by = TODO  # TODO: date; students enrolled (or first tutored) later do not count, e.g. "2025-11-15"
min_sessions = TODO  # TODO: attended sessions a student needs to count, e.g. 20
# min_minutes = 0    # attended minutes a student needs to count

# [ids]
# pad_width = 6  # left-pad all-digit student IDs to this width (repairs IDs a spreadsheet shortened)

[reporting]
# groups = ["low_income", "race_ethnicity", "english_learner", "disability", "gender"]  # equity groups reported
# min_cell = 10                     # public tables suppress cells with fewer students
# attrition_boundary = "cautious"   # WWC attrition boundary: cautious or optimistic

# Growth norms: "conditional" or "sgp" are fitted on files.history; "file" reads a norms.json
# (file = "norms.json").
[norms]
method = "conditional"
# min_n = 1000  # smallest history group (grade) fitted

# What a student must reach: growth_vs_norm (growth at least the norm's expected growth), or
# cgp, sgp, cgi, percent_typical, scale_growth with at_least = the level.
[outcome]
kind = "growth_vs_norm"

# The provider metric: share_meeting (share of counted students meeting the outcome), mean_cgi,
# median_sgp, effect_size, share_meeting_vs_comparison, mean_growth_vs_comparison.
[metric]
kind = "share_meeting"

# How the estimate and its interval decide a tier: lower_bound (met when the interval's lower
# end reaches the threshold), point or probability.
[decision]
rule = "lower_bound"
level = 0.90  # two-sided interval level
"#;

/// The money sections: thresholds, payment, inference, midpoint.
const MONEY: &str = r#"
# Tiers, in increasing order of value. Run `obc baseline` on this contract to see what business
# as usual reaches and how often a provider with a real effect earns each tier.
[[thresholds]]
name = "tier 1"
value = TODO  # TODO: the metric must reach this; a share is between 0 and 1 (write 50% as 0.50)
pool_share = TODO  # TODO: share of the outcome pool earned at this tier, e.g. 0.5

# [[thresholds]]
# name = "tier 2"
# value = 0.60
# pool_share = 1.0

# Amounts per provider, in the contract's currency.
[payment]
base_per_student = TODO  # TODO: base paid per student of base_basis, e.g. 670.0 (0 for none)
outcome_pool_per_student = TODO  # TODO: outcome pool per counted student, paid by tier, e.g. 750.0 (0 for none)
# base_basis = "served"            # rostered, served (enrolled in time and dosed) or counted
# base_fixed = 0                   # fixed base per provider
# outcome_pool = 0                 # fixed outcome pool per provider, paid by tier
# outcome_per_student = 0          # per counted student meeting the outcome
# per_student_requires_tier = false
# penalty_per_regressed = 0        # deducted per counted student whose growth is below regressed_below
# regressed_below = 0
# cap = 400000.0                   # most a provider can be paid (default: no cap)

# [inference]
# method = "bootstrap"   # bootstrap, cluster_t, cr2 or wild_cluster
# replicates = 2000
# seed = 20251           # same inputs and seed give identical results
# cluster = "student"    # student, tutor or school
# interval = "percentile"

# For a midpoint review (`obc check --as-of DATE`).
# [midpoint]
# interim = { window = "winter", school_year = "2025-26" }
# service_start = "2025-09-15"
# service_end = "2026-04-30"
# contracted_sessions = 55
"#;

/// The whole template (module docs).
pub fn contract_template(spec: &InitSpec) -> String {
    let mut s = head_sections(spec);
    s.push('\n');
    s.push_str(&columns_section(spec));
    s.push_str(RULES);
    s.push_str(MONEY);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::guess::guess_headers;

    fn guess(role: Role, headers: &[&str]) -> FileGuess {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        FileGuess { role, mapping: guess_headers(role, &headers), headers, dates: Vec::new() }
    }

    #[test]
    fn shared_key_with_an_override() {
        let r = guess(Role::Roster, &["StudentID", "school_id", "Grade"]);
        let s = guess(Role::Sessions, &["StudentID", "Date", "Minutes"]);
        let a = guess(Role::Assessments, &["SID", "Subject", "TestDate", "RIT"]);
        let plan = column_plan(&[(Role::Roster, &r), (Role::Sessions, &s), (Role::Assessments, &a)]);
        assert_eq!(plan.shared["student_id"], "StudentID");
        assert_eq!(plan.per_file[&Role::Assessments]["student_id"], "SID");
        assert!(!plan.per_file.contains_key(&Role::Roster), "{plan:?}");
        assert_eq!(plan.shared["session_date"], "Date");
        assert!(!plan.per_file.contains_key(&Role::Sessions), "{plan:?}");
        assert_eq!(plan.shared["scale_score"], "RIT");
        assert!(!plan.shared.contains_key("grade"), "Grade matches its field's name");
        assert!(plan.todo.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_field_named_as_itself_in_most_files_is_mapped_only_where_it_differs() {
        let r = guess(Role::Roster, &["student_id", "school_id", "Gr"]);
        let a = guess(Role::Assessments, &["student_id", "subject", "test_date", "Grade", "scale_score"]);
        let h = guess(Role::History, &["student_id", "subject", "test_date", "GRADE", "scale_score"]);
        let plan = column_plan(&[(Role::Roster, &r), (Role::Assessments, &a), (Role::History, &h)]);
        assert!(plan.shared.is_empty(), "{plan:?}");
        assert_eq!(plan.per_file.len(), 1, "{plan:?}");
        assert_eq!(plan.per_file[&Role::Roster]["grade"], "Gr");
    }

    #[test]
    fn optional_field_missing_in_one_file_is_mapped_per_file() {
        let r = guess(Role::Roster, &["StudentID", "school_id", "grade", "Provider"]);
        let s = guess(Role::Sessions, &["StudentID", "session_date", "minutes"]);
        let plan = column_plan(&[(Role::Roster, &r), (Role::Sessions, &s)]);
        assert!(!plan.shared.contains_key("provider_id"));
        assert_eq!(plan.per_file[&Role::Roster]["provider_id"], "Provider");
    }

    #[test]
    fn unguessed_required_field_is_a_commented_todo() {
        let r = guess(Role::Roster, &["StudentID", "Campus", "Grade"]);
        let spec = InitSpec {
            files: vec![InitFile { role: Role::Roster, path: "r.csv".into(), guess: &r }],
            subject: Some("math".into()),
        };
        let text = contract_template(&spec);
        assert!(
            text.contains("[columns.roster]\n# school_id = \"TODO\"  # TODO: required; which header holds it? The file's headers: \"StudentID\", \"Campus\", \"Grade\""),
            "{text}"
        );
        assert!(text.contains("sessions = TODO"), "{text}");
        assert!(text.contains("subject = \"math\""), "{text}");
    }

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
