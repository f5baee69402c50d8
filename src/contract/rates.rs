//! Rate cards: the `[[rate]]` lines of a contract, each an outcome or a measure with a
//! price, and what each line pays one student (docs/contracts.md section 16).
//!
//! A line is one of:
//! - `per_student`: `price` per counted student meeting `outcome` (any outcome kind);
//! - `graduated`: an amount per counted student from a schedule on a measure, either
//!   `steps` (`(at_least, amount)`, the amount of the highest step reached) or a linear
//!   `ramp` (nothing below `from`, `from_amount` at `from`, rising linearly to `amount` at
//!   `to` and flat above);
//! - `engagement`: `price` per attended session or hour of a counted student, at most
//!   `cap_per_student`;
//! - `tier_bonus`: a provider-level pool (`pool` + `pool_per_student` × counted) paid at the
//!   `pool_share` of the highest tier reached;
//! - `penalty`: `price` deducted per counted student whose measure is below `below`.
//!
//! A provider's payment is base + the lines (each student's outcome lines at most
//! `[payment] student_cap`) − penalties, then at least `[payment] floor` and at most
//! `[payment] cap`. Only counted students earn an outcome line or a penalty. A contract
//! without `[[rate]]` lines is paid by the flat terms of `[payment]`, read as the lines they
//! are ([`card`]), with the arithmetic earlier versions wrote.

use serde::{Deserialize, Serialize};

use super::settle::{NoOutcome, Student, outcome_met};
use super::terms::{Contract, NormsMethod, Outcome, OutcomeKind, VendorMeasure};
use crate::error::ConfigError;
use crate::stats::warning::{Warning, WarningCode};

/// A per-student measure a graduated line or a penalty reads.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Scale-score growth, post − pre.
    Growth,
    /// Conditional growth percentile.
    Cgp,
    /// Conditional growth index.
    Cgi,
    /// Student growth percentile.
    Sgp,
    /// Growth as a percent of the norm's expected growth.
    PercentTypical,
    /// The vendor's own measure named by the line's `vendor` key.
    Vendor,
}

/// What a graduated line or a penalty reads: one of obc's measures or the vendor's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    Own(Measure),
    Vendor(VendorMeasure),
}

impl Reading {
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::Own(m) => m.as_str(),
            Reading::Vendor(v) => v.name(),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Reading::Own(m) => m.describe().into(),
            Reading::Vendor(v) => format!("the vendor's {}", v.name()),
        }
    }

    /// One student's value, or why there is none.
    pub fn value(self, s: &Student) -> Result<f64, NoOutcome> {
        match self {
            Reading::Own(m) => m.value(s),
            Reading::Vendor(v) => s.vendor_value(v).ok_or(NoOutcome::NoVendorValue(v.name())),
        }
    }
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Growth => "growth",
            Measure::Cgp => "cgp",
            Measure::Cgi => "cgi",
            Measure::Sgp => "sgp",
            Measure::PercentTypical => "percent_typical",
            Measure::Vendor => "vendor",
        }
    }

    /// The measure in words, for the arithmetic.
    pub fn describe(self) -> &'static str {
        match self {
            Measure::Growth => "growth (post − pre, scale points)",
            Measure::Cgp => "conditional growth percentile",
            Measure::Cgi => "conditional growth index",
            Measure::Sgp => "student growth percentile",
            Measure::PercentTypical => "percent of typical growth",
            Measure::Vendor => "the vendor's measure",
        }
    }

    /// Whether the measure needs growth norms.
    pub fn needs_norms(self) -> bool {
        !matches!(self, Measure::Growth | Measure::Vendor)
    }

    /// One student's value of the measure, or why there is none.
    pub fn value(self, s: &Student) -> Result<f64, NoOutcome> {
        let growth = s.growth().ok_or(NoOutcome::NoGrowth)?;
        if self == Measure::Growth {
            return Ok(growth);
        }
        let score = s.score.as_ref().map_err(Clone::clone)?;
        let need = |v: Option<f64>, what: &'static str| v.ok_or(NoOutcome::Missing(what));
        match self {
            Measure::Cgp => need(score.cgp, "CGP"),
            Measure::Cgi => need(score.cgi, "CGI"),
            Measure::Sgp => score.sgp.map(f64::from).ok_or(NoOutcome::Missing("SGP")),
            Measure::PercentTypical => {
                let e = need(score.expected_growth, "expected growth")?;
                if e <= 0.0 {
                    return Err(NoOutcome::NonPositiveExpected(e));
                }
                Ok(100.0 * growth / e)
            }
            Measure::Growth => unreachable!("handled above"),
            Measure::Vendor => Err(NoOutcome::Missing("vendor measure")),
        }
    }
}

