//! The vendor's own per-student growth measures in a canonical assessments file (README
//! "Canonical layout", vendor growth columns): which optional columns carry them for the
//! contract's window pair, and their values on a test row. NWEA's measures are read from
//! the columns of the pair (`fall_to_spring_conditional_growth_percentile` for fall to
//! spring); i-Ready's are annual and have one column each.

use serde::Serialize;

use super::super::load::{ColumnIndex, Fields};
use crate::data::ledger::ReasonCode;

/// One vendor growth measure as the data layer holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorField {
    ObservedGrowth,
    ProjectedGrowth,
    ConditionalGrowthIndex,
    ConditionalGrowthPercentile,
    MetProjectedGrowth,
    /// NWEA's trailing `*` on `MetProjectedGrowth` (a result the growth's standard error
    /// puts in question).
    MetProjectedGrowthAsterisk,
    TypicalGrowth,
    StretchGrowth,
    PercentProgressTypical,
    PercentProgressStretch,
    DiagnosticGain,
}

impl VendorField {
    pub const ALL: [VendorField; 11] = [
        VendorField::ObservedGrowth,
        VendorField::ProjectedGrowth,
        VendorField::ConditionalGrowthIndex,
        VendorField::ConditionalGrowthPercentile,
        VendorField::MetProjectedGrowth,
        VendorField::MetProjectedGrowthAsterisk,
        VendorField::TypicalGrowth,
        VendorField::StretchGrowth,
        VendorField::PercentProgressTypical,
        VendorField::PercentProgressStretch,
        VendorField::DiagnosticGain,
    ];

    /// The snake_case name (the analytic file's column is `vendor_` and this name).
    pub fn name(self) -> &'static str {
        match self {
            VendorField::ObservedGrowth => "observed_growth",
            VendorField::ProjectedGrowth => "projected_growth",
            VendorField::ConditionalGrowthIndex => "conditional_growth_index",
            VendorField::ConditionalGrowthPercentile => "conditional_growth_percentile",
            VendorField::MetProjectedGrowth => "met_projected_growth",
            VendorField::MetProjectedGrowthAsterisk => "met_projected_growth_asterisk",
            VendorField::TypicalGrowth => "typical_growth",
            VendorField::StretchGrowth => "stretch_growth",
            VendorField::PercentProgressTypical => "percent_progress_typical",
            VendorField::PercentProgressStretch => "percent_progress_stretch",
            VendorField::DiagnosticGain => "diagnostic_gain",
        }
    }

    /// The key under which the column is held in a [`ColumnIndex`] (a name no district
    /// header has, so it cannot clash with one).
    fn key(self) -> &'static str {
        match self {
            VendorField::ObservedGrowth => "vendor:observed_growth",
            VendorField::ProjectedGrowth => "vendor:projected_growth",
            VendorField::ConditionalGrowthIndex => "vendor:conditional_growth_index",
            VendorField::ConditionalGrowthPercentile => "vendor:conditional_growth_percentile",
            VendorField::MetProjectedGrowth => "vendor:met_projected_growth",
            VendorField::MetProjectedGrowthAsterisk => "vendor:met_projected_growth_asterisk",
            VendorField::TypicalGrowth => "vendor:typical_growth",
            VendorField::StretchGrowth => "vendor:stretch_growth",
            VendorField::PercentProgressTypical => "vendor:percent_progress_typical",
            VendorField::PercentProgressStretch => "vendor:percent_progress_stretch",
            VendorField::DiagnosticGain => "vendor:diagnostic_gain",
        }
    }

    /// Whether the column holds a yes/no flag (read as 1/0).
    fn is_flag(self) -> bool {
        matches!(self, VendorField::MetProjectedGrowth | VendorField::MetProjectedGrowthAsterisk)
    }

    /// The canonical columns that may carry the measure, first found wins: `pair` is the
    /// contract's window pair in snake case (`fall_to_spring`), `None` when a test window is
    /// not chosen by label (then NWEA's per-pair measures cannot be told apart).
    pub fn columns(self, pair: Option<&str>) -> Vec<String> {
        let per_pair = |suffix: &str| pair.map(|p| format!("{p}_{suffix}")).into_iter().collect::<Vec<_>>();
        match self {
            VendorField::ObservedGrowth => per_pair("observed_growth"),
            VendorField::ProjectedGrowth => per_pair("projected_growth"),
            VendorField::ConditionalGrowthIndex => per_pair("conditional_growth_index"),
            VendorField::ConditionalGrowthPercentile => per_pair("conditional_growth_percentile"),
            VendorField::MetProjectedGrowth => per_pair("met_projected_growth"),
            VendorField::MetProjectedGrowthAsterisk => per_pair("met_projected_growth_asterisk"),
            VendorField::TypicalGrowth => {
                let mut c: Vec<String> = pair.map(|p| format!("typical_{p}_growth")).into_iter().collect();
                c.push("annual_typical_growth_measure".into());
                c
            }
            VendorField::StretchGrowth => vec!["annual_stretch_growth_measure".into()],
            VendorField::PercentProgressTypical => vec!["percent_progress_to_annual_typical_growth".into()],
            VendorField::PercentProgressStretch => vec!["percent_progress_to_annual_stretch_growth".into()],
            VendorField::DiagnosticGain => vec!["diagnostic_gain".into()],
        }
    }
}

