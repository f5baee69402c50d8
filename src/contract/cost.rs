//! The price of a contract before signing (`obc baseline`, docs/methods.md 10.7): for each
//! provider size and true effect of the `[baseline]` grid, the distribution of a provider's
//! total payment under the contract's card ([`rates::card`]), from the draws of the OC
//! curves ([`super::oc::oc_pass`]).
//!
//! # Model
//!
//! A replicate of size `n` draws `n` history students (the OC curves' draws). Each drawn
//! student, shifted by the effect and re-scored as for the OC curves, is paid what
//! settlement would pay a counted student with those scores ([`rates::student_amount`] on
//! every line of the card): the outcome lines, at most `[payment] student_cap`, minus the
//! penalties. Lines with `requires_tier` pay only when the provider reaches the first tier,
//! so each student has two amounts, one if the tier is reached and one if not
//! ([`student_pay`]). The replicate's decision statistic `S` decides the tiers as
//! settlement does: tier `i` is met when `S ≥ t_i`, and the tier reached is the highest with
//! every tier up to it met. Then
//!
//! ```text
//! payment = min(cap, max(floor, base + Σ drawn students' amounts + tier bonus))
//! base    = base_fixed + base_per_student × n   (a history stand-in is rostered, served and counted)
//! bonus   = (pool + pool_per_student × n) × pool_share of the tier reached (0 with none)
//! ```
//!
//! with a floor of 0 when `[payment] floor` is not set. The cap binds when the payment before
//! it is above `[payment] cap`.
//!
//! History students have no sessions: an engagement line is priced at the planned dosage
//! ([`planned_dosage`]): per session at `[midpoint] contracted_sessions` (rounded to whole
//! sessions), else `[eligibility] min_sessions`; per hour at `[eligibility] min_minutes`.
//!
//! # Summaries
//!
//! Over the `R` replicates: the mean payment, its Monte Carlo standard error (the SD of the
//! payments, divisor `R − 1`, over `sqrt(R)`), the 10th and 90th percentiles (type 7), the
//! share of replicates in which the cap binds, and the mean per student (`mean / n`).

use super::oc::{Replicate, SizeReplicates};
use super::rates::{self, CardLine, EngagementUnit, Rate, money};
pub use super::results::{Cost, CostCell};
use super::settle::Student;
use super::terms::{Contract, Threshold};
use crate::stats::spline::quantile_type7;

/// Why the price of a contract cannot be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CostError {
    #[error(
        "{key}: the rate card has an engagement line paid per attended {unit}, and history students have no \
         sessions, so obc baseline prices it at the planned dosage: set `{key}`{alt}"
    )]
    NoDosage { key: &'static str, unit: &'static str, alt: &'static str },
    #[error(
        "{key}: the rate card pays on the vendor's {measure}, which history students do not have, so the price of \
         the contract before signing cannot be computed from the history (it would count that line as paying \
         nothing); price it with an obc measure (CGP, CGI, percent of typical growth, growth) that stands for it"
    )]
    VendorLine { key: String, measure: &'static str },
}

/// History students carry no vendor measures: a card paying on one cannot be priced.
pub fn check_card(contract: &Contract) -> Result<(), CostError> {
    match super::rates::card_vendor_measures(contract).into_iter().next() {
        Some((key, m)) => Err(CostError::VendorLine { key, measure: m.name() }),
        None => Ok(()),
    }
}

/// The dosage an engagement line is priced at, and where it comes from in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Dosage {
    pub sessions: u32,
    pub minutes: f64,
    pub note: String,
}

