//! The restricted per-student audit trail of a settlement.

#[allow(unused_imports)]
use super::*;

/// One audit row (restricted: names a student).
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
}

/// The audit rows of one provider's students: per-student contributions before any cap
/// (base by the contract's basis; the outcome per student, or the pool payment spread
/// evenly over counted students; the penalty).
pub(super) fn provider_audit(
    cx: &Context<'_>,
    rows: &[usize],
    counts: &PaymentCounts,
    pay: &PaymentResult,
    reached: Option<usize>,
) -> Vec<AuditRow> {
    let p = &cx.contract.payment;
    let pool_each = if p.has_pool() && counts.counted > 0 { pay.outcome / counts.counted as f64 } else { 0.0 };
    let per_student_paid = !(p.has_pool() || (p.per_student_requires_tier && reached.is_none()));
    rows.iter()
        .map(|&i| {
            let (s, counted) = (&cx.students[i], cx.counted[i]);
            let regressed = s.growth().is_some_and(|g| g < p.regressed_below);
            let in_basis = match p.base_basis {
                BaseBasis::Rostered => true,
                BaseBasis::Served => s.served,
                BaseBasis::Counted => counted,
            };
            let outcome = if !counted {
                0.0
            } else if p.has_pool() {
                pool_each
            } else if per_student_paid && cx.met[i] == Some(true) {
                p.outcome_per_student
            } else {
                0.0
            };
            AuditRow {
                index: i,
                counted,
                reason: cx.reason[i].as_ref().map(|(_, r)| r.clone()),
                met: cx.met[i],
                regressed: counted.then_some(regressed),
                base: if in_basis { p.base_per_student } else { 0.0 },
                outcome,
                penalty: if counted && regressed { p.penalty_per_regressed } else { 0.0 },
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
        })
        .collect()
}