/// What an engagement line pays for.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EngagementUnit {
    /// Each attended session.
    #[default]
    Session,
    /// Each attended hour (minutes attended / 60).
    Hour,
}

/// One step of a graduated schedule: `amount` for a measure at least `at_least`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_least: f64,
    pub amount: f64,
}

/// A linear ramp: nothing below `from`, `from_amount` at `from`, rising linearly to `amount`
/// at `to`, and `amount` above.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    pub from: f64,
    pub to: f64,
    #[serde(default)]
    pub from_amount: f64,
    pub amount: f64,
}

/// The kind of a `[[rate]]` line.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    PerStudent,
    Graduated,
    Engagement,
    TierBonus,
    Penalty,
}

impl RateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RateKind::PerStudent => "per_student",
            RateKind::Graduated => "graduated",
            RateKind::Engagement => "engagement",
            RateKind::TierBonus => "tier_bonus",
            RateKind::Penalty => "penalty",
        }
    }
}

/// One `[[rate]]` line as written (module docs; the keys each kind takes are in
/// docs/contracts.md section 16). [`RateLine::rate`] checks it and gives the typed line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLine {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub kind: RateKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
    /// The vendor's measure, with `measure = "vendor"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorMeasure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Step>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<Ramp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<EngagementUnit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_per_student: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_per_student: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_tier: bool,
}

/// A graduated line's schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// Steps with strictly increasing `at_least` and non-decreasing amounts.
    Steps(Vec<Step>),
    Ramp(Ramp),
}

impl Schedule {
    /// The amount a value earns.
    pub fn amount(&self, x: f64) -> f64 {
        match self {
            Schedule::Steps(steps) => steps.iter().rev().find(|s| x >= s.at_least).map_or(0.0, |s| s.amount),
            Schedule::Ramp(r) if x < r.from => 0.0,
            Schedule::Ramp(r) if x >= r.to => r.amount,
            Schedule::Ramp(r) => r.from_amount + (r.amount - r.from_amount) * (x - r.from) / (r.to - r.from),
        }
    }

    /// The most one student can earn.
    pub fn max(&self) -> f64 {
        match self {
            Schedule::Steps(steps) => steps.last().map_or(0.0, |s| s.amount),
            Schedule::Ramp(r) => r.amount.max(r.from_amount),
        }
    }

    fn describe(&self) -> String {
        match self {
            Schedule::Steps(steps) => steps
                .iter()
                .map(|s| format!("{} at {} or more", money(s.amount), s.at_least))
                .collect::<Vec<_>>()
                .join(", "),
            Schedule::Ramp(r) => format!(
                "0.00 below {}, {} at {} rising linearly to {} at {} and above",
                r.from,
                money(r.from_amount),
                r.from,
                money(r.amount),
                r.to
            ),
        }
    }
}

/// A checked rate line.
#[derive(Clone, Debug, PartialEq)]
pub enum Rate {
    PerStudent { outcome: Outcome, price: f64, requires_tier: bool },
    Graduated { measure: Reading, schedule: Schedule, requires_tier: bool },
    Engagement { per: EngagementUnit, price: f64, cap_per_student: Option<f64>, requires_tier: bool },
    TierBonus { pool: f64, pool_per_student: f64 },
    Penalty { measure: Reading, below: f64, price: f64 },
}

/// A line of the card a provider is paid by: its name, the checked line, and whether it
/// stands for a flat `[payment]` term (then its arithmetic is written as before rate cards).
#[derive(Clone, Debug, PartialEq)]
pub struct CardLine {
    pub name: String,
    pub rate: Rate,
    pub legacy: bool,
}