/// The planned dosage for the card's engagement lines (module docs); `None` when the card
/// has none.
pub fn planned_dosage(contract: &Contract, card: &[CardLine]) -> Result<Option<Dosage>, CostError> {
    let units: Vec<EngagementUnit> = card
        .iter()
        .filter_map(|l| match l.rate {
            Rate::Engagement { per, .. } => Some(per),
            _ => None,
        })
        .collect();
    if units.is_empty() {
        return Ok(None);
    }
    let mut dosage = Dosage { sessions: 0, minutes: 0.0, note: String::new() };
    let mut notes = Vec::new();
    if units.contains(&EngagementUnit::Session) {
        let min = contract.eligibility.min_sessions;
        let (v, key) = match contract.midpoint.contracted_sessions {
            Some(s) => (s.round() as u32, "[midpoint] contracted_sessions"),
            None if min > 0 => (min, "[eligibility] min_sessions"),
            None => {
                return Err(CostError::NoDosage {
                    key: "midpoint.contracted_sessions",
                    unit: "session",
                    alt: " (or [eligibility] min_sessions)",
                });
            }
        };
        dosage.sessions = v;
        notes.push(format!("{v} sessions per student ({key})"));
    }
    if units.contains(&EngagementUnit::Hour) {
        let m = contract.eligibility.min_minutes;
        if m <= 0.0 {
            return Err(CostError::NoDosage { key: "eligibility.min_minutes", unit: "hour", alt: "" });
        }
        dosage.minutes = m;
        notes.push(format!("{} hours per student ([eligibility] min_minutes = {m})", m / 60.0));
    }
    dosage.note = format!("engagement lines priced at the planned dosage: {}", notes.join(" and "));
    Ok(Some(dosage))
}

/// A history student as a provider's counted student at the planned dosage.
pub fn at_dosage(mut s: Student, dosage: Option<&Dosage>) -> Student {
    if let Some(d) = dosage {
        s.sessions = d.sessions;
        s.minutes = d.minutes;
    }
    s
}

/// What one counted student is paid outside the base and the tier bonus, `(if the provider
/// reaches the first tier, if it does not)`: the outcome lines (those with `requires_tier`
/// only in the first case), at most `[payment] student_cap`, minus the penalties. A line
/// the student has no value for pays nothing, as in settlement.
pub fn student_pay(contract: &Contract, card: &[CardLine], s: &Student) -> (f64, f64) {
    // the tier bonus is paid per provider: nothing here
    let amounts: Vec<(f64, bool)> = card
        .iter()
        .map(|line| match (&line.rate, rates::student_amount(line, s, true)) {
            (Rate::TierBonus { .. }, _) | (_, Err(_)) => (0.0, false),
            (_, Ok(e)) => (e.amount, line.requires_tier()),
        })
        .collect();
    let cap = contract.payment.student_cap;
    let reached = rates::student_total(card, amounts.iter().map(|a| a.0), cap).total;
    let not_reached =
        rates::student_total(card, amounts.iter().map(|&(v, gated)| if gated { 0.0 } else { v }), cap).total;
    (reached, not_reached)
}

/// The tier reached by a decision statistic `s`: the highest tier with every tier up to it
/// met (`s ≥ value`), as settlement decides.
pub fn tier_reached(thresholds: &[Threshold], s: f64) -> Option<usize> {
    let mut reached = None;
    for (i, t) in thresholds.iter().enumerate() {
        if s < t.value {
            break;
        }
        reached = Some(i);
    }
    reached
}

/// One replicate's payment for a provider of `n` students, and whether the cap binds.
pub fn payment(contract: &Contract, card: &[CardLine], n: usize, r: &Replicate) -> (f64, bool) {
    let p = &contract.payment;
    let nf = n as f64;
    let reached = tier_reached(&contract.thresholds, r.s);
    let students = if reached.is_some() { r.if_reached } else { r.if_not };
    let bonus: f64 = card
        .iter()
        .map(|l| match (&l.rate, reached) {
            (&Rate::TierBonus { pool, pool_per_student }, Some(i)) => {
                (pool + pool_per_student * nf) * contract.thresholds[i].pool_share.unwrap_or(0.0)
            }
            _ => 0.0,
        })
        .sum();
    let before_cap = (p.base_fixed + p.base_per_student * nf + students + bonus).max(p.floor.unwrap_or(0.0));
    match p.cap {
        Some(c) if before_cap > c => (c, true),
        _ => (before_cap, false),
    }
}