/// The window pair of `pre` and `post` window labels in snake case (`fall_to_spring`).
pub fn window_pair(pre: &str, post: &str) -> String {
    format!("{}_to_{}", pre.trim().to_ascii_lowercase(), post.trim().to_ascii_lowercase())
}

/// The vendor measures of one test row, by [`VendorField`] (flags as 1/0).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VendorValues(pub [Option<f64>; 11]);

impl VendorValues {
    pub fn get(&self, f: VendorField) -> Option<f64> {
        self.0[f as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// The vendor columns an assessments file has.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VendorColumns {
    /// The measures found, in [`VendorField::ALL`] order.
    pub fields: Vec<VendorField>,
    /// Those found in a column named for the window pair (NWEA's): their values may sit on
    /// the pair's start term's row ([`merge`]).
    pub per_pair: Vec<VendorField>,
}

/// Finds the vendor columns of `pair` in `headers` (any capitals) and records them in
/// `cols` under their own keys.
pub fn locate(cols: &mut ColumnIndex, headers: &[String], pair: Option<&str>) -> VendorColumns {
    let mut found = VendorColumns::default();
    for f in VendorField::ALL {
        let names = f.columns(pair);
        let at = names.iter().find_map(|c| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(c)));
        if let Some(i) = at {
            cols.positions.insert(f.key().to_string(), i);
            cols.headers.insert(f.key().to_string(), headers[i].clone());
            found.fields.push(f);
            if pair.is_some_and(|p| headers[i].trim().to_ascii_lowercase().contains(p)) {
                found.per_pair.push(f);
            }
        }
    }
    found
}

/// A student's vendor values: those of the post-test's row, and for a measure read from a
/// column named for the window pair that the post-test's row leaves empty, the pre-test
/// row's (MAP exports may write a pair's measures on its start term's row; the column names
/// the pair, so the value is the pair's). An annual measure (i-Ready's) is the post-test
/// row's only: on the pre-test's row it is the progress as of the pre-test.
pub fn merge(post: Option<VendorValues>, pre: Option<VendorValues>, per_pair: &[VendorField]) -> Option<VendorValues> {
    let mut v = post.unwrap_or_default();
    if let Some(pre) = pre {
        for &f in per_pair {
            if v.get(f).is_none() {
                v.0[f as usize] = pre.get(f);
            }
        }
    }
    (!v.is_empty()).then_some(v)
}

/// One bad vendor value: (column key, value, code, reason), as the validation's `Bad`.
pub type Problem = (&'static str, String, ReasonCode, String);

/// The vendor values of `raw` in the columns `found` ([`locate`]); `Ok(None)` when all
/// are empty. A value that is not a number (or, for a flag, not yes/no) is a problem.
pub fn read<R: Fields>(
    raw: &R,
    cols: &ColumnIndex,
    found: &[VendorField],
) -> Result<Option<VendorValues>, Vec<Problem>> {
    let mut values = VendorValues::default();
    let mut bad = Vec::new();
    for &f in found {
        let text = cols.get(raw, f.key()).unwrap_or("").trim();
        if text.is_empty() || ["NA", "N/A", "NULL", "."].iter().any(|m| text.eq_ignore_ascii_case(m)) {
            continue;
        }
        let v = if f.is_flag() { flag(text) } else { text.parse::<f64>().ok().filter(|v| v.is_finite()) };
        match v {
            Some(v) => values.0[f as usize] = Some(v),
            None => {
                let (code, what) =
                    if f.is_flag() { (ReasonCode::NotAFlag, "yes/no") } else { (ReasonCode::NotANumber, "a number") };
                bad.push((f.key(), text.to_string(), code, format!("vendor {} {text:?} is not {what}", f.name())));
            }
        }
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    Ok((!values.is_empty()).then_some(values))
}

/// A yes/no flag as 1/0 (`MetProjectedGrowth` is written Yes/No by NWEA and true/false
/// by `obc import`).
fn flag(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "t" => Some(1.0),
        "false" | "no" | "n" | "0" | "f" => Some(0.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::RawRow;

    fn index(headers: &[&str], pair: Option<&str>) -> (ColumnIndex, Vec<VendorField>) {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let mut cols = ColumnIndex { positions: Default::default(), headers: Default::default() };
        let found = locate(&mut cols, &headers, pair);
        (cols, found.fields)
    }

    #[test]
    fn the_start_rows_values_fill_only_the_pairs_measures() {
        let headers: Vec<String> =
            ["fall_to_spring_conditional_growth_percentile", "fall_to_spring_observed_growth", "diagnostic_gain"]
                .map(String::from)
                .to_vec();
        let mut cols = ColumnIndex { positions: Default::default(), headers: Default::default() };
        let found = locate(&mut cols, &headers, Some("fall_to_spring"));
        assert_eq!(found.per_pair, [VendorField::ObservedGrowth, VendorField::ConditionalGrowthPercentile]);
        let value = |pairs: &[(VendorField, f64)]| {
            let mut v = VendorValues::default();
            for &(f, x) in pairs {
                v.0[f as usize] = Some(x);
            }
            Some(v)
        };
        let post = value(&[(VendorField::ObservedGrowth, 9.0)]);
        let pre = value(&[
            (VendorField::ObservedGrowth, 1.0),
            (VendorField::ConditionalGrowthPercentile, 61.0),
            (VendorField::DiagnosticGain, 4.0),
        ]);
        let v = merge(post, pre.clone(), &found.per_pair).unwrap();
        assert_eq!(v.get(VendorField::ObservedGrowth), Some(9.0), "the post-test row's value first");
        assert_eq!(v.get(VendorField::ConditionalGrowthPercentile), Some(61.0), "the start row fills the pair's");
        assert_eq!(v.get(VendorField::DiagnosticGain), None, "an annual measure is the post-test row's only");
        assert_eq!(merge(None, value(&[(VendorField::DiagnosticGain, 4.0)]), &found.per_pair), None);
    }

    fn row(fields: &[&str]) -> RawRow {
        RawRow { row: 2, fields: fields.iter().map(|s| s.to_string()).collect(), defect: None }
    }

    #[test]
    fn only_the_pairs_columns_are_read() {
        let (cols, found) = index(
            &[
                "student_id",
                "fall_to_winter_conditional_growth_percentile",
                "Fall_To_Spring_Conditional_Growth_Percentile",
                "fall_to_spring_met_projected_growth",
                "annual_typical_growth_measure",
            ],
            Some("fall_to_spring"),
        );
        assert_eq!(
            found,
            [VendorField::ConditionalGrowthPercentile, VendorField::MetProjectedGrowth, VendorField::TypicalGrowth]
        );
        let v = read(&row(&["1", "12", "61", "Yes", "9.5"]), &cols, &found).unwrap().unwrap();
        assert_eq!(v.get(VendorField::ConditionalGrowthPercentile), Some(61.0), "fall to spring, not fall to winter");
        assert_eq!(v.get(VendorField::MetProjectedGrowth), Some(1.0));
        assert_eq!(v.get(VendorField::TypicalGrowth), Some(9.5));
        assert_eq!(v.get(VendorField::ObservedGrowth), None);
        assert_eq!(read(&row(&["1", "12", "", "", ""]), &cols, &found), Ok(None), "all empty is no values");
    }

    #[test]
    fn bad_values_are_problems_in_their_columns() {
        let (cols, found) = index(
            &["fall_to_spring_conditional_growth_percentile", "fall_to_spring_met_projected_growth"],
            Some("fall_to_spring"),
        );
        let bad = read(&row(&["sixty", "maybe"]), &cols, &found).unwrap_err();
        assert_eq!(bad.len(), 2);
        assert_eq!(cols.header(bad[0].0), "fall_to_spring_conditional_growth_percentile");
        assert_eq!(bad[1].2, ReasonCode::NotAFlag);
        let (_, none) = index(&["fall_to_spring_conditional_growth_percentile"], None);
        assert!(none.is_empty(), "without a window pair NWEA's per-pair columns are not read");
    }
}