impl CardLine {
    pub fn kind(&self) -> RateKind {
        match self.rate {
            Rate::PerStudent { .. } => RateKind::PerStudent,
            Rate::Graduated { .. } => RateKind::Graduated,
            Rate::Engagement { .. } => RateKind::Engagement,
            Rate::TierBonus { .. } => RateKind::TierBonus,
            Rate::Penalty { .. } => RateKind::Penalty,
        }
    }

    /// Whether the line pays only when the provider reaches the first tier.
    pub fn requires_tier(&self) -> bool {
        match self.rate {
            Rate::PerStudent { requires_tier, .. }
            | Rate::Graduated { requires_tier, .. }
            | Rate::Engagement { requires_tier, .. } => requires_tier,
            Rate::TierBonus { .. } | Rate::Penalty { .. } => false,
        }
    }

    /// Whether the line deducts.
    pub fn is_penalty(&self) -> bool {
        matches!(self.rate, Rate::Penalty { .. })
    }

    /// The line in words: what it pays for and at what price.
    pub fn describe(&self) -> String {
        match &self.rate {
            Rate::PerStudent { outcome, price, .. } => {
                format!("{} per counted student meeting {}", money(*price), outcome.describe())
            }
            Rate::Graduated { measure, schedule, .. } => {
                format!("per counted student by {}: {}", measure.describe(), schedule.describe())
            }
            Rate::Engagement { per, price, cap_per_student, .. } => format!(
                "{} per attended {}{}",
                money(*price),
                match per {
                    EngagementUnit::Session => "session",
                    EngagementUnit::Hour => "hour",
                },
                cap_per_student.map_or_else(String::new, |c| format!(", at most {} per student", money(c)))
            ),
            Rate::TierBonus { pool, pool_per_student } => format!(
                "pool of {} + {} per counted student, paid at the pool share of the tier reached",
                money(*pool),
                money(*pool_per_student)
            ),
            Rate::Penalty { measure, below, price } => {
                format!("{} deducted per counted student with {} below {below}", money(*price), measure.describe())
            }
        }
    }

    /// The most one student can earn on the line (`None`: no limit; 0 for a penalty).
    pub fn max_per_student(&self) -> Option<f64> {
        match &self.rate {
            Rate::PerStudent { price, .. } => Some(*price),
            Rate::Graduated { schedule, .. } => Some(schedule.max()),
            Rate::Engagement { cap_per_student, .. } => *cap_per_student,
            Rate::TierBonus { pool_per_student, .. } => Some(*pool_per_student),
            Rate::Penalty { .. } => Some(0.0),
        }
    }
}

/// A student's total over the card's lines: the outcome lines under the student cap
/// (`earned`, before the cap), and the total after the cap, minus penalties, plus the tier
/// bonus's share (docs/methods.md 9.8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StudentTotal {
    pub earned: f64,
    pub total: f64,
}

impl StudentTotal {
    /// What the student cap cut.
    pub fn cut(&self, student_cap: Option<f64>) -> f64 {
        student_cap.map_or(0.0, |c| (self.earned - c).max(0.0))
    }
}

/// A student's total from their amount on each line of `card` (in order), the outcome
/// lines at most `student_cap`.
pub fn student_total(
    card: &[CardLine],
    amounts: impl IntoIterator<Item = f64>,
    student_cap: Option<f64>,
) -> StudentTotal {
    let (mut earned, mut rest) = (0.0, 0.0);
    for (l, v) in card.iter().zip(amounts) {
        match l.rate {
            Rate::Penalty { .. } => rest -= v,
            Rate::TierBonus { .. } => rest += v,
            _ => earned += v,
        }
    }
    StudentTotal { earned, total: student_cap.map_or(earned, |c| earned.min(c)) + rest }
}

/// Why a student earns nothing on a line.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Unpaid {
    #[error("not counted")]
    NotCounted,
    #[error("the first tier was not reached")]
    TierNotReached,
    #[error("{0}")]
    NoValue(NoOutcome),
}

/// What one line earns one student: the amount (a penalty as a positive amount) and
/// whether the student is one the line counts (met the outcome, earned an amount, attended,
/// was penalised; every counted student for a tier bonus).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Earned {
    pub amount: f64,
    pub hit: bool,
    /// What the line's own per-student cap cut (engagement lines; 0 otherwise).
    pub cut: f64,
}

