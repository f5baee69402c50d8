//! Payment under test error (docs/methods.md 9.15).
//!
//! A per-student yes/no on a noisy test is a coin flip near the threshold. With both tests'
//! standard errors of measurement, a student's observed growth `g` has standard error
//! `se = sqrt(sem_pre² + sem_post²)`, and the student's true growth `G` has a law given
//! `g` ([`Posterior`]):
//!
//! - `prior = "flat"`: a flat prior on `G`, so `G | g ~ N(g, se²)`: the model of
//!   `obc norms score`'s probability of true growth at least a target. It ignores
//!   regression to the mean: averaged over students it adds the test error a second time,
//!   so a provider's expected payment is pulled further toward the middle than the
//!   observed payment is.
//! - `prior = "provider"` (the default): a normal prior fitted on the provider's own counted
//!   students (empirical Bayes; Morris 1983, JASA 78:47). With `c_i` the student's expected
//!   growth from the norms (0 without norms) and residual `r_i = g_i − c_i`, the prior is
//!   `G_i ~ N(c_i + μ, τ²)` with `μ` the mean residual and `τ² = max(0, var(r) − mean(se²))`;
//!   then `G_i | g_i ~ N(c_i + μ + ρ_i (r_i − μ), ρ_i se_i²)`, `ρ_i = τ² / (τ² + se_i²)`.
//!   Averaged over students the probability of meeting the outcome is then the share of
//!   students whose true growth meets it, when the prior is right.
//!
//! Every measure a line reads is a function of growth for a given student: growth itself,
//! CGI `(G − e)/sd`, CGP `100 Φ((G − e)/sd)`, percent of typical growth `100 G / e` (with the
//! norms' expected growth `e` and SD `sd` for the student's start score and weeks). The
//! expected amount of a line is `E[a(G)]` under the posterior, computed by Gauss-Legendre
//! quadrature between the growths at which the line's amount jumps or bends (so each piece
//! is smooth): for a per-student outcome this is `price × P(true measure ≥ at_least)`
//! exactly up to rounding. The student cap applies inside the expectation
//! (`E[min(cap, Σ lines)]`). Engagement lines and a tier bonus do not depend on the test:
//! they are paid as observed. SGPs (quantile regression) and vendor measures cannot be
//! re-scored at another growth; a card with a line on them has no expected payment.
//!
//! A provider's expected payment is base + Σ students' expected amounts, then the floor and
//! the cap, as the observed payment is; its interval is the floor and cap applied to
//! `μ ± z σ`, where `σ² = Σ Var(student's amount)` (students' test errors independent) and
//! `z` the normal quantile of `[decision] level`.

use serde::{Deserialize, Serialize};

use super::payment::{Payees, StudentPay};
use super::{Contract, Student};
use crate::contract::rates::{CardLine, Measure, Rate, Reading, money, student_total};
use crate::contract::terms::{ErrorPrior, OutcomeKind};
use crate::stats::normal::{dnorm, pnorm, qnorm};

/// The law of a student's true growth: normal with this mean and SD (SD 0: known).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Posterior {
    pub mean: f64,
    pub sd: f64,
}

/// Why a provider's expected payment under test error cannot be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum NoExpected {
    #[error(
        "{students} counted students lack a standard error of growth (an SEM on both tests; i-Ready gives none), \
         so their test error is unknown"
    )]
    NoSem { students: u64 },
    #[error("rate {line} pays on {what}, which cannot be re-scored at another growth")]
    Unmodelled { line: usize, what: String },
}

/// A provider's expected payment under test error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectedPayment {
    pub prior: ErrorPrior,
    /// Expected amount of each rate line (empty for a contract paid by the flat terms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<f64>,
    pub outcome: f64,
    pub penalty: f64,
    pub payable: f64,
    pub low: f64,
    pub high: f64,
    pub level: f64,
    /// SD of the payment before the floor and cap, from the students' test errors.
    pub sd: f64,
}

/// A measure as a function of one student's growth.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
    Growth,
    Cgi { e: f64, sd: f64 },
    Cgp { e: f64, sd: f64 },
    Percent { e: f64 },
}

