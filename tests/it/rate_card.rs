//! Rate cards (`[[rate]]`, docs/contracts.md section 16): each kind of line paid as
//! computed by hand on the small district of `check.rs`, the audit's per-line amounts adding
//! up to providers.csv's, the flat `[payment]` terms paying what they always paid, and bad
//! cards refused with the key and its line.

use std::collections::BTreeMap;
use std::path::Path;

use crate::check::{TERMS, num, settle, write_district};
use crate::common::{obc, obc_ok, read_csv, s, samples, stderr};

/// Every kind of line, a student cap, a floor and a cap.
const CARD: &str = r#"[decision]
rule = "point"
[[thresholds]]
value = 0.5
pool_share = 1.0
[payment]
base_per_student = 100
student_cap = 450
floor = 500
cap = 5000
[[rate]]
name = "met 5 points"
kind = "per_student"
outcome = { kind = "scale_growth", at_least = 5 }
price = 200
[[rate]]
name = "growth steps"
kind = "graduated"
measure = "growth"
steps = [{ at_least = 3, amount = 100 }, { at_least = 7, amount = 250 }]
[[rate]]
name = "growth ramp"
kind = "graduated"
measure = "growth"
ramp = { from = 0, to = 10, amount = 100 }
[[rate]]
name = "sessions"
kind = "engagement"
per = "session"
price = 20
cap_per_student = 50
[[rate]]
name = "bonus"
kind = "tier_bonus"
pool = 300
[[rate]]
name = "regression"
kind = "penalty"
measure = "growth"
below = 0
price = 75
"#;

#[test]
fn every_kind_of_rate_line_is_paid_as_computed_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let p = settle(dir.path(), CARD);
    // PA counts A1-A4 (growth 10, 6, 3, -2; 3 sessions each); A6 is served but has no
    // post-test, A5 attended one session. Per student (met, steps, ramp, sessions):
    //   A1: 200 + 250 + 100 + 50 (60 capped at 50) = 600 -> student cap 450 cuts 150
    //   A2: 200 + 100 + 60 + 50 = 410;  A3: 0 + 100 + 30 + 50 = 180;  A4: 0 + 0 + 0 + 50 = 50
    // share 2/4 = 0.5 reaches the tier: bonus 300. A4 regressed: penalty 75.
    // outcome 400 + 450 + 190 + 200 + 300 - 150 = 1390; base 100 x 5 served = 500.
    let a = &p["PA"];
    let lines = |m: &BTreeMap<String, String>| -> Vec<(f64, f64)> {
        (1..=6).map(|k| (num(m, &format!("rate_{k}_students")), num(m, &format!("rate_{k}_amount")))).collect()
    };
    assert_eq!(lines(a), [(2.0, 400.0), (3.0, 450.0), (3.0, 190.0), (4.0, 200.0), (4.0, 300.0), (1.0, 75.0)]);
    assert_eq!(a["rate_2_name"], "growth steps");
    assert_eq!(num(a, "student_cap_cut"), 150.0);
    assert_eq!((num(a, "base"), num(a, "outcome_payment"), num(a, "penalty")), (500.0, 1390.0, 75.0));
    assert_eq!(num(a, "payable"), 1815.0);
    let arith = &a["arithmetic"];
    for part in [
        "met 5 points: 200.00 x 2 counted students meeting",
        "growth steps: 100.00 x 2 + 250.00 x 1 (growth steps) = 450.00",
        "sessions: 20.00 x 12 attended sessions of counted students = 240.00, less 40.00 over the cap of 50.00 per student = 200.00",
        "bonus: outcome pool = 300.00 + 0.00 x 4 counted = 300.00; outcome = 300.00 x 1 (tier 1 reached) = 300.00",
        "regression: 75.00 x 1 counted students with growth below 0 = 75.00",
        "student cap 450.00: 1 students' outcome lines above it, cut by 150.00",
        "outcome = 400.00 + 450.00 + 190.00 + 200.00 + 300.00 - 150.00 (student cap) = 1,390.00",
        "base + outcome - penalty = 1,815.00 (floor 500.00 not binding)",
    ] {
        assert!(arith.contains(part), "missing {part:?} in {arith}");
    }
    // PB counts B1-B4 (growth 10, 7, 7, 1): B1 600 -> cut 150, B2 and B3 200 + 250 + 70 + 50 =
    // 570 -> cut 120 each, B4 0 + 0 + 10 + 50 = 60; share 0.75: bonus 300; no penalty.
    // outcome 600 + 750 + 250 + 200 + 300 - 390 = 1710; base 400.
    let b = &p["PB"];
    assert_eq!(lines(b), [(3.0, 600.0), (3.0, 750.0), (4.0, 250.0), (4.0, 200.0), (4.0, 300.0), (0.0, 0.0)]);
    assert_eq!((num(b, "student_cap_cut"), num(b, "payable")), (390.0, 2110.0));
}