/// What one line pays one student before any student cap and before the line's tier gate
/// (`requires_tier`, applied by the caller), or why the student earns nothing. A tier
/// bonus is paid per provider (its share is spread over counted students in
/// [`crate::contract::settle`]): here it is 0.
pub fn student_amount(line: &CardLine, s: &Student, counted: bool) -> Result<Earned, Unpaid> {
    if !counted {
        return Err(Unpaid::NotCounted);
    }
    let earned = |amount: f64, hit: bool| Ok(Earned { amount, hit, cut: 0.0 });
    match &line.rate {
        Rate::PerStudent { outcome, price, .. } => {
            let met = outcome_met(outcome, s).map_err(Unpaid::NoValue)?;
            earned(if met { *price } else { 0.0 }, met)
        }
        Rate::Graduated { measure, schedule, .. } => {
            let v = schedule.amount(measure.value(s).map_err(Unpaid::NoValue)?);
            earned(v, v > 0.0)
        }
        Rate::Engagement { per, price, cap_per_student, .. } => {
            let units = engagement_units(*per, s);
            let v = price * units;
            let paid = cap_per_student.map_or(v, |c| v.min(c));
            Ok(Earned { amount: paid, hit: units > 0.0, cut: v - paid })
        }
        Rate::TierBonus { .. } => earned(0.0, true),
        Rate::Penalty { measure, below, price } => {
            let below = measure.value(s).map_err(Unpaid::NoValue)? < *below;
            earned(if below { *price } else { 0.0 }, below)
        }
    }
}

/// A student's attended sessions or hours.
pub fn engagement_units(per: EngagementUnit, s: &Student) -> f64 {
    match per {
        EngagementUnit::Session => f64::from(s.sessions),
        EngagementUnit::Hour => s.minutes / 60.0,
    }
}

/// `[budget]`: what the district plans to spend and on how many students (the budget line
/// of `obc baseline`'s cost figure, and the student count at which `contingent_share` is
/// checked when the card has fixed amounts).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub students: Option<u64>,
}

/// Amounts in the contract's currency with thousands grouped: `1,234,567.89`.
pub fn money(v: f64) -> String {
    let neg = v < 0.0;
    let cents = (v.abs() * 100.0).round() as u128;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{frac:02}", if neg { "-" } else { "" })
}

fn invalid<T>(key: String, message: String) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid { key, message })
}

fn amount(key: &str, v: f64) -> Result<f64, ConfigError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        invalid(key.into(), format!("must be a number >= 0 (got {v}); prices and penalties are positive amounts"))
    }
}

impl RateLine {
    /// The checked line; `key` is `rate[K]` (0-based, as the error names it).
    pub fn rate(&self, key: &str) -> Result<Rate, ConfigError> {
        self.unused_keys(key)?;
        let required = |what: &str| ConfigError::Invalid {
            key: format!("{key}.{what}"),
            message: format!("required for kind = {:?}", self.kind.as_str()),
        };
        let price = || self.price.ok_or_else(|| required("price")).and_then(|p| amount(&format!("{key}.price"), p));
        Ok(match self.kind {
            RateKind::PerStudent => {
                let outcome = self.outcome.clone().ok_or_else(|| required("outcome"))?;
                Rate::PerStudent { outcome, price: price()?, requires_tier: self.requires_tier }
            }
            RateKind::Graduated => Rate::Graduated {
                measure: self.reading(key, self.measure.ok_or_else(|| required("measure"))?)?,
                schedule: self.schedule(key)?,
                requires_tier: self.requires_tier,
            },
            RateKind::Engagement => {
                let cap = self.cap_per_student.map(|c| amount(&format!("{key}.cap_per_student"), c)).transpose()?;
                Rate::Engagement {
                    per: self.per.unwrap_or_default(),
                    price: price()?,
                    cap_per_student: cap,
                    requires_tier: self.requires_tier,
                }
            }
            RateKind::TierBonus => Rate::TierBonus {
                pool: amount(&format!("{key}.pool"), self.pool.unwrap_or(0.0))?,
                pool_per_student: amount(&format!("{key}.pool_per_student"), self.pool_per_student.unwrap_or(0.0))?,
            },
            RateKind::Penalty => {
                let below = self.below.ok_or_else(|| required("below"))?;
                if !below.is_finite() {
                    return invalid(format!("{key}.below"), "must be a finite number".into());
                }
                Rate::Penalty {
                    measure: self.reading(key, self.measure.unwrap_or(Measure::Growth))?,
                    below,
                    price: price()?,
                }
            }
        })
    }