impl Scale {
    fn at(self, g: f64) -> f64 {
        match self {
            Scale::Growth => g,
            Scale::Cgi { e, sd } => (g - e) / sd,
            Scale::Cgp { e, sd } => 100.0 * pnorm((g - e) / sd),
            Scale::Percent { e } => 100.0 * g / e,
        }
    }

    /// The growth at which the measure is `x` (`None`: never).
    fn growth_at(self, x: f64) -> Option<f64> {
        let g = match self {
            Scale::Growth => x,
            Scale::Cgi { e, sd } => e + sd * x,
            Scale::Cgp { e, sd } if x > 0.0 && x < 100.0 => e + sd * qnorm(x / 100.0),
            Scale::Cgp { .. } => return None,
            Scale::Percent { e } => x * e / 100.0,
        };
        g.is_finite().then_some(g)
    }

    /// The student's scale of a measure (`None`: the norms give no expected growth or SD).
    fn of(measure: Measure, s: &Student) -> Option<Scale> {
        if measure == Measure::Growth {
            return Some(Scale::Growth);
        }
        let score = s.score.as_ref().ok()?;
        let (e, sd) = (score.expected_growth?, score.growth_sd.unwrap_or(f64::NAN));
        match measure {
            Measure::Cgi if sd > 0.0 => Some(Scale::Cgi { e, sd }),
            Measure::Cgp if sd > 0.0 => Some(Scale::Cgp { e, sd }),
            Measure::PercentTypical if e > 0.0 => Some(Scale::Percent { e }),
            _ => None,
        }
    }
}

/// What one line pays at a growth, as a function of the student's growth.
#[derive(Clone, Debug, PartialEq)]
enum LineFn {
    /// `price` when the measure is at least `k` (`below`: when it is under `k`).
    Threshold {
        scale: Scale,
        k: f64,
        price: f64,
        below: bool,
    },
    Schedule {
        scale: Scale,
        schedule: crate::contract::rates::Schedule,
    },
    /// Does not depend on the test.
    Constant(f64),
}

impl LineFn {
    fn at(&self, g: f64) -> f64 {
        match self {
            LineFn::Threshold { scale, k, price, below } => {
                if (scale.at(g) >= *k) != *below {
                    *price
                } else {
                    0.0
                }
            }
            LineFn::Schedule { scale, schedule } => schedule.amount(scale.at(g)),
            LineFn::Constant(v) => *v,
        }
    }

    /// Growths at which the amount jumps or bends.
    fn breaks(&self) -> Vec<f64> {
        use crate::contract::rates::Schedule as S;
        let (scale, xs): (Scale, Vec<f64>) = match self {
            LineFn::Threshold { scale, k, .. } => (*scale, vec![*k]),
            LineFn::Schedule { scale, schedule: S::Steps(st) } => (*scale, st.iter().map(|s| s.at_least).collect()),
            LineFn::Schedule { scale, schedule: S::Ramp(r) } => (*scale, vec![r.from, r.to]),
            LineFn::Constant(_) => return Vec::new(),
        };
        xs.into_iter().filter_map(|x| scale.growth_at(x)).collect()
    }
}