/// The summary of one cell's payments (module docs).
fn cell(n: usize, effect: f64, paid: &[(f64, bool)]) -> CostCell {
    let reps = paid.len() as f64;
    let mut v: Vec<f64> = paid.iter().map(|p| p.0).collect();
    let mean = v.iter().sum::<f64>() / reps;
    let sd =
        if paid.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (reps - 1.0)).sqrt() } else { 0.0 };
    v.sort_by(f64::total_cmp);
    CostCell {
        n,
        effect,
        mean,
        p10: quantile_type7(&v, 0.1),
        p90: quantile_type7(&v, 0.9),
        p_cap_binds: paid.iter().filter(|p| p.1).count() as f64 / reps,
        mean_per_student: mean / n as f64,
        mc_se: sd / reps.sqrt(),
    }
}

/// The price of the contract from the replicates of every size (those of
/// [`super::oc::oc_pass`], with the card's per-student amounts): one cell per size and
/// effect, and the payment for business as usual at the size nearest `provider_size`.
pub fn price(
    contract: &Contract,
    card: &[CardLine],
    sizes: &[SizeReplicates],
    effects: &[f64],
    provider_size: usize,
    dosage: Option<&Dosage>,
) -> Cost {
    let cells: Vec<CostCell> = sizes
        .iter()
        .flat_map(|size| {
            size.by_effect.iter().zip(effects).map(move |(reps, &d)| {
                let paid: Vec<(f64, bool)> = reps.iter().map(|r| payment(contract, card, size.n, r)).collect();
                cell(size.n, d, &paid)
            })
        })
        .collect();
    let nearest = cells.iter().map(|c| c.n).min_by_key(|&n| (n.abs_diff(provider_size), n)).unwrap_or(provider_size);
    let business_as_usual = cells
        .iter()
        .find(|c| c.n == nearest && c.effect == 0.0)
        .cloned()
        .expect("the grid's first effect is 0 and every size has its cells");
    Cost {
        cells,
        reps: sizes.first().and_then(|s| s.by_effect.first()).map_or(0, Vec::len),
        dosage: dosage.map(|d| d.note.clone()),
        budget_total: contract.budget.total,
        business_as_usual,
    }
}

impl Cost {
    /// "Payment for business as usual: ...", the lead sentence of the console and the
    /// report.
    pub fn business_as_usual_sentence(&self) -> String {
        let c = &self.business_as_usual;
        let cap = if c.p_cap_binds > 0.0 {
            format!("; the cap binds {:.1}% of the time", 100.0 * c.p_cap_binds)
        } else {
            String::new()
        };
        format!(
            "Payment for business as usual: a provider of {} students with no effect would be paid {} per student on \
             average ({} in all, 10-90% range {} to {}{cap}).",
            c.n,
            money(c.mean_per_student),
            money(c.mean),
            money(c.p10),
            money(c.p90)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(value: f64) -> Threshold {
        Threshold { name: String::new(), value, pool_share: None }
    }

    #[test]
    fn tiers_are_reached_in_order() {
        let ts = [t(0.5), t(0.6)];
        assert_eq!(tier_reached(&ts, 0.49), None);
        assert_eq!(tier_reached(&ts, 0.5), Some(0));
        assert_eq!(tier_reached(&ts, 0.7), Some(1));
    }

    #[test]
    fn a_cell_summarises_its_payments() {
        let paid: Vec<(f64, bool)> = (1..=10).map(|i| (f64::from(i), i == 10)).collect();
        let c = cell(5, 0.1, &paid);
        assert_eq!((c.mean, c.mean_per_student, c.p_cap_binds), (5.5, 1.1, 0.1));
        // type 7: 1 + 0.1 × 9 = 1.9 and 1 + 0.9 × 9 = 9.1
        assert!((c.p10 - 1.9).abs() < 1e-12 && (c.p90 - 9.1).abs() < 1e-12, "{c:?}");
        // SD of 1..=10 (n − 1) is sqrt(55/6)
        assert!((c.mc_se - (55.0f64 / 6.0).sqrt() / 10f64.sqrt()).abs() < 1e-12);
    }
}