    /// The measure a line reads: `measure = "vendor"` takes the vendor's measure named by
    /// `vendor`, which no other measure takes.
    fn reading(&self, key: &str, m: Measure) -> Result<Reading, ConfigError> {
        match (m, self.vendor) {
            (Measure::Vendor, Some(v)) => Ok(Reading::Vendor(v)),
            (Measure::Vendor, None) => invalid(
                format!("{key}.vendor"),
                format!(
                    "measure = \"vendor\" needs the vendor's measure: one of {}",
                    VendorMeasure::ALL.map(|m| m.name()).join(", ")
                ),
            ),
            (_, Some(_)) => invalid(format!("{key}.vendor"), "only taken with measure = \"vendor\"".into()),
            (m, None) => Ok(Reading::Own(m)),
        }
    }

    /// Keys the line's kind does not take are refused (rather than silently ignored).
    fn unused_keys(&self, key: &str) -> Result<(), ConfigError> {
        use RateKind::*;
        let given: [(&str, bool, &[RateKind]); 10] = [
            ("outcome", self.outcome.is_some(), &[PerStudent]),
            ("measure", self.measure.is_some(), &[Graduated, Penalty]),
            ("price", self.price.is_some(), &[PerStudent, Engagement, Penalty]),
            ("steps", self.steps.is_some(), &[Graduated]),
            ("ramp", self.ramp.is_some(), &[Graduated]),
            ("per", self.per.is_some(), &[Engagement]),
            ("cap_per_student", self.cap_per_student.is_some(), &[Engagement]),
            ("pool", self.pool.is_some(), &[TierBonus]),
            ("pool_per_student", self.pool_per_student.is_some(), &[TierBonus]),
            ("below", self.below.is_some(), &[Penalty]),
        ];
        for (name, set, kinds) in given {
            if set && !kinds.contains(&self.kind) {
                return invalid(
                    format!("{key}.{name}"),
                    format!("kind = {:?} does not take `{name}`", self.kind.as_str()),
                );
            }
        }
        if self.requires_tier && matches!(self.kind, TierBonus | Penalty) {
            return invalid(
                format!("{key}.requires_tier"),
                format!("kind = {:?} does not take `requires_tier`", self.kind.as_str()),
            );
        }
        Ok(())
    }

    /// A graduated line's schedule: exactly one of `steps` and `ramp`, steps in strictly
    /// increasing `at_least` with non-decreasing amounts, a ramp with `from < to` and
    /// `from_amount <= amount`.
    fn schedule(&self, key: &str) -> Result<Schedule, ConfigError> {
        match (&self.steps, &self.ramp) {
            (Some(_), Some(_)) | (None, None) => {
                invalid(format!("{key}.steps"), "give exactly one schedule: `steps` or `ramp`".into())
            }
            (Some(steps), None) => {
                if steps.is_empty() {
                    return invalid(format!("{key}.steps"), "give at least one step".into());
                }
                for (i, s) in steps.iter().enumerate() {
                    if !s.at_least.is_finite() {
                        return invalid(format!("{key}.steps[{i}].at_least"), "must be a finite number".into());
                    }
                    amount(&format!("{key}.steps[{i}].amount"), s.amount)?;
                    if i > 0 && s.at_least <= steps[i - 1].at_least {
                        return invalid(
                            format!("{key}.steps[{i}].at_least"),
                            format!(
                                "steps overlap: at_least = {} is not above the previous step's {} (list steps from \
                                 the lowest at_least up)",
                                s.at_least,
                                steps[i - 1].at_least
                            ),
                        );
                    }
                    if i > 0 && s.amount < steps[i - 1].amount {
                        return invalid(
                            format!("{key}.steps[{i}].amount"),
                            format!(
                                "the schedule is not monotone: amount {} is below the previous step's {} (more \
                                 progress must never earn less)",
                                s.amount,
                                steps[i - 1].amount
                            ),
                        );
                    }
                }
                Ok(Schedule::Steps(steps.clone()))
            }
            (None, Some(r)) => {
                if !(r.from.is_finite() && r.to.is_finite() && r.from < r.to) {
                    return invalid(
                        format!("{key}.ramp"),
                        format!("needs from < to (got from = {}, to = {})", r.from, r.to),
                    );
                }
                amount(&format!("{key}.ramp.amount"), r.amount)?;
                amount(&format!("{key}.ramp.from_amount"), r.from_amount)?;
                if r.from_amount > r.amount {
                    return invalid(
                        format!("{key}.ramp.from_amount"),
                        format!("the ramp is not monotone: from_amount {} is above amount {}", r.from_amount, r.amount),
                    );
                }
                Ok(Schedule::Ramp(*r))
            }
        }
    }
}

