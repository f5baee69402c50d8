//! The payment of one provider from the contract's terms, with each step of the
//! arithmetic written out.

#[allow(unused_imports)]
use super::*;
use crate::contract::rates::{CardLine, EngagementUnit, Rate, Schedule, Unpaid, student_amount, student_total};
pub use crate::contract::results::{LineResult, PaymentResult, PaymentResultTotals, ProviderCounts};
use crate::contract::terms::Payment;

/// Counts a payment needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PaymentCounts {
    pub rostered: u64,
    pub served: u64,
    pub counted: u64,
    pub met: u64,
    pub regressed: u64,
}

pub(super) use crate::contract::rates::money;

/// One student's part of a provider's payment on the card: the base, what each line pays
/// (after the line's tier gate; a tier bonus's share spread evenly over counted students;
/// a penalty as a positive amount) or why it pays nothing, and what the student cap cut.
#[derive(Clone, Debug, PartialEq)]
pub struct StudentPay {
    pub index: usize,
    pub base: f64,
    pub lines: Vec<f64>,
    pub unpaid: Vec<Option<Unpaid>>,
    /// Per line: the student is one the line counts ([`Earned::hit`]).
    pub hits: Vec<bool>,
    /// Per line: what the line's own per-student cap cut (engagement lines).
    pub line_cut: Vec<f64>,
    pub student_cap_cut: f64,
}

impl StudentPay {
    /// Outcome lines after the student cap.
    pub fn outcome(&self, card: &[CardLine]) -> f64 {
        card.iter().zip(&self.lines).filter(|(l, _)| !l.is_penalty()).map(|(_, v)| v).sum::<f64>()
            - self.student_cap_cut
    }

    /// Penalty lines (positive).
    pub fn penalty(&self, card: &[CardLine]) -> f64 {
        card.iter().zip(&self.lines).filter(|(l, _)| l.is_penalty()).map(|(_, v)| v).sum()
    }
}

/// Base per provider and per student of the contract's basis, with its arithmetic.
fn base(contract: &Contract, counts: &PaymentCounts) -> (f64, String) {
    let p = &contract.payment;
    let (basis_n, basis_name) = match p.base_basis {
        BaseBasis::Rostered => (counts.rostered, "rostered"),
        BaseBasis::Served => (counts.served, "served (enrolled in time and met the dosage rule)"),
        BaseBasis::Counted => (counts.counted, "counted"),
    };
    let base = p.base_fixed + p.base_per_student * basis_n as f64;
    let line = format!(
        "base = {} fixed + {} x {basis_n} students {basis_name} = {}",
        money(p.base_fixed),
        money(p.base_per_student),
        money(base)
    );
    (base, line)
}

/// Whether a student of a provider earns the base.
fn in_basis(contract: &Contract, s: &Student, counted: bool) -> bool {
    match contract.payment.base_basis {
        BaseBasis::Rostered => true,
        BaseBasis::Served => s.served,
        BaseBasis::Counted => counted,
    }
}

/// Each student's pay on the card (tier bonus shares are added by [`provider_payment`]).
fn student_pays(contract: &Contract, card: &[CardLine], cx: &Payees<'_>, reached: Option<usize>) -> Vec<StudentPay> {
    let p = &contract.payment;
    cx.rows
        .iter()
        .map(|&i| {
            let (s, counted) = (&cx.students[i], cx.counted[i]);
            let mut pay = StudentPay {
                index: i,
                base: if in_basis(contract, s, counted) { p.base_per_student } else { 0.0 },
                lines: vec![0.0; card.len()],
                unpaid: vec![None; card.len()],
                hits: vec![false; card.len()],
                line_cut: vec![0.0; card.len()],
                student_cap_cut: 0.0,
            };
            for (k, line) in card.iter().enumerate() {
                match student_amount(line, s, counted) {
                    Ok(e) => {
                        pay.hits[k] = e.hit;
                        pay.line_cut[k] = e.cut;
                        if line.requires_tier() && reached.is_none() {
                            pay.unpaid[k] = Some(Unpaid::TierNotReached);
                        } else {
                            pay.lines[k] = e.amount;
                        }
                    }
                    Err(why) => pay.unpaid[k] = Some(why),
                }
            }
            pay.student_cap_cut = student_total(card, pay.lines.iter().copied(), p.student_cap).cut(p.student_cap);
            pay
        })
        .collect()
}

/// The students of one provider as its payment reads them.
pub(super) struct Payees<'a> {
    pub students: &'a [Student],
    /// The provider's rostered students.
    pub rows: &'a [usize],
    pub counted: &'a [bool],
}

