//! Roster rules that keep public outputs safe and codes explicit (README "Privacy" and
//! "No silent codes"): which reporting groups may be carried, which group values are
//! acceptable, and provider codes that look like "not tutored".

use crate::stats::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::load::ColumnIndex;
use super::validate::Student;
use crate::error::DataError;

/// How reporting groups are checked.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRules {
    /// The groups were written in the contract: each must be a roster column. Otherwise
    /// (the default list) missing standard columns are skipped.
    pub named: bool,
    /// Most distinct values a group may have.
    pub max_values: usize,
    /// Fewest roster students a group value may have (the contract's `min_cell`): a value
    /// below it could never be shown in any table.
    pub min_count: usize,
    /// Rare values (fewer than `min_count` roster students) are recoded into
    /// [`COMBINED_VALUE`] instead of refusing the group.
    pub combine_rare: bool,
}

/// The value rare group values are recoded into with `reporting.rare_values = "combine"`.
pub const COMBINED_VALUE: &str = "other (values under min_cell combined)";

impl Default for GroupRules {
    fn default() -> Self {
        GroupRules { named: false, max_values: 20, min_count: 1, combine_rare: false }
    }
}

/// Longest group value carried; a longer one is free text, not a category.
pub const MAX_GROUP_VALUE_CHARS: usize = 64;

/// Values of `provider_id` that usually mean "no provider" in district exports.
const MISSING_CODES: [&str; 12] =
    ["none", "na", "n/a", "#n/a", "null", "nil", "0", "-", "--", ".", "no", "not tutored"];

/// The reporting groups to carry: those the roster has. A group named in the contract that
/// the roster lacks is an error naming it and the headers found.
pub fn present_groups(
    groups: &[String],
    rules: &GroupRules,
    cols: &ColumnIndex,
    file: &str,
    headers: &[String],
) -> Result<Vec<String>, DataError> {
    let mut out = Vec::new();
    for g in groups {
        if cols.has(g) {
            out.push(g.clone());
        } else if rules.named {
            return Err(DataError::ReportingGroup {
                file: file.into(),
                group: g.clone(),
                message: format!(
                    "no such column (headers: {}); fix the name or map it in [columns.roster]",
                    crate::error::short_list(headers)
                ),
            });
        }
    }
    Ok(out)
}

/// Why a group value cannot be carried, if it cannot: control characters or free text.
pub fn group_value_fault(value: &str) -> Option<String> {
    if value.chars().any(char::is_control) {
        return Some("group value contains control characters (NUL, tab, line break...)".into());
    }
    let n = value.chars().count();
    (n > MAX_GROUP_VALUE_CHARS).then(|| {
        format!("group value is {n} characters long (at most {MAX_GROUP_VALUE_CHARS}): free text, not a category")
    })
}

/// Refuses a reporting group with more distinct values than allowed, or with a value held
/// by fewer roster students than `min_cell` (it would be suppressed in every table, yet its
/// label would still be published: the mark of an identifier or free-text column). With
/// `combine_rare`, rare values are recoded into [`COMBINED_VALUE`] instead, so no rare label
/// reaches a public table. Returns a warning per group recoded.
pub fn check_group_values(
    students: &mut [Student],
    groups: &[String],
    rules: &GroupRules,
    file: &str,
) -> Result<Vec<Warning>, DataError> {
    let mut warnings = Vec::new();
    for g in groups {
        let counts = value_counts(students, g);
        let refuse = |message: String| Err(DataError::ReportingGroup { file: file.into(), group: g.clone(), message });
        if counts.len() > rules.max_values {
            return refuse(format!(
                "{} distinct values, more than reporting.max_group_values = {}: this looks like an identifier or \
                 free-text column; remove it from reporting.groups, recode it into fewer categories, or raise \
                 reporting.max_group_values",
                counts.len(),
                rules.max_values
            ));
        }
        let rare: BTreeMap<String, usize> = counts.into_iter().filter(|(_, n)| *n < rules.min_count).collect();
        let Some((v, n)) = rare.iter().next() else { continue };
        if !rules.combine_rare {
            let shown: String = v.chars().take(20).collect();
            return refuse(format!(
                "{} value(s) held by fewer than reporting.min_cell = {} roster students (e.g. {shown:?}: {n}); \
                 no table could show them, but their labels would be published: recode rare values into a \
                 combined category, set reporting.rare_values = \"combine\" to have obc combine them, or remove \
                 the group",
                rare.len(),
                rules.min_count
            ));
        }
        let mut moved = 0;
        // students share their group maps: a student's map is copied only when it changes
        for s in students.iter_mut() {
            if s.groups.get(g).is_some_and(|v| rare.contains_key(v.as_str())) {
                std::sync::Arc::make_mut(&mut s.groups).insert(g.clone(), COMBINED_VALUE.to_string());
                moved += 1;
            }
        }
        warnings.push(Warning::new(
            WarningCode::RosterCodes,
            format!(
                "reporting group {g:?}: {} values held by fewer than min_cell = {} roster students ({moved} students) \
             are reported together as {COMBINED_VALUE:?}",
                rare.len(),
                rules.min_count
            ),
        ));
    }
    Ok(warnings)
}