/// The lines a contract's providers are paid by: its `[[rate]]` lines, or the flat terms of
/// `[payment]` read as lines (`outcome_per_student` a per-student line on `[outcome]`, a pool
/// a tier bonus, `penalty_per_regressed` a penalty on growth below `regressed_below`).
/// Panics on a line [`Contract::check`] refuses.
pub fn card(contract: &Contract) -> Vec<CardLine> {
    if !contract.rates.is_empty() {
        return contract
            .rates
            .iter()
            .enumerate()
            .map(|(i, l)| CardLine {
                name: if l.name.trim().is_empty() { format!("rate {}", i + 1) } else { l.name.trim().to_string() },
                rate: l.rate(&format!("rate[{i}]")).expect("rate lines are checked with the contract"),
                legacy: false,
            })
            .collect();
    }
    let p = &contract.payment;
    let outcome = if p.has_pool() {
        Rate::TierBonus { pool: p.outcome_pool, pool_per_student: p.outcome_pool_per_student }
    } else {
        Rate::PerStudent {
            outcome: contract.outcome.clone(),
            price: p.outcome_per_student,
            requires_tier: p.per_student_requires_tier,
        }
    };
    let penalty = Rate::Penalty {
        measure: Reading::Own(Measure::Growth),
        below: p.regressed_below,
        price: p.penalty_per_regressed,
    };
    [("outcome", outcome), ("penalty", penalty)]
        .into_iter()
        .map(|(name, rate)| CardLine { name: name.into(), rate, legacy: true })
        .collect()
}

/// The `[[rate]]` lines and the caps of `[payment]`, checked (exit 2 naming the key): each
/// line as [`RateLine::rate`] checks it, measures the norms can give, the flat outcome
/// terms not mixed with lines, the floor not above the cap, and `contingent_share` against
/// the lines ([`contingent_share`]).
pub fn check(contract: &Contract) -> Result<(), ConfigError> {
    let p = &contract.payment;
    for (key, v) in [("payment.student_cap", p.student_cap), ("payment.floor", p.floor)] {
        if let Some(v) = v {
            amount(key, v)?;
        }
    }
    if let (Some(floor), Some(cap)) = (p.floor, p.cap)
        && cap < floor
    {
        return invalid("payment.cap".into(), format!("the cap {} is below the floor {}", money(cap), money(floor)));
    }
    if !contract.rates.is_empty() {
        let flat = [
            ("outcome_per_student", p.outcome_per_student),
            ("outcome_pool", p.outcome_pool),
            ("outcome_pool_per_student", p.outcome_pool_per_student),
            ("penalty_per_regressed", p.penalty_per_regressed),
        ];
        if let Some((name, _)) = flat.iter().find(|(_, v)| *v != 0.0) {
            return invalid(
                format!("payment.{name}"),
                "with [[rate]] lines every outcome payment and penalty is a line: write this one as a \
                 `per_student`, `tier_bonus` or `penalty` line"
                    .into(),
            );
        }
        if p.per_student_requires_tier {
            return invalid(
                "payment.per_student_requires_tier".into(),
                "with [[rate]] lines, set `requires_tier = true` on the lines it applies to".into(),
            );
        }
    }
    let mut pools = 0;
    for (i, l) in contract.rates.iter().enumerate() {
        let key = format!("rate[{i}]");
        let rate = l.rate(&key)?;
        check_measures(contract, &key, &rate)?;
        if let Rate::TierBonus { pool, pool_per_student } = rate {
            pools += 1;
            if pool + pool_per_student == 0.0 {
                return invalid(format!("{key}.pool"), "a tier bonus needs `pool` or `pool_per_student` > 0".into());
            }
        }
    }
    if pools > 1 {
        return invalid("rate".into(), "give at most one `tier_bonus` line (the tiers' pool shares pay it)".into());
    }
    if pools == 1 && contract.thresholds.iter().any(|t| t.pool_share.is_none()) {
        return invalid("thresholds".into(), "a `tier_bonus` line needs `pool_share` on every tier".into());
    }
    if p.settle_on == super::terms::SettleOn::Expected && card_uses_vendor(contract) {
        return invalid(
            "payment.settle_on".into(),
            "\"expected\" re-scores each student at other growths, which a vendor's measures do not allow: settle \
             on \"observed\", or pay on obc's CGP, CGI, percent of typical growth or growth"
                .into(),
        );
    }
    if p.settle_on == super::terms::SettleOn::Expected && (card_needs_sgp(contract) || uses_sgp_outcome(contract)) {
        return invalid(
            "payment.settle_on".into(),
            "\"expected\" re-scores each student at other growths, which SGPs (quantile regression) do not allow: \
             settle on \"observed\", or pay on CGP, CGI, percent of typical growth or growth"
                .into(),
        );
    }
    contingent_share(contract).map(|_| ())
}

