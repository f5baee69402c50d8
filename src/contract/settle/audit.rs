//! The restricted per-student audit trail of a settlement.

#[allow(unused_imports)]
use super::*;

/// One audit row (restricted: names a student). `lines` and `unpaid` hold, per rate line of
/// the card, what the line paid the student and why it paid nothing (empty for a contract
/// paid by the flat terms of `[payment]`, whose parts are `outcome` and `penalty`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRow {
    pub index: usize,
    pub counted: bool,
    pub reason: Option<String>,
    pub met: Option<bool>,
    pub regressed: Option<bool>,
    pub base: f64,
    pub outcome: f64,
    pub penalty: f64,
    pub lines: Vec<f64>,
    #[serde(skip)]
    pub unpaid: Vec<Option<crate::contract::rates::Unpaid>>,
    pub student_cap_cut: f64,
}

impl AuditRow {
    /// Why rate lines paid a student nothing, `rate K: reason` joined by `; ` (lines
    /// numbered from 1; `None` when every line that could pay did, or without a rate card).
    /// A student who is not counted has one note: not counted.
    pub fn notes(&self) -> Option<String> {
        use crate::contract::rates::Unpaid;
        if !self.counted && !self.unpaid.is_empty() {
            return Some(Unpaid::NotCounted.to_string());
        }
        let notes: Vec<String> = self
            .unpaid
            .iter()
            .enumerate()
            .filter_map(|(k, u)| u.as_ref().map(|u| format!("rate {}: {u}", k + 1)))
            .collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

/// The audit rows of one provider's students from their part of the payment
/// ([`StudentPay`]): contributions before the provider's floor and cap.
pub(super) fn provider_audit(cx: &Context<'_>, pays: Vec<StudentPay>, legacy: bool) -> Vec<AuditRow> {
    let below = cx.contract.payment.regressed_below;
    pays.into_iter()
        .map(|p| {
            let i = p.index;
            let counted = cx.counted[i];
            AuditRow {
                index: i,
                counted,
                reason: cx.reason[i].as_ref().map(|(_, r)| r.clone()),
                met: cx.met[i],
                regressed: counted.then(|| cx.students[i].growth().is_some_and(|g| g < below)),
                base: p.base,
                outcome: p.outcome(&cx.card),
                penalty: p.penalty(&cx.card),
                student_cap_cut: p.student_cap_cut,
                lines: if legacy { Vec::new() } else { p.lines },
                unpaid: if legacy { Vec::new() } else { p.unpaid },
            }
        })
        .collect()
}

/// The audit rows of comparison students (no payment).
pub(super) fn comparison_audit(cx: &Context<'_>) -> Vec<AuditRow> {
    let below = cx.contract.payment.regressed_below;
    (0..cx.students.len())
        .filter(|&i| cx.students[i].provider.is_none())
        .map(|i| AuditRow {
            index: i,
            counted: cx.counted[i],
            reason: cx.reason[i].as_ref().map(|(_, r)| r.clone()),
            met: cx.met[i],
            regressed: cx.counted[i].then(|| cx.students[i].growth().is_some_and(|g| g < below)),
            base: 0.0,
            outcome: 0.0,
            penalty: 0.0,
            lines: Vec::new(),
            unpaid: Vec::new(),
            student_cap_cut: 0.0,
        })
        .collect()
}