/// A tier bonus: the pool and what the tier reached pays of it, with the arithmetic
/// (two lines, as the flat `[payment]` pool has always been written).
fn tier_bonus(
    contract: &Contract,
    (pool, per_student): (f64, f64),
    counted: u64,
    reached: Option<usize>,
) -> (f64, Vec<String>) {
    let total = pool + per_student * counted as f64;
    let mut lines =
        vec![format!("outcome pool = {} + {} x {counted} counted = {}", money(pool), money(per_student), money(total))];
    let v = match reached {
        Some(i) => {
            let share = contract.thresholds[i].pool_share.unwrap_or(0.0);
            let v = total * share;
            let name = tier_name(&contract.thresholds, i);
            lines.push(format!("outcome = {} x {share} ({name} reached) = {}", money(total), money(v)));
            v
        }
        None => {
            lines.push("outcome = 0.00 (no tier reached)".into());
            0.0
        }
    };
    (v, lines)
}

/// One line's amount (before the student cap) and its arithmetic: written as a
/// calculator can check it (price × count; for steps, count × amount per step).
/// Hours or sessions as written: at most two decimals, no trailing zeros.
fn round2(v: f64) -> String {
    let t = format!("{v:.2}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn line_total(
    contract: &Contract,
    line: &CardLine,
    k: usize,
    pays: &[StudentPay],
    counts: &PaymentCounts,
    reached: Option<usize>,
) -> (f64, u64, Vec<String>) {
    let hits = pays.iter().filter(|p| p.hits[k]).count() as u64;
    let gated = line.requires_tier() && reached.is_none();
    let named = |text: String| if line.legacy { text } else { format!("{}: {text}", line.name) };
    if gated {
        let text = if line.legacy {
            format!(
                "outcome = 0.00 ({hits} students met the outcome, but payment per student requires the first tier, \
                 which was not reached)"
            )
        } else {
            named(format!(
                "0.00 ({hits} counted students would have earned on it, but it requires the first tier, which was not reached)"
            ))
        };
        return (0.0, hits, vec![text]);
    }
    let paid: f64 = pays.iter().map(|p| p.lines[k]).sum();
    match &line.rate {
        Rate::PerStudent { outcome, price, .. } => {
            let v = price * hits as f64;
            let text = if line.legacy {
                format!("outcome = {} x {hits} counted students meeting the outcome = {}", money(*price), money(v))
            } else {
                named(format!(
                    "{} x {hits} counted students meeting {} = {}",
                    money(*price),
                    outcome.describe(),
                    money(v)
                ))
            };
            (v, hits, vec![text])
        }
        Rate::Penalty { measure, below, price } => {
            let v = price * hits as f64;
            let text = if line.legacy {
                format!(
                    "penalty = {} x {hits} counted students with growth below {below} = {}",
                    money(*price),
                    money(v)
                )
            } else {
                named(format!(
                    "{} x {hits} counted students with {} below {below} = {}",
                    money(*price),
                    measure.as_str(),
                    money(v)
                ))
            };
            (v, hits, vec![text])
        }
        Rate::TierBonus { pool, pool_per_student } => {
            let (v, mut text) = tier_bonus(contract, (*pool, *pool_per_student), counts.counted, reached);
            if !line.legacy {
                text = vec![named(text.join("; "))];
            }
            (v, hits, text)
        }
        Rate::Graduated { measure, schedule, .. } => {
            let text = match schedule {
                Schedule::Steps(steps) => {
                    let parts: Vec<String> = steps
                        .iter()
                        .map(|st| {
                            let n = pays.iter().filter(|p| p.lines[k] == st.amount && p.hits[k]).count();
                            format!("{} x {n}", money(st.amount))
                        })
                        .collect();
                    format!("{} ({} steps) = {}", parts.join(" + "), measure.as_str(), money(paid))
                }
                Schedule::Ramp(_) => format!(
                    "{hits} counted students earned by {} on the ramp, {} in all (each student's amount is in the audit)",
                    measure.as_str(),
                    money(paid)
                ),
            };
            (paid, hits, vec![named(text)])
        }
        Rate::Engagement { per, price, cap_per_student, .. } => {
            let cut: f64 = pays.iter().filter(|p| p.unpaid[k].is_none()).map(|p| p.line_cut[k]).sum();
            let uncapped = paid + cut;
            let units = if *price > 0.0 { uncapped / price } else { 0.0 };
            let unit = match per {
                EngagementUnit::Session => "sessions",
                EngagementUnit::Hour => "hours",
            };
            let head = format!(
                "{} x {} attended {unit} of counted students = {}",
                money(*price),
                round2(units),
                money(uncapped)
            );
            let text = match cap_per_student {
                Some(c) if cut > 0.0 => {
                    format!("{head}, less {} over the cap of {} per student = {}", money(cut), money(*c), money(paid))
                }
                _ => head,
            };
            (paid, hits, vec![named(text)])
        }
    }
}
/// The payment of one provider by the card ([`crate::contract::rates`]): base, each line,
/// the student cap, penalties, the floor and the cap, every step written out; and each of
/// its students' part (the audit).
pub(super) fn provider_payment(
    contract: &Contract,
    card: &[CardLine],
    cx: &Payees<'_>,
    counts: &PaymentCounts,
    reached: Option<usize>,
) -> (PaymentResult, Vec<StudentPay>) {
    let mut pays = student_pays(contract, card, cx, reached);
    let (base, base_line) = base(contract, counts);
    let mut arithmetic = vec![base_line];
    let mut lines = Vec::with_capacity(card.len());
    let (mut outcome, mut penalty) = (0.0, 0.0);
    for (k, line) in card.iter().enumerate() {
        let (v, hits, text) = line_total(contract, line, k, &pays, counts, reached);
        if matches!(line.rate, Rate::TierBonus { .. }) && counts.counted > 0 {
            let each = v / counts.counted as f64;
            pays.iter_mut().filter(|p| cx.counted[p.index]).for_each(|p| p.lines[k] = each);
        }
        if line.is_penalty() {
            penalty += v;
        } else {
            outcome += v;
        }
        arithmetic.extend(text.iter().cloned());
        lines.push(LineResult {
            name: line.name.clone(),
            kind: line.kind(),
            students: Some(hits),
            amount: Some(v),
            arithmetic: text.join("; "),
        });
    }
    let cut: f64 = pays.iter().map(|p| p.student_cap_cut).sum();
    let legacy = card.iter().all(|l| l.legacy);
    if let Some(cap) = contract.payment.student_cap {
        let n = pays.iter().filter(|p| p.student_cap_cut > 0.0).count();
        arithmetic.push(format!(
            "student cap {}: {n} students' outcome lines above it, cut by {}",
            money(cap),
            money(cut)
        ));
    }
    outcome -= cut;
    if !legacy {
        arithmetic.extend(summary("outcome", card, &lines, false, cut, outcome));
        arithmetic.extend(summary("penalty", card, &lines, true, 0.0, penalty));
    }
    let (before_cap, payable) = bounded(&contract.payment, base + outcome - penalty, &mut arithmetic);
    let result = PaymentResult {
        base,
        outcome,
        penalty,
        before_cap,
        cap: contract.payment.cap,
        payable,
        arithmetic,
        floor: contract.payment.floor,
        student_cap_cut: cut,
        lines: if legacy { Vec::new() } else { lines },
        expected: None,
        no_expected: None,
        settled_on_expected: false,
    };
    (result, pays)
}

/// The payment with its expected value under test error ([`super::test_error`]), or why
/// there is none; with `settle_on = "expected"`, paid on the students' expected amounts.
pub(super) fn with_expected(
    contract: &Contract,
    card: &[CardLine],
    cx: &Payees<'_>,
    mut pay: PaymentResult,
    pays: Vec<StudentPay>,
) -> (PaymentResult, Vec<StudentPay>) {
    use super::test_error::{expected_payment, expected_pays};
    let (exp_pays, var) = match expected_pays(contract, card, cx, &pays) {
        Ok(v) => v,
        Err(why) => {
            pay.no_expected = Some(why);
            return (pay, pays);
        }
    };
    let e = expected_payment(contract, card, pay.base, &exp_pays, var);
    if contract.payment.settle_on == crate::contract::terms::SettleOn::Observed {
        pay.expected = Some(e);
        return (pay, pays);
    }
    let mut arithmetic = vec![pay.arithmetic[0].clone()];
    arithmetic.push(format!(
        "settled on each counted student's expected amount under test error ({} prior; docs/methods.md 9.15)",
        if e.prior == crate::contract::terms::ErrorPrior::Flat { "flat" } else { "provider" }
    ));
    for (k, line) in card.iter().enumerate() {
        let observed: f64 = pays.iter().map(|s| s.lines[k]).sum();
        let expected: f64 = exp_pays.iter().map(|s| s.lines[k]).sum();
        arithmetic.push(format!("{}: expected {} (observed {})", line.name, money(expected), money(observed)));
        if let Some(l) = pay.lines.get_mut(k) {
            l.amount = Some(expected);
            l.arithmetic = format!("expected {} under test error (observed {})", money(expected), money(observed));
        }
    }
    let cut: f64 = exp_pays.iter().map(|s| s.student_cap_cut).sum();
    if contract.payment.student_cap.is_some() {
        arithmetic.push(format!("student cap: expected cut {}", money(cut)));
    }
    arithmetic.push(format!("outcome = {}; penalty = {}", money(e.outcome), money(e.penalty)));
    let raw = pay.base + e.outcome - e.penalty;
    let (before_cap, payable) = bounded(&contract.payment, raw, &mut arithmetic);
    pay.outcome = e.outcome;
    pay.penalty = e.penalty;
    pay.student_cap_cut = cut;
    pay.before_cap = before_cap;
    pay.payable = (payable * 100.0).round() / 100.0;
    pay.arithmetic = arithmetic;
    pay.settled_on_expected = true;
    pay.expected = Some(e);
    (pay, exp_pays)
}

/// "outcome = a + b - student cap = c": the sum of a card's outcome (or penalty) lines.
fn summary(what: &str, card: &[CardLine], lines: &[LineResult], penalty: bool, cut: f64, total: f64) -> Option<String> {
    let parts: Vec<String> = card
        .iter()
        .zip(lines)
        .filter(|(l, _)| l.is_penalty() == penalty)
        .map(|(_, r)| money(r.amount.unwrap_or(0.0)))
        .collect();
    if parts.is_empty() || (parts.len() == 1 && cut == 0.0) {
        return None;
    }
    let cap = if cut > 0.0 { format!(" - {} (student cap)", money(cut)) } else { String::new() };
    Some(format!("{what} = {}{cap} = {}", parts.join(" + "), money(total)))
}

/// Base + outcome − penalty, at least the floor (0 without one) and at most the cap, with
/// the arithmetic; returns (before the cap, payable).
pub(super) fn bounded(p: &Payment, raw: f64, lines: &mut Vec<String>) -> (f64, f64) {
    let floor = p.floor.unwrap_or(0.0);
    let before_cap = raw.max(floor);
    lines.push(match p.floor {
        None if raw < 0.0 => format!("base + outcome - penalty = {} is negative: floored at 0.00", money(raw)),
        None => format!("base + outcome - penalty = {}", money(before_cap)),
        Some(f) if raw < f => {
            format!(
                "base + outcome - penalty = {} is below the floor {}: floored at {}",
                money(raw),
                money(f),
                money(f)
            )
        }
        Some(f) => format!("base + outcome - penalty = {} (floor {} not binding)", money(raw), money(f)),
    });
    let payable = match p.cap {
        Some(c) if before_cap > c => {
            lines.push(format!("cap {} applies: payable = {}", money(c), money(c)));
            c
        }
        Some(c) => {
            lines.push(format!("cap {} not reached: payable = {}", money(c), money(before_cap)));
            before_cap
        }
        None => {
            lines.push(format!("no cap: payable = {}", money(before_cap)));
            before_cap
        }
    };
    (before_cap, payable)
}

impl PaymentResult {
    /// "cap binding: 434,340.00 cut to 400,000.00" when the cap binds.
    pub fn cap_note(&self) -> Option<String> {
        self.cap_cut()
            .zip(self.cap)
            .map(|(_, cap)| format!("cap binding: {} cut to {}", money(self.before_cap), money(cap)))
    }
}

impl From<PaymentCounts> for ProviderCounts {
    fn from(c: PaymentCounts) -> Self {
        ProviderCounts {
            rostered: c.rostered,
            served: c.served,
            counted: c.counted,
            met: Some(c.met),
            regressed: Some(c.regressed),
        }
    }
}

/// The counts a provider's payment is computed from: rostered (`rows`), served, counted
/// (`idx`), meeting the outcome, and regressed (growth below `payment.regressed_below`).
pub(super) fn payment_counts(
    contract: &Contract,
    students: &[Student],
    rows: &[usize],
    idx: &[usize],
    met: &[Option<bool>],
) -> PaymentCounts {
    let below = contract.payment.regressed_below;
    PaymentCounts {
        rostered: rows.len() as u64,
        served: rows.iter().filter(|&&i| students[i].served).count() as u64,
        counted: idx.len() as u64,
        met: idx.iter().filter(|&&i| met[i] == Some(true)).count() as u64,
        regressed: idx.iter().filter(|&&i| students[i].growth().is_some_and(|g| g < below)).count() as u64,
    }
}

impl PaymentResultTotals {
    /// Adds one provider's payment.
    pub(super) fn add(&mut self, p: &PaymentResult) {
        self.base += p.base;
        self.outcome += p.outcome;
        self.penalty += p.penalty;
        self.payable += p.payable;
    }
}