/// The flat terms pay on `[outcome]`: whether that is an SGP.
fn uses_sgp_outcome(contract: &Contract) -> bool {
    contract.rates.is_empty() && contract.outcome.kind == OutcomeKind::Sgp && contract.payment.outcome_per_student > 0.0
}

/// A line's outcome or measure must be one the contract's norms give: norm measures need
/// norms, SGP needs SGP norms, the others expected growth. Vendor measures need no norms
/// (their columns are checked against the data, [`Contract::check_vendor_columns`]).
fn check_measures(contract: &Contract, key: &str, rate: &Rate) -> Result<(), ConfigError> {
    let (what, measure) = match rate {
        Rate::PerStudent { outcome, .. } => {
            outcome.check(&format!("{key}.outcome"))?;
            let m = match outcome.kind {
                OutcomeKind::ScaleGrowth | OutcomeKind::Vendor => Measure::Growth,
                OutcomeKind::Sgp => Measure::Sgp,
                OutcomeKind::Cgp => Measure::Cgp,
                OutcomeKind::Cgi => Measure::Cgi,
                OutcomeKind::GrowthVsNorm | OutcomeKind::PercentTypical => Measure::PercentTypical,
            };
            (format!("{key}.outcome"), m)
        }
        Rate::Graduated { measure: Reading::Own(m), .. } | Rate::Penalty { measure: Reading::Own(m), .. } => {
            (format!("{key}.measure"), *m)
        }
        _ => return Ok(()),
    };
    if !measure.needs_norms() {
        return Ok(());
    }
    let method = contract.norms.method;
    let has_norms = method == NormsMethod::File || contract.files.history.is_some();
    if !has_norms {
        return invalid(
            what,
            format!(
                "{} needs growth norms, and the contract has none: name [files] history, or use norms.method = \"file\"",
                measure.describe()
            ),
        );
    }
    match (measure, method) {
        (Measure::Sgp, NormsMethod::Conditional) => {
            invalid(what, "the student growth percentile needs norms.method = \"sgp\" (or a file of SGP norms)".into())
        }
        (Measure::Cgp | Measure::Cgi | Measure::PercentTypical, NormsMethod::Sgp) => invalid(
            what,
            format!("{} needs expected growth: use norms.method = \"conditional\" (or a file)", measure.describe()),
        ),
        _ => Ok(()),
    }
}

/// Whether any line needs growth norms.
pub fn card_needs_norms(contract: &Contract) -> bool {
    contract
        .rates
        .iter()
        .any(|l| l.outcome.as_ref().is_some_and(Outcome::needs_norms) || l.measure.is_some_and(Measure::needs_norms))
}

/// Whether any line (or the flat terms' outcome) reads a vendor measure.
pub fn card_uses_vendor(contract: &Contract) -> bool {
    let flat = contract.rates.is_empty() && contract.outcome.kind == OutcomeKind::Vendor;
    flat || contract
        .rates
        .iter()
        .any(|l| l.vendor.is_some() || l.outcome.as_ref().is_some_and(|o| o.kind == OutcomeKind::Vendor))
}