/// A line's amount as a function of a counted student's growth, the observed amount for
/// lines that do not depend on the test, or the line's number and measure when it cannot
/// be re-scored.
fn line_fn(line: &CardLine, k: usize, s: &Student, observed: f64) -> Result<LineFn, NoExpected> {
    let unmodelled = |what: &str| NoExpected::Unmodelled { line: k + 1, what: what.into() };
    let scale = |m: Measure| Scale::of(m, s).ok_or_else(|| unmodelled(m.describe()));
    let own_scale = |r: Reading| match r {
        Reading::Own(Measure::Sgp) => Err(unmodelled("the student growth percentile")),
        Reading::Own(m) => scale(m),
        Reading::Vendor(v) => Err(unmodelled(v.name())),
    };
    Ok(match &line.rate {
        Rate::PerStudent { outcome, price, .. } => {
            let k_at = outcome.at_least.unwrap_or(0.0);
            let (scale, k) = match outcome.kind {
                OutcomeKind::ScaleGrowth => (Scale::Growth, k_at),
                OutcomeKind::Cgp => (scale(Measure::Cgp)?, k_at),
                OutcomeKind::Cgi => (scale(Measure::Cgi)?, k_at),
                // growth at least the norm's expected growth: CGI at least 0
                OutcomeKind::GrowthVsNorm => (scale(Measure::Cgi)?, 0.0),
                OutcomeKind::PercentTypical => (scale(Measure::PercentTypical)?, k_at),
                OutcomeKind::Sgp => return Err(unmodelled("the student growth percentile")),
                OutcomeKind::Vendor => return Err(unmodelled("a vendor measure")),
            };
            LineFn::Threshold { scale, k, price: *price, below: false }
        }
        Rate::Graduated { measure, schedule, .. } => {
            LineFn::Schedule { scale: own_scale(*measure)?, schedule: schedule.clone() }
        }
        Rate::Penalty { measure, below, price } => {
            LineFn::Threshold { scale: own_scale(*measure)?, k: *below, price: *price, below: true }
        }
        Rate::Engagement { .. } | Rate::TierBonus { .. } => LineFn::Constant(observed),
    })
}

/// 10-point Gauss-Legendre nodes and weights on [-1, 1] (Abramowitz & Stegun 25.4.30).
const GL_X: [f64; 5] = [
    0.148_874_338_981_631_2,
    0.433_395_394_129_247_2,
    0.679_409_568_299_024_4,
    0.865_063_366_688_984_5,
    0.973_906_528_517_171_7,
];
const GL_W: [f64; 5] = [
    0.295_524_224_714_752_9,
    0.269_266_719_309_996_3,
    0.219_086_362_515_982,
    0.149_451_349_150_580_6,
    0.066_671_344_308_688_1,
];

/// `E[f(G)]` for `G ~ N(mean, sd²)` of each of `fs`, integrating `f(mean + sd z) φ(z)` over
/// `z` in [-8, 8] in pieces at most 2 wide split at `breaks` (the tails beyond hold about
/// 1e-15 of the mass).
fn expect<F: Fn(f64) -> [f64; N], const N: usize>(p: Posterior, breaks: &[f64], f: F) -> [f64; N] {
    if p.sd == 0.0 {
        return f(p.mean);
    }
    let mut zs: Vec<f64> = (-4..=4).map(|z| f64::from(2 * z)).collect();
    zs.extend(breaks.iter().map(|b| (b - p.mean) / p.sd).filter(|z| z.abs() < 8.0));
    zs.sort_by(f64::total_cmp);
    zs.dedup();
    let mut out = [0.0; N];
    for w in zs.windows(2) {
        let (mid, half) = ((w[0] + w[1]) / 2.0, (w[1] - w[0]) / 2.0);
        for (x, wt) in GL_X.iter().zip(GL_W) {
            for z in [mid - half * x, mid + half * x] {
                let v = f(p.mean + p.sd * z);
                let weight = wt * half * dnorm(z);
                out.iter_mut().zip(v).for_each(|(o, v)| *o += weight * v);
            }
        }
    }
    out
}