#[test]
fn audit_amounts_per_line_add_up_to_providers_csv() {
    let dir = tempfile::tempdir().unwrap();
    let p = settle(dir.path(), CARD);
    let (h, rows) = read_csv(&dir.path().join("out").join("audit.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap_or_else(|| panic!("no {k} in {h:?}"));
    for (prov, m) in &p {
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| &r[at("provider_id")] == prov).collect();
        let sum = |col: &str| mine.iter().map(|r| r[at(col)].parse::<f64>().unwrap()).sum::<f64>();
        for k in 1..=6 {
            let (audit, table) = (sum(&format!("rate_{k}")), num(m, &format!("rate_{k}_amount")));
            assert!((audit - table).abs() < 0.005, "{prov} rate {k}: audit {audit} vs providers.csv {table}");
        }
        assert!((sum("student_cap_cut") - num(m, "student_cap_cut")).abs() < 0.005);
        assert!((sum("contribution") - num(m, "before_cap")).abs() < 0.005, "{prov}");
        // nothing is paid on a student who is not counted, and the audit says why
        for r in mine.iter().filter(|r| r[at("counted")] == "false") {
            assert!((1..=6).all(|k| r[at(&format!("rate_{k}"))] == "0.0"), "{r:?}");
            assert_eq!(r[at("rate_notes")], "not counted", "{r:?}");
            assert!(!r[at("reason_not_counted")].is_empty());
        }
    }
}

#[test]
fn tier_gate_hours_and_floor() {
    let dir = tempfile::tempdir().unwrap();
    // tier at 0.6: PA (share 0.5) misses it, PB (0.75) reaches it
    let card = r#"[decision]
rule = "point"
[[thresholds]]
value = 0.6
[payment]
floor = 700
[[rate]]
kind = "per_student"
outcome = { kind = "scale_growth", at_least = 5 }
price = 300
requires_tier = true
[[rate]]
kind = "engagement"
per = "hour"
price = 30
"#;
    let p = settle(dir.path(), card);
    // PA: the gated line pays nothing (2 would have earned); 4 counted students attended
    // 1.5 hours each: 30 x 6 = 180; 180 is below the floor of 700.
    let a = &p["PA"];
    assert_eq!((num(a, "rate_1_amount"), num(a, "rate_2_amount")), (0.0, 180.0));
    assert!(
        a["arithmetic"].contains("rate 1: 0.00 (2 counted students would have earned on it"),
        "{}",
        a["arithmetic"]
    );
    assert!(a["arithmetic"].contains("30.00 x 6 attended hours of counted students = 180.00"), "{}", a["arithmetic"]);
    assert!(a["arithmetic"].contains("is below the floor 700.00: floored at 700.00"), "{}", a["arithmetic"]);
    assert_eq!(num(a, "payable"), 700.0);
    // PB: 300 x 3 + 180 = 1080
    assert_eq!(num(&p["PB"], "payable"), 1080.0);
    let (h, rows) = read_csv(&dir.path().join("out").join("audit.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let a1 = rows.iter().find(|r| r[0] == "A1").unwrap();
    assert_eq!(a1[at("rate_notes")], "rate 1: the first tier was not reached");
}

/// The data-samples contract with its flat `[payment]` terms written as rate lines.
fn samples_as_rate_card(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
    let flat = "outcome_pool_per_student = 750.0\npenalty_per_regressed = 0.0\n";
    assert!(text.contains(flat), "data-samples' [payment] changed: update this test");
    let text = text.replace(flat, "").replace(
        "[inference]",
        "[[rate]]\nkind = \"tier_bonus\"\npool_per_student = 750.0\n[[rate]]\nkind = \"penalty\"\nbelow = 0\nprice = 0\n\n[inference]",
    );
    let c = dir.join("contract.toml");
    std::fs::write(&c, text).unwrap();
    c
}

#[test]
fn flat_payment_terms_pay_what_they_always_paid_and_equal_their_rate_card() {
    let dir = tempfile::tempdir().unwrap();
    let flat = dir.path().join("flat");
    let o = obc_ok(&["check", s(&samples().join("contract.toml")), "--out", s(&flat)]);
    // the total of the version before rate cards (tests/snapshots/report/settlement_console.txt)
    assert!(stderr(&o).contains("total payable 1673225.00"), "{}", stderr(&o));
    let (h, _) = read_csv(&flat.join("providers.csv"));
    assert!(!h.iter().any(|c| c.starts_with("rate_") || c == "student_cap_cut"), "{h:?}");
    let (ah, _) = read_csv(&flat.join("audit.csv"));
    assert_eq!(ah.last().unwrap(), "provider_source");
    // the same terms as lines pay the same to the cent
    let copy = tempfile::tempdir_in(dir.path()).unwrap();
    for f in ["roster.csv", "sessions.csv", "assessments.csv", "history.csv"] {
        std::fs::copy(samples().join(f), copy.path().join(f)).unwrap();
    }
    let c = samples_as_rate_card(copy.path());
    let card = dir.path().join("card");
    obc_ok(&["check", s(&c), "--out", s(&card)]);
    let payable = |d: &Path| -> Vec<(String, String)> {
        let (h, rows) = read_csv(&d.join("providers.csv"));
        let i = h.iter().position(|x| x == "payable").unwrap();
        rows.into_iter().map(|r| (r[0].clone(), r[i].clone())).collect()
    };
    assert_eq!(payable(&flat), payable(&card));
}

/// A bad card: exit 2, the message names the key and its line.
fn refused(extra: &str, key: &str, line: usize) {
    let dir = tempfile::tempdir().unwrap();
    write_district(dir.path());
    let c = dir.path().join("contract.toml");
    let text = format!("{TERMS}[[thresholds]]\nvalue = 0.5\npool_share = 1.0\n{extra}");
    std::fs::write(&c, &text).unwrap();
    let o = obc(&["check", s(&c), "--out", s(&dir.path().join("out"))]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{extra}: {err}");
    assert!(err.contains(key), "{extra}: expected {key} in {err}");
    assert!(err.contains(&format!("(line {line})")), "{extra}: expected line {line} in {err}");
    let shown = text.lines().nth(line - 1).unwrap();
    assert!(shown.contains(key.rsplit('.').next().unwrap().split('[').next().unwrap()), "line {line}: {shown}");
}

#[test]
fn bad_rate_cards_are_refused_with_the_key_and_line() {
    let base = TERMS.lines().count() + 3;
    let rate = "[payment]\nbase_per_student = 100\n[[rate]]\nkind = \"graduated\"\nmeasure = \"growth\"\n";
    // overlapping and non-monotone steps
    refused(
        &format!("{rate}steps = [{{ at_least = 5, amount = 100 }}, {{ at_least = 5, amount = 200 }}]\n"),
        "rate[0].steps[1].at_least",
        base + 6,
    );
    refused(
        &format!("{rate}steps = [{{ at_least = 3, amount = 300 }}, {{ at_least = 5, amount = 200 }}]\n"),
        "rate[0].steps[1].amount",
        base + 6,
    );
    refused(&format!("{rate}ramp = {{ from = 10, to = 5, amount = 100 }}\n"), "rate[0].ramp", base + 6);
    // a measure the data does not have: CGP without norms
    refused(
        "[[rate]]\nkind = \"per_student\"\noutcome = { kind = \"cgp\", at_least = 60 }\nprice = 100\n",
        "rate[0].outcome",
        base + 3,
    );
    refused(
        "[[rate]]\nkind = \"graduated\"\nmeasure = \"cgp\"\nramp = { from = 40, to = 80, amount = 100 }\n",
        "rate[0].measure",
        base + 3,
    );
    // negative prices
    refused(
        "[[rate]]\nkind = \"per_student\"\noutcome = { kind = \"scale_growth\", at_least = 5 }\nprice = -100\n",
        "rate[0].price",
        base + 4,
    );
    // a contingent share that does not match: 750 / (670 + 750) = 0.528
    refused(
        "[payment]\nbase_per_student = 670\ncontingent_share = 0.4\n[[rate]]\nkind = \"graduated\"\nmeasure = \"growth\"\nramp = { from = 0, to = 10, amount = 750 }\n",
        "payment.contingent_share",
        base + 3,
    );
    // caps below floors
    refused("[payment]\nfloor = 1000\ncap = 500\n", "payment.cap", base + 3);
    // a key the kind does not take
    refused(
        "[[rate]]\nkind = \"per_student\"\noutcome = { kind = \"scale_growth\", at_least = 5 }\nprice = 1\nbelow = 2\n",
        "rate[0].below",
        base + 5,
    );
}

#[test]
fn a_matching_contingent_share_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    // 750 / (670 + 750) = 0.5282: stated as 0.53
    let p = settle(
        dir.path(),
        "[decision]\nrule = \"point\"\n[[thresholds]]\nvalue = 0.5\n[payment]\nbase_per_student = 670\ncontingent_share = 0.53\n[[rate]]\nkind = \"graduated\"\nmeasure = \"growth\"\nramp = { from = 0, to = 10, amount = 750 }\n",
    );
    // PA: base 670 x 5; ramp 750 x (10 + 6 + 3 + 0) / 10 = 1425
    assert_eq!(num(&p["PA"], "payable"), 670.0 * 5.0 + 1425.0);
}

const EXPECTED: &str = r#"[decision]
rule = "point"
[[thresholds]]
value = 0.5
[payment]
base_per_student = 100
error_prior = "flat"
[[rate]]
name = "met 5 points"
kind = "per_student"
outcome = { kind = "scale_growth", at_least = 5 }
price = 200
"#;

#[test]
fn expected_payment_under_test_error_is_reported_and_can_be_settled_on() {
    use obc::stats::normal::pnorm;
    // every test has SEM 3, so growth has SE sqrt(18); PA's counted growths 10, 6, 3, -2
    let se = 18f64.sqrt();
    let want: f64 = 500.0 + [10.0, 6.0, 3.0, -2.0].iter().map(|g: &f64| 200.0 * pnorm((g - 5.0) / se)).sum::<f64>();
    let dir = tempfile::tempdir().unwrap();
    let p = settle(dir.path(), EXPECTED);
    let a = &p["PA"];
    assert_eq!(num(a, "payable"), 900.0, "settled on observed: 500 + 200 x 2");
    assert!((num(a, "expected_payable") - want).abs() < 1e-6, "{} vs {want}", a["expected_payable"]);
    // the interval spans the expected payment, within the SD of a sum of four Bernoullis
    let (lo, hi) = (num(a, "expected_low"), num(a, "expected_high"));
    assert!(lo < want && want < hi && hi - lo < 2.0 * 1.96 * 200.0 * 2.0, "{lo} {hi}");
    assert_eq!(a["expected_note"], "");
    // settled on the expected amounts: paid to the cent, and the audit adds up per line
    let settled = settle(dir.path(), &EXPECTED.replace("[payment]\n", "[payment]\nsettle_on = \"expected\"\n"));
    let a = &settled["PA"];
    assert_eq!(num(a, "payable"), (want * 100.0).round() / 100.0);
    assert_eq!(a["expected_note"], "settled on the expected payment");
    assert!(a["arithmetic"].contains("settled on each counted student's expected amount under test error (flat prior"));
    let (h, rows) = read_csv(&dir.path().join("out").join("audit.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let sum: f64 =
        rows.iter().filter(|r| r[at("provider_id")] == "PA").map(|r| r[at("rate_1")].parse::<f64>().unwrap()).sum();
    assert!((sum - num(a, "rate_1_amount")).abs() < 1e-6 && (sum - (want - 500.0)).abs() < 1e-6, "{sum}");
}

#[test]
fn settling_on_expected_without_sems_or_on_sgps_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_district(dir.path());
    let tests = std::fs::read_to_string(dir.path().join("assessments.csv")).unwrap().replace(",3.0,true", ",,true");
    std::fs::write(dir.path().join("assessments.csv"), tests).unwrap();
    let c = dir.path().join("contract.toml");
    let terms = format!("{TERMS}{}", EXPECTED.replace("[payment]\n", "[payment]\nsettle_on = \"expected\"\n"));
    std::fs::write(&c, &terms).unwrap();
    let o = obc(&["check", s(&c), "--out", s(&dir.path().join("out"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("payment.settle_on") && stderr(&o).contains("lack a standard error"), "{}", stderr(&o));
    // observed settlement still works, and says why there is no expected payment
    std::fs::write(&c, terms.replace("settle_on = \"expected\"\n", "")).unwrap();
    obc_ok(&["check", s(&c), "--out", s(&dir.path().join("out2"))]);
    let (h, rows) = read_csv(&dir.path().join("out2").join("providers.csv"));
    let note = &rows[0][h.iter().position(|x| x == "expected_note").unwrap()];
    assert!(note.contains("lack a standard error"), "{note}");
    // SGPs cannot be re-scored at another growth
    let sgp = "[norms]\nmethod = \"sgp\"\n[[rate]]\nkind = \"per_student\"\noutcome = { kind = \"sgp\", at_least = 50 }\nprice = 1\n";
    let text = format!("{TERMS}[[thresholds]]\nvalue = 0.5\n[payment]\nsettle_on = \"expected\"\n{sgp}")
        .replace("[files]\n", "[files]\nhistory = \"assessments.csv\"\n");
    std::fs::write(&c, text).unwrap();
    let o = obc(&["check", s(&c), "--out", s(&dir.path().join("out3"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("payment.settle_on") && stderr(&o).contains("SGP"), "{}", stderr(&o));
}