/// The vendor measures the lines read, with the key each is named under.
pub fn card_vendor_measures(contract: &Contract) -> Vec<(String, VendorMeasure)> {
    let mut out = Vec::new();
    for (i, l) in contract.rates.iter().enumerate() {
        if let Some(m) = l.outcome.as_ref().and_then(Outcome::vendor_measure) {
            out.push((format!("rate[{i}].outcome"), m));
        }
        if let Some(v) = l.vendor {
            out.push((format!("rate[{i}].vendor"), v));
        }
    }
    out
}

/// Whether any line needs SGPs (so the norms must be SGP norms).
pub fn card_needs_sgp(contract: &Contract) -> bool {
    contract
        .rates
        .iter()
        .any(|l| l.outcome.as_ref().is_some_and(|o| o.kind == OutcomeKind::Sgp) || l.measure == Some(Measure::Sgp))
}

/// The outcome share of the most a provider can be paid, from the card: per student, the
/// outcome lines' maxima (at most `student_cap`) against the base; with fixed amounts
/// (`base_fixed`, a tier bonus's `pool`) or a provider cap, at `[budget] students`.
/// `Ok(None)` when it cannot be computed (an uncapped engagement line, or fixed amounts
/// without `[budget] students`); an error when `contingent_share` is set and differs from
/// it by more than half a percentage point.
pub fn contingent_share(contract: &Contract) -> Result<Option<f64>, ConfigError> {
    let p = &contract.payment;
    let lines = card(contract);
    let per_student: Option<f64> = lines.iter().map(CardLine::max_per_student).sum();
    let per_student = per_student.map(|v| p.student_cap.map_or(v, |c| v.min(c)));
    let fixed_pool: f64 = lines
        .iter()
        .map(|l| match l.rate {
            Rate::TierBonus { pool, .. } => pool,
            _ => 0.0,
        })
        .sum();
    let needs_count = p.base_fixed > 0.0 || fixed_pool > 0.0 || p.cap.is_some();
    let share = match (per_student, needs_count, contract.budget.students) {
        (None, _, _) | (Some(_), true, None) => None,
        (Some(o), false, _) => Some(if p.base_per_student + o > 0.0 { o / (p.base_per_student + o) } else { 0.0 }),
        (Some(o), true, Some(n)) => {
            let n = n as f64;
            let base = p.base_fixed + p.base_per_student * n;
            let outcome = fixed_pool + o * n;
            let most = p.cap.map_or(base + outcome, |c| c.min(base + outcome));
            Some(if most > 0.0 { ((most - base) / most).max(0.0) } else { 0.0 })
        }
    };
    if let (Some(stated), Some(got)) = (p.contingent_share, share)
        && (stated - got).abs() > 0.005
    {
        return invalid(
            "payment.contingent_share".into(),
            format!(
                "states {stated} of the most a provider can be paid, but the lines give {:.4} (outcome lines at most \
                 {} per student against a base of {} per student{}): correct the share or the lines",
                got,
                money(per_student.unwrap_or(0.0)),
                money(p.base_per_student),
                contract.budget.students.map_or_else(String::new, |n| format!(", at [budget] students = {n}"))
            ),
        );
    }
    if let Some(s) = p.contingent_share
        && !(0.0..=1.0).contains(&s)
    {
        return invalid("payment.contingent_share".into(), format!("must be in 0..=1 (got {s})"));
    }
    Ok(share)
}

/// The warning when `contingent_share` is set but cannot be checked against the lines.
pub fn card_warnings(contract: &Contract) -> Vec<Warning> {
    let p = &contract.payment;
    match (p.contingent_share, contingent_share(contract)) {
        (Some(s), Ok(None)) => vec![Warning::new(
            WarningCode::RateCard,
            format!(
                "[payment] contingent_share = {s} could not be checked against the rate lines: an engagement line \
                 without cap_per_student has no most, and fixed amounts (base_fixed, a tier bonus pool, a cap) need \
                 [budget] students"
            ),
        )],
        _ => Vec::new(),
    }
}
