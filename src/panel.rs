//! The typed analysis table handed to estimators: named numeric and text columns of equal
//! length. Estimators never see a DataFrame; missing numbers are NaN, missing text `None`.

use std::collections::BTreeMap;

use crate::data::AnalyticFile;

/// Errors when an estimator asks a panel for a column.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PanelError {
    #[error("column {column:?} not in the panel (numeric: {numeric:?}; text: {text:?})")]
    MissingColumn { column: String, numeric: Vec<String>, text: Vec<String> },
    #[error("column {column:?} has {got} values, the panel has {expected} rows")]
    Length { column: String, expected: usize, got: usize },
}

/// Equal-length named columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Panel {
    n: usize,
    numeric: BTreeMap<String, Vec<f64>>,
    text: BTreeMap<String, Vec<Option<String>>>,
}

impl Panel {
    pub fn new(n: usize) -> Self {
        Panel { n, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn with_numeric(mut self, name: &str, values: Vec<f64>) -> Result<Self, PanelError> {
        if values.len() != self.n {
            return Err(PanelError::Length { column: name.into(), expected: self.n, got: values.len() });
        }
        self.numeric.insert(name.into(), values);
        Ok(self)
    }

    pub fn with_text(mut self, name: &str, values: Vec<Option<String>>) -> Result<Self, PanelError> {
        if values.len() != self.n {
            return Err(PanelError::Length { column: name.into(), expected: self.n, got: values.len() });
        }
        self.text.insert(name.into(), values);
        Ok(self)
    }

    fn missing(&self, column: &str) -> PanelError {
        PanelError::MissingColumn {
            column: column.into(),
            numeric: self.numeric.keys().cloned().collect(),
            text: self.text.keys().cloned().collect(),
        }
    }

    pub fn numeric(&self, name: &str) -> Result<&[f64], PanelError> {
        self.numeric.get(name).map(|v| v.as_slice()).ok_or_else(|| self.missing(name))
    }

    pub fn text(&self, name: &str) -> Result<&[Option<String>], PanelError> {
        self.text.get(name).map(|v| v.as_slice()).ok_or_else(|| self.missing(name))
    }

    pub fn numeric_names(&self) -> impl Iterator<Item = &str> {
        self.numeric.keys().map(|s| s.as_str())
    }

    pub fn text_names(&self) -> impl Iterator<Item = &str> {
        self.text.keys().map(|s| s.as_str())
    }

    /// The rows where `keep` is true, in order.
    pub fn filter(&self, keep: &[bool]) -> Panel {
        assert_eq!(keep.len(), self.n, "filter mask length (internal invariant)");
        let pick_f = |v: &Vec<f64>| v.iter().zip(keep).filter(|(_, k)| **k).map(|(x, _)| *x).collect();
        let pick_t =
            |v: &Vec<Option<String>>| v.iter().zip(keep).filter(|(_, k)| **k).map(|(x, _)| x.clone()).collect();
        Panel {
            n: keep.iter().filter(|k| **k).count(),
            numeric: self.numeric.iter().map(|(k, v)| (k.clone(), pick_f(v))).collect(),
            text: self.text.iter().map(|(k, v)| (k.clone(), pick_t(v))).collect(),
        }
    }
}

impl AnalyticFile {
    /// All rows as a panel with the analytic file's standard names: text `student_id`,
    /// `subject`, `school_id`, `provider_id`, `tutor_id` and each group; numeric `grade`,
    /// `pre_score`, `post_score`, `pre_sem`, `post_sem`, `weeks_between`, `growth`,
    /// `growth_se`, `sessions_attended`, `minutes_attended`, and 0/1 `comparison`,
    /// `eligible`, `analysed`.
    pub fn panel(&self) -> Panel {
        let r = &self.rows;
        let num = |f: &dyn Fn(&crate::data::AnalyticRow) -> Option<f64>| {
            r.iter().map(|x| f(x).unwrap_or(f64::NAN)).collect::<Vec<_>>()
        };
        let txt = |f: &dyn Fn(&crate::data::AnalyticRow) -> Option<String>| r.iter().map(f).collect::<Vec<_>>();
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let mut p = Panel::new(r.len());
        let columns_text: Vec<(&str, Vec<Option<String>>)> = vec![
            ("student_id", txt(&|x| Some(x.student_id.clone()))),
            ("subject", txt(&|x| Some(x.subject.clone()))),
            ("school_id", txt(&|x| Some(x.school_id.clone()))),
            ("provider_id", txt(&|x| x.provider_id.clone())),
            ("tutor_id", txt(&|x| x.tutor_id.clone())),
        ];
        for (name, v) in columns_text {
            p.text.insert(name.into(), v);
        }
        for g in &self.groups {
            p.text.insert(g.clone(), txt(&|x| x.groups.get(g).cloned()));
        }
        let columns_num: Vec<(&str, Vec<f64>)> = vec![
            ("grade", num(&|x| Some(x.grade as f64))),
            ("pre_score", num(&|x| x.pre.as_ref().map(|t| t.score))),
            ("post_score", num(&|x| x.post.as_ref().map(|t| t.score))),
            ("pre_sem", num(&|x| x.pre.as_ref().and_then(|t| t.sem))),
            ("post_sem", num(&|x| x.post.as_ref().and_then(|t| t.sem))),
            ("weeks_between", num(&|x| x.weeks_between)),
            ("growth", num(&|x| x.growth)),
            ("growth_se", num(&|x| x.growth_se)),
            ("sessions_attended", num(&|x| Some(x.dosage.sessions_attended as f64))),
            ("minutes_attended", num(&|x| Some(x.dosage.minutes_attended))),
            ("comparison", num(&|x| Some(flag(x.comparison)))),
            ("eligible", num(&|x| Some(flag(x.eligible)))),
            ("analysed", num(&|x| Some(flag(x.analysed)))),
        ];
        for (name, v) in columns_num {
            p.numeric.insert(name.into(), v);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_must_match_length_and_missing_names_list_what_exists() {
        let p = Panel::new(2).with_numeric("x", vec![1.0, 2.0]).unwrap();
        assert!(matches!(Panel::new(2).with_numeric("y", vec![1.0]), Err(PanelError::Length { .. })));
        let e = p.numeric("z").unwrap_err().to_string();
        assert!(e.contains("\"z\"") && e.contains("\"x\""), "{e}");
        let f = p.with_text("id", vec![Some("a".into()), None]).unwrap().filter(&[false, true]);
        assert_eq!(f.len(), 1);
        assert_eq!(f.numeric("x").unwrap(), &[2.0]);
        assert_eq!(f.text("id").unwrap(), &[None]);
    }
}