/// The growths in `post`'s range where `f` changes sign, one per piece between `breaks`
/// (where `f` is monotone), found by bisection.
fn crossings(post: Posterior, breaks: &[f64], f: impl Fn(f64) -> f64) -> Vec<f64> {
    if post.sd == 0.0 {
        return Vec::new();
    }
    let mut pts: Vec<f64> = (-8..=8).map(|z| post.mean + post.sd * f64::from(z)).collect();
    pts.extend(breaks.iter().copied().filter(|b| (b - post.mean).abs() < 8.0 * post.sd));
    pts.sort_by(f64::total_cmp);
    let mut out = Vec::new();
    for w in pts.windows(2) {
        // just inside the piece, where f is continuous
        let (mut lo, mut hi) = (w[0] + 1e-9 * post.sd, w[1] - 1e-9 * post.sd);
        let (flo, fhi) = (f(lo), f(hi));
        if flo == 0.0 || fhi == 0.0 || (flo > 0.0) == (fhi > 0.0) {
            continue;
        }
        for _ in 0..80 {
            let mid = (lo + hi) / 2.0;
            if (f(mid) > 0.0) == (flo > 0.0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        out.push((lo + hi) / 2.0);
    }
    out
}

/// Each counted student's posterior of true growth, in the order of `idx` (module docs).
pub fn posteriors(prior: ErrorPrior, students: &[Student], idx: &[usize]) -> Result<Vec<Posterior>, NoExpected> {
    let missing = idx.iter().filter(|&&i| students[i].growth_se.is_none_or(|se| !se.is_finite())).count();
    if missing > 0 {
        return Err(NoExpected::NoSem { students: missing as u64 });
    }
    let g = |i: usize| students[i].growth().expect("counted students have growth");
    let se = |i: usize| students[i].growth_se.expect("checked");
    if prior == ErrorPrior::Flat {
        return Ok(idx.iter().map(|&i| Posterior { mean: g(i), sd: se(i) }).collect());
    }
    let centre = |i: usize| students[i].score.as_ref().ok().and_then(|s| s.expected_growth).unwrap_or(0.0);
    let r: Vec<f64> = idx.iter().map(|&i| g(i) - centre(i)).collect();
    let n = r.len() as f64;
    let mu = r.iter().sum::<f64>() / n;
    let var = if r.len() > 1 { r.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    let tau2 = (var - idx.iter().map(|&i| se(i).powi(2)).sum::<f64>() / n).max(0.0);
    Ok(idx
        .iter()
        .zip(&r)
        .map(|(&i, &ri)| {
            let s2 = se(i).powi(2);
            let rho = if tau2 + s2 > 0.0 { tau2 / (tau2 + s2) } else { 1.0 };
            Posterior { mean: centre(i) + mu + rho * (ri - mu), sd: (rho * s2).sqrt() }
        })
        .collect())
}

/// Each student's expected pay (lines `E[a(G)]`, the student cap inside the expectation)
/// and the variance of their amount; students not counted keep their observed pay.
pub(super) fn expected_pays(
    contract: &Contract,
    card: &[CardLine],
    cx: &Payees<'_>,
    pays: &[StudentPay],
) -> Result<(Vec<StudentPay>, f64), NoExpected> {
    let idx: Vec<usize> = cx.rows.iter().copied().filter(|&i| cx.counted[i]).collect();
    let post = posteriors(contract.payment.error_prior, cx.students, &idx)?;
    let cap = contract.payment.student_cap;
    let mut out = pays.to_vec();
    // each counted student on the pool; the variance summed in student order afterwards
    use rayon::prelude::*;
    let mut counted: Vec<&mut StudentPay> = out.iter_mut().filter(|p| cx.counted[p.index]).collect();
    let terms: Vec<Result<f64, NoExpected>> =
        counted.par_iter_mut().zip(&post).map(|(p, &post)| expected_student(card, cap, cx.students, p, post)).collect();
    drop(counted);
    // the first student's error in order, as a loop would meet it
    let terms: Vec<f64> = terms.into_iter().collect::<Result<_, _>>()?;
    let var = terms.iter().fold(0.0, |v, t| v + t);
    Ok((out, var))
}

/// One counted student's expected lines and student-cap cut under its posterior (written
/// into `p`); returns its term of the payment's variance.
fn expected_student(
    card: &[CardLine],
    cap: Option<f64>,
    students: &[Student],
    p: &mut StudentPay,
    post: Posterior,
) -> Result<f64, NoExpected> {
    let s = &students[p.index];
    let fns: Vec<LineFn> = card
        .iter()
        .enumerate()
        .map(|(k, l)| match p.unpaid[k] {
            // gated by the tier: pays nothing whatever the growth
            Some(_) => Ok(LineFn::Constant(0.0)),
            None => line_fn(l, k, s, p.lines[k]),
        })
        .collect::<Result<_, _>>()?;
    let mut breaks: Vec<f64> = fns.iter().flat_map(LineFn::breaks).collect();
    let at = |g: f64| student_total(card, fns.iter().map(|f| f.at(g)), cap);
    let capped = |g: f64| at(g).total;
    for (k, f) in fns.iter().enumerate() {
        p.lines[k] = expect(post, &f.breaks(), |g| [f.at(g)])[0];
    }
    // the student cap bends the total where the earned lines cross it
    if let Some(c) = cap {
        breaks.extend(crossings(post, &breaks, |g| at(g).earned - c));
    }
    // the second moment about the amount at the posterior mean, so that an amount that
    // does not depend on the test has variance exactly 0
    let centre = capped(post.mean);
    let [total, moment] = expect(post, &breaks, |g| {
        let t = capped(g);
        [t, (t - centre) * (t - centre)]
    });
    // the lines' expectations summed without the cap, less the expected capped total
    let uncapped = student_total(card, p.lines.iter().copied(), None).total;
    p.student_cap_cut = (uncapped - total).max(0.0);
    Ok((moment - (total - centre).powi(2)).max(0.0))
}

/// The expected payment from the students' expected pays: base + lines − student cap −
/// penalties, the floor and the cap; the interval from the SD of the payment.
pub(super) fn expected_payment(
    contract: &Contract,
    card: &[CardLine],
    base: f64,
    pays: &[StudentPay],
    var: f64,
) -> ExpectedPayment {
    let p = &contract.payment;
    let lines: Vec<f64> = (0..card.len()).map(|k| pays.iter().map(|s| s.lines[k]).sum()).collect();
    let cut: f64 = pays.iter().map(|s| s.student_cap_cut).sum();
    let (mut outcome, mut penalty) = (-cut, 0.0);
    for (l, v) in card.iter().zip(&lines) {
        if l.is_penalty() {
            penalty += v;
        } else {
            outcome += v;
        }
    }
    let level = contract.decision.level;
    let bound = |x: f64| {
        let x = x.max(p.floor.unwrap_or(0.0));
        p.cap.map_or(x, |c| x.min(c))
    };
    let (mu, sd) = (base + outcome - penalty, var.sqrt());
    let z = qnorm(0.5 + level / 2.0);
    ExpectedPayment {
        prior: p.error_prior,
        lines: if card.iter().all(|l| l.legacy) { Vec::new() } else { lines },
        outcome,
        penalty,
        payable: bound(mu),
        low: bound(mu - z * sd),
        high: bound(mu + z * sd),
        level,
        sd,
    }
}

impl ExpectedPayment {
    /// The expected payment in words, for the arithmetic.
    pub fn sentence(&self, base: f64) -> String {
        format!(
            "expected payment under test error ({} prior): base {} + outcome {} - penalty {} = {} before floor and cap; \
             payable {} ({:.0}% interval {} to {})",
            match self.prior {
                ErrorPrior::Flat => "flat",
                ErrorPrior::Provider => "provider",
            },
            money(base),
            money(self.outcome),
            money(self.penalty),
            money(base + self.outcome - self.penalty),
            money(self.payable),
            100.0 * self.level,
            money(self.low),
            money(self.high)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::rates::card;
    use crate::contract::settle::{NormScore, StudentPay, payment::Payees};
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// A contract with these `[payment]` and `[[rate]]` terms (norms from a history file
    /// that is never read here).
    fn contract(terms: &str) -> Contract {
        let text = format!(
            "[contract]\nname = \"t\"\nsubject = \"math\"\n[files]\nroster = \"r.csv\"\nsessions = \"s.csv\"\n\
             assessments = \"a.csv\"\nhistory = \"h.csv\"\n[tests]\npre = {{ window = \"fall\" }}\n\
             post = {{ window = \"spring\" }}\n[[thresholds]]\nvalue = 0.5\n{terms}"
        );
        Contract::from_toml(&text, "t.toml").unwrap()
    }

    /// A counted student with growth `g`, standard error `se`, and norms expecting `e` with SD `sd`.
    fn student(g: f64, se: f64, e: f64, sd: f64) -> Student {
        let cgi = (g - e) / sd;
        Student {
            provider: Some("P".into()),
            served: true,
            growth_se: Some(se),
            score: Ok(NormScore {
                expected_growth: Some(e),
                growth_sd: Some(sd),
                cgi: Some(cgi),
                cgp: Some(100.0 * pnorm(cgi)),
                sgp: None,
            }),
            ..Student::example(5, Some(200.0), Some(200.0 + g))
        }
    }

    /// Observed pays (each line's amount on the observed scores) of counted students.
    fn observed(c: &Contract, students: &[Student]) -> Vec<StudentPay> {
        let card = card(c);
        students
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let lines: Vec<f64> = card
                    .iter()
                    .map(|l| crate::contract::rates::student_amount(l, s, true).map_or(0.0, |e| e.amount))
                    .collect();
                StudentPay {
                    index: i,
                    base: 0.0,
                    unpaid: vec![None; lines.len()],
                    hits: vec![false; lines.len()],
                    line_cut: vec![0.0; lines.len()],
                    student_cap_cut: 0.0,
                    lines,
                }
            })
            .collect()
    }

    fn expected(c: &Contract, students: &[Student]) -> (Vec<StudentPay>, f64) {
        let rows: Vec<usize> = (0..students.len()).collect();
        let counted = vec![true; students.len()];
        let cx = Payees { students, rows: &rows, counted: &counted };
        expected_pays(c, &card(c), &cx, &observed(c, students)).unwrap()
    }

    #[test]
    fn a_threshold_pays_price_times_the_chance_of_meeting_it() {
        let flat = "[payment]\nerror_prior = \"flat\"\n";
        // growth 10 with SE 5 against 12 points: 100 x Φ(-0.4)
        let c = contract(&format!(
            "{flat}[[rate]]\nkind = \"per_student\"\noutcome = {{ kind = \"scale_growth\", at_least = 12 }}\nprice = 100\n"
        ));
        let (pays, var) = expected(&c, &[student(10.0, 5.0, 8.0, 7.0)]);
        let p = pnorm(-0.4);
        assert!((pays[0].lines[0] - 100.0 * p).abs() < 1e-9, "{}", pays[0].lines[0]);
        assert!((var - 100.0 * 100.0 * p * (1.0 - p)).abs() < 1e-6, "{var}");
        // CGP >= 60: the growth e + sd qnorm(0.6)
        let c = contract(&format!(
            "{flat}[[rate]]\nkind = \"per_student\"\noutcome = {{ kind = \"cgp\", at_least = 60 }}\nprice = 100\n"
        ));
        let (pays, _) = expected(&c, &[student(10.0, 5.0, 8.0, 7.0)]);
        let want = 100.0 * pnorm((10.0 - (8.0 + 7.0 * qnorm(0.6))) / 5.0);
        assert!((pays[0].lines[0] - want).abs() < 1e-9, "{} vs {want}", pays[0].lines[0]);
    }

    #[test]
    fn a_ramp_and_a_student_cap_are_integrated_exactly() {
        // ramp 0 at growth 0 to 100 at 10; G ~ N(5, 4²): E = 10 E[clip(G, 0, 10)]
        let c = contract(
            "[payment]\nerror_prior = \"flat\"\nstudent_cap = 60\n[[rate]]\nkind = \"graduated\"\nmeasure = \"growth\"\n\
             ramp = { from = 0, to = 10, amount = 100 }\n",
        );
        let (m, s) = (5.0, 4.0);
        let (a, b) = ((0.0 - m) / s, (10.0 - m) / s);
        // E[clip(G, 0, 10)] = 0 P(G<0) + 10 P(G>10) + E[G; 0<=G<10]
        let inside = m * (pnorm(b) - pnorm(a)) + s * (dnorm(a) - dnorm(b));
        let want = 10.0 * (10.0 * (1.0 - pnorm(b)) + inside);
        let (pays, _) = expected(&c, &[student(5.0, 4.0, 8.0, 7.0)]);
        assert!((pays[0].lines[0] - want).abs() < 1e-9, "{} vs {want}", pays[0].lines[0]);
        // the cap at 60 (growth 6): E[min(60, ramp)] = E[ramp] - 10 E[(clip(G,0,10) - 6)+]
        let (c6, c10) = ((6.0 - m) / s, b);
        let over = (m - 6.0) * (pnorm(c10) - pnorm(c6)) + s * (dnorm(c6) - dnorm(c10)) + 4.0 * (1.0 - pnorm(c10));
        assert!((pays[0].student_cap_cut - 10.0 * over).abs() < 1e-9, "{} vs {}", pays[0].student_cap_cut, 10.0 * over);
    }

    /// One simulated provider: `n` students with norms (e, sd), true growth e + d sd + u
    /// (u ~ N(0, sd² - se²)), observed growth true + N(0, se²). Returns the CGP >= 60 payment
    /// on true growth, on observed growth, and expected under the flat and provider priors.
    fn simulated_provider(rng: &mut rand_chacha::ChaCha8Rng, n: usize, d: f64) -> [f64; 4] {
        let (sd, se): (f64, f64) = (7.5, 4.2);
        let tau = (sd * sd - se * se).sqrt();
        let (u, err) = (Normal::new(0.0, tau).unwrap(), Normal::new(0.0, se).unwrap());
        let mut truth = Vec::new();
        let mut seen = Vec::new();
        for i in 0..n {
            let e = 6.0 + (i % 5) as f64;
            let g_true = e + d * sd + u.sample(rng);
            truth.push(student(g_true, se, e, sd));
            seen.push(student(g_true + err.sample(rng), se, e, sd));
        }
        let rate = "[[rate]]\nkind = \"per_student\"\noutcome = { kind = \"cgp\", at_least = 60 }\nprice = 100\n";
        let pay = |c: &Contract, s: &[Student]| observed(c, s).iter().map(|p| p.lines[0]).sum::<f64>();
        let exp = |prior: &str| {
            let c = contract(&format!("[payment]\nerror_prior = \"{prior}\"\n{rate}"));
            expected(&c, &seen).0.iter().map(|p| p.lines[0]).sum::<f64>()
        };
        let c = contract(rate);
        [pay(&c, &truth), pay(&c, &seen), exp("flat"), exp("provider")]
    }

    /// On simulated providers with known true growth (docs/methods.md 9.15): the payment under
    /// the provider prior is closer to the true-growth payment than the observed payment,
    /// and the flat prior is further from it (it adds the test error twice). Biases are means
    /// over 120 providers of 400 students, each with its Monte Carlo SE.
    #[test]
    fn expected_payment_is_closer_to_the_true_growth_payment() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        for d in [0.0, 0.6] {
            let runs: Vec<[f64; 4]> = (0..120).map(|_| simulated_provider(&mut rng, 400, d)).collect();
            let bias = |k: usize| {
                let diffs: Vec<f64> = runs.iter().map(|r| r[k] - r[0]).collect();
                let m = diffs.iter().sum::<f64>() / diffs.len() as f64;
                let v = diffs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (diffs.len() - 1) as f64;
                (m, (v / diffs.len() as f64).sqrt())
            };
            let ((obs, obs_se), (flat, flat_se), (prov, prov_se)) = (bias(1), bias(2), bias(3));
            eprintln!(
                "d = {d}: bias of the payment (per provider of 400 students at 100 each) observed {obs:.1} ± {obs_se:.1}, \
                 expected (flat) {flat:.1} ± {flat_se:.1}, expected (provider) {prov:.1} ± {prov_se:.1}"
            );
            // the observed rule is biased (beyond 3 Monte Carlo SEs), the provider prior is not
            // (within 3), and is closer to the truth
            assert!(obs.abs() > 3.0 * obs_se, "d = {d}: observed {obs} ± {obs_se}");
            assert!(
                prov.abs() < 3.0 * prov_se && prov.abs() < obs.abs(),
                "d = {d}: provider {prov} ± {prov_se} vs {obs}"
            );
            // the flat prior moves further from the truth than the observed payment: it adds
            // the test error a second time (the paired difference, beyond 3 SEs)
            let (extra, extra_se) = {
                let v: Vec<f64> = runs.iter().map(|r| (r[2] - r[0]).abs() - (r[1] - r[0]).abs()).collect();
                let m = v.iter().sum::<f64>() / v.len() as f64;
                let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
                (m, sd / (v.len() as f64).sqrt())
            };
            assert!(extra > 3.0 * extra_se, "d = {d}: flat is further by {extra} ± {extra_se}");
        }
    }
}