/// Roster students by their value of group `g` (empty values left out). Students share
/// their group maps (a district has few combinations of values), so each map is looked at
/// once, with the number of students holding it.
fn value_counts(students: &[Student], g: &str) -> BTreeMap<String, usize> {
    type Map = BTreeMap<String, String>;
    let mut holders: HashMap<*const Map, (&Map, usize), std::hash::BuildHasherDefault<crate::data::load::Fnv>> =
        HashMap::default();
    for s in students {
        holders.entry(std::sync::Arc::as_ptr(&s.groups)).or_insert((&*s.groups, 0)).1 += 1;
    }
    let mut counted: BTreeMap<&str, usize> = BTreeMap::new();
    for (map, n) in holders.into_values() {
        if let Some(v) = map.get(g).filter(|v| !v.is_empty()) {
            *counted.entry(v.as_str()).or_default() += n;
        }
    }
    counted.into_iter().map(|(v, n)| (v.to_string(), n)).collect()
}

/// Refuses a provider code that looks like "no provider" (`None`, `NA`, `0`, `-`, ...) when
/// the contract neither lists its providers nor names the code as a comparison value: such a
/// code would silently become a provider and leave no comparison group.
pub fn check_provider_codes(students: &[Student], listed: bool, file: &str) -> Result<(), DataError> {
    if listed {
        return Ok(()); // an unlisted code is an "unknown provider" exception, counted by the limits
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in students {
        if let Some(p) = &s.provider_id {
            *counts.entry(p.as_str()).or_default() += 1;
        }
    }
    let codes: BTreeSet<&str> = MISSING_CODES.into_iter().collect();
    match counts.iter().find(|(p, _)| codes.contains(p.to_ascii_lowercase().as_str())) {
        Some((p, n)) => Err(DataError::ProviderCode { file: file.into(), value: p.to_string(), rows: *n }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student(id: &str, provider: Option<&str>, gender: &str) -> Student {
        Student {
            idx: 0,
            row: 2,
            student_id: id.into(),
            school_id: "S".into(),
            grade: 4,
            provider_id: provider.map(String::from),
            tutor_id: None,
            enroll_date: None,
            exit_date: None,
            groups: std::sync::Arc::new([("gender".to_string(), gender.to_string())].into_iter().collect()),
        }
    }

    #[test]
    fn rare_and_numerous_group_values_are_refused_or_combined() {
        let mut s: Vec<Student> =
            (0..30).map(|i| student(&i.to_string(), None, if i < 15 { "F" } else { "M" })).collect();
        let g = vec!["gender".to_string()];
        let rules = GroupRules { named: true, max_values: 20, min_count: 10, combine_rare: false };
        assert_eq!(check_group_values(&mut s, &g, &rules, "roster.csv").unwrap(), Vec::<Warning>::new());
        std::sync::Arc::make_mut(&mut s[0].groups).insert("gender".into(), "X".into());
        std::sync::Arc::make_mut(&mut s[1].groups).insert("gender".into(), "U".into());
        let e = check_group_values(&mut s, &g, &rules, "roster.csv").unwrap_err().to_string();
        assert!(e.contains("\"gender\"") && e.contains("min_cell = 10"), "{e}");
        let combine = GroupRules { combine_rare: true, ..rules.clone() };
        let w = check_group_values(&mut s, &g, &combine, "roster.csv").unwrap();
        assert!(w[0].message.contains("2 values") && w[0].message.contains("(2 students)"), "{w:?}");
        assert_eq!(w[0].code, WarningCode::RosterCodes);
        assert_eq!((s[0].groups["gender"].as_str(), s[1].groups["gender"].as_str()), (COMBINED_VALUE, COMBINED_VALUE));
        assert_eq!(s[2].groups["gender"], "F");
        let mut ids: Vec<Student> = (0..30).map(|i| student(&i.to_string(), None, &i.to_string())).collect();
        let e = check_group_values(&mut ids, &g, &GroupRules { min_count: 1, ..rules }, "roster.csv").unwrap_err();
        assert!(e.to_string().contains("30 distinct values"), "{e}");
    }

    #[test]
    fn missing_provider_codes_are_refused_unless_providers_are_listed() {
        let s = vec![student("1", Some("P1"), "F"), student("2", Some("None"), "F"), student("3", Some("None"), "M")];
        let e = check_provider_codes(&s, false, "roster.csv").unwrap_err().to_string();
        assert!(e.contains("\"None\" on 2 roster rows") && e.contains("comparison_values"), "{e}");
        assert!(check_provider_codes(&s, true, "roster.csv").is_ok());
        assert!(check_provider_codes(&s[..1], false, "roster.csv").is_ok());
    }

    #[test]
    fn control_characters_and_free_text_are_not_group_values() {
        assert!(group_value_fault("Hispanic").is_none());
        assert!(group_value_fault("a\0b").is_some());
        assert!(group_value_fault(&"x".repeat(65)).is_some());
        assert!(group_value_fault(&"é".repeat(64)).is_none());
    }
}
