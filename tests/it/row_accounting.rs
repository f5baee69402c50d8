//! Property: whatever is wrong with the inputs, every row read is used or excepted, once.

use std::collections::BTreeSet;

use obc::contract::terms::Eligibility;
use obc::data::date::{Date, parse_date};
use obc::data::load::{RawTable, parse_csv};
use obc::data::schema::{RetestRule, Tests, WindowSpec};
use obc::data::{
    InputFile, InputFiles, PrepareOptions, RawInputs, Stage, ValidateOptions, prepare, prepare_files, validate,
};
use obc::stats::wwc::Boundary;
use proptest::prelude::*;

fn clean_files(n: usize) -> [Vec<String>; 3] {
    let mut roster = vec!["student_id,school_id,grade,provider_id,tutor_id,enroll_date,low_income".to_string()];
    let mut sessions = vec!["student_id,provider_id,session_date,minutes,status,group_size".to_string()];
    let mut tests = vec!["student_id,subject,test_date,window,school_year,scale_score,sem,valid".to_string()];
    for i in 0..n {
        let id = format!("{:06}", i * 7 + 3);
        let provider = if i % 3 == 0 {
            ""
        } else if i % 3 == 1 {
            "P1"
        } else {
            "P2"
        };
        roster.push(format!(
            "{id},S{},{},{provider},{},2025-09-{:02},{}",
            i % 4,
            3 + i % 6,
            if provider.is_empty() { "" } else { "T1" },
            15 + i % 10,
            i % 2
        ));
        if !provider.is_empty() {
            for k in 0..(i % 5) * 6 {
                let status = ["attended", "absent", "cancelled", "attended"][k % 4];
                sessions.push(format!(
                    "{id},{provider},2025-10-{:02},{},{status},{}",
                    1 + k % 28,
                    30 + k % 3 * 5,
                    1 + k % 4
                ));
            }
        }
        tests.push(format!("{id},math,2025-09-{:02},fall,2025-26,{},3.{},true", 5 + i % 20, 190 + i % 40, i % 9));
        if i % 7 != 0 {
            tests.push(format!("{id},math,2026-05-{:02},spring,2025-26,{},3.{},true", 5 + i % 20, 200 + i % 37, i % 8));
        }
        if i % 5 == 0 {
            tests.push(format!("{id},reading,2025-09-10,fall,2025-26,{},3.0,true", 180 + i % 30));
        }
    }
    [roster, sessions, tests]
}

#[derive(Clone, Debug)]
enum Fault {
    Junk { col: usize, text: &'static str },
    Duplicate,
    StripZeros,
    DropLastField,
    BlankLineBefore,
    QuoteField { col: usize },
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (0usize..9, prop::sample::select(vec!["N/A", "", "45 min", "-5", "2025-02-30", "x", "9999", "1e400"]))
            .prop_map(|(col, text)| Fault::Junk { col, text }),
        Just(Fault::Duplicate),
        Just(Fault::StripZeros),
        Just(Fault::DropLastField),
        Just(Fault::BlankLineBefore),
        (0usize..9).prop_map(|col| Fault::QuoteField { col }),
    ]
}

fn apply(lines: &mut Vec<String>, at: usize, f: &Fault) {
    let i = 1 + at % (lines.len() - 1);
    let mut fields: Vec<String> = lines[i].split(',').map(String::from).collect();
    match f {
        Fault::Junk { col, text } => {
            let c = col % fields.len();
            fields[c] = text.to_string();
            lines[i] = fields.join(",");
        }
        Fault::Duplicate => lines.insert(i, lines[i].clone()),
        Fault::StripZeros => {
            fields[0] = fields[0].trim_start_matches('0').to_string();
            lines[i] = fields.join(",");
        }
        Fault::DropLastField => {
            fields.pop();
            lines[i] = fields.join(",");
        }
        Fault::BlankLineBefore => lines.insert(i, String::new()),
        Fault::QuoteField { col } => {
            let c = col % fields.len();
            fields[c] = format!("\"{}\"", fields[c]);
            lines[i] = fields.join(",");
        }
    }
}

fn table(name: &str, lines: &[String], crlf: bool) -> RawTable {
    let text = lines.join(if crlf { "\r\n" } else { "\n" }) + "\n";
    let (headers, rows, blank_lines) = parse_csv(text.as_bytes(), name).unwrap();
    RawTable { file: name.into(), path: name.into(), sha256: String::new(), headers, rows, blank_lines }
}

fn options() -> PrepareOptions {
    let d = |s: &str| Some(Date(parse_date(s).unwrap()));
    PrepareOptions {
        subjects: vec!["math".into()],
        providers: None,
        grades: Some(vec![3, 4, 5, 6, 7]),
        tests: Tests {
            pre: WindowSpec { window: Some("fall".into()), school_year: Some("2025-26".into()), ..Default::default() },
            post: WindowSpec {
                window: Some("spring".into()),
                from: d("2026-04-01"),
                to: d("2026-06-15"),
                ..Default::default()
            },
            retest: RetestRule::MinSemThenLatest,
            require_valid: true,
            breaks: vec![],
        },
        eligibility: Eligibility { enrolled_by: d("2025-09-20"), min_sessions: 6, min_minutes: 0.0 },
        boundary: Boundary::Cautious,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn rows_read_equal_rows_used_plus_rows_excepted(
        n in 5usize..40,
        faults in prop::collection::vec((0usize..3, 0usize..10_000, fault()), 0..25),
        crlf in any::<bool>(),
    ) {
        let mut files = clean_files(n);
        for (file, at, f) in &faults {
            apply(&mut files[*file], *at, f);
        }
        let inputs = RawInputs {
            roster: table("roster.csv", &files[0], crlf),
            sessions: table("sessions.csv", &files[1], crlf),
            assessments: table("assessments.csv", &files[2], crlf),
            assignments: None,
        };
        // Rows read = the data lines written that are not blank (counted from the text, not
        // from the parser's output).
        // (A line whose fields are all empty, `` or `""`, carries no data and is blank.)
        let blank = |l: &str| l.split(',').all(|f| matches!(f.trim(), "" | "\"\""));
        let rows_in_files: Vec<usize> = files.iter().map(|f| f[1..].iter().filter(|l| !blank(l)).count()).collect();

        // A fault may put `N/A` in a roster's provider_id: without naming it as a comparison
        // code, that makes the whole roster an error (README "Limits and fail-safe rules").
        let opts = ValidateOptions { comparison_values: vec![String::new(), "N/A".into()], ..Default::default() };
        let v = validate(&inputs, &opts).unwrap();
        for (l, t) in v.ledgers().iter().zip([&inputs.roster, &inputs.sessions, &inputs.assessments]) {
            for r in t.rows.iter().filter(|r| r.fields.len() != t.headers.len()) {
                prop_assert!(
                    l.exceptions().iter().any(|e| e.row == r.row && e.reason.contains("fields, the header has")),
                    "{} row {} has {} fields but is not excepted", l.file, r.row, r.fields.len()
                );
            }
        }
        for (l, expected) in v.ledgers().iter().zip(&rows_in_files) {
            let a = l.accounting(Stage::Validated).unwrap();
            prop_assert_eq!(a.rows_read as usize, *expected);
            prop_assert_eq!(a.rows_read, a.rows_used + a.rows_excepted);
            // Every excepted row has an exception with a reason, at a row the file has.
            let rows: BTreeSet<u64> = l.exceptions().iter().map(|e| e.row).collect();
            prop_assert_eq!(rows.len() as u64, a.rows_excepted);
            prop_assert!(l.exceptions().iter().all(|e| !e.reason.is_empty() && e.row >= 2));
        }
        let analytic = prepare(v, &options()).unwrap();
        let acc = analytic.accounting().unwrap();
        for (a, expected) in acc.iter().zip(&rows_in_files) {
            prop_assert_eq!(a.rows_read as usize, *expected);
            prop_assert_eq!(a.rows_read, a.rows_used + a.rows_excepted);
        }
        // Used test rows are exactly the pre/post rows of the analytic file.
        let picked = analytic.rows.iter().flat_map(|r| [r.pre.as_ref(), r.post.as_ref()]).flatten().count() as u64;
        prop_assert_eq!(acc[2].rows_used, picked);
        // Used roster rows are exactly the analytic rows (one subject).
        prop_assert_eq!(acc[0].rows_used as usize, analytic.rows.len());

        // The same files read from disk by the parallel reader (data::chunked) and checked
        // as streams: the same analytic file, flow and exceptions.
        let dir = tempfile::tempdir().unwrap();
        let eol = if crlf { "\r\n" } else { "\n" };
        for (name, lines) in ["roster.csv", "sessions.csv", "assessments.csv"].iter().zip(&files) {
            std::fs::write(dir.path().join(name), lines.join(eol) + "\n").unwrap();
        }
        let file = |key: &str, name: &str| InputFile::new(key, name, dir.path());
        let input = InputFiles {
            roster: file("files.roster", "roster.csv"),
            sessions: file("files.sessions", "sessions.csv"),
            assessments: file("files.assessments", "assessments.csv"),
            assignments: None,
        };
        let streamed = prepare_files(&input, &opts, &options(), None).unwrap();
        prop_assert_eq!(&streamed.rows, &analytic.rows);
        prop_assert_eq!(&streamed.flow, &analytic.flow);
        let exceptions = |a: &obc::data::AnalyticFile| {
            let mut e: Vec<_> = a.ledgers.iter().flat_map(|l| l.exceptions().iter().cloned()).collect();
            e.sort();
            e
        };
        prop_assert_eq!(exceptions(&streamed), exceptions(&analytic));
        let mut streamed_acc = streamed.accounting().unwrap();
        for (a, name) in streamed_acc.iter_mut().zip(["roster.csv", "sessions.csv", "assessments.csv"]) {
            let bytes = std::fs::read(dir.path().join(name)).unwrap();
            prop_assert_eq!(std::mem::take(&mut a.sha256), obc::data::load::sha256_hex(&bytes));
        }
        prop_assert_eq!(streamed_acc, acc);
    }
}

#[test]
fn clean_files_have_no_exceptions_except_scope() {
    let files = clean_files(30);
    let inputs = RawInputs {
        roster: table("roster.csv", &files[0], false),
        sessions: table("sessions.csv", &files[1], false),
        assessments: table("assessments.csv", &files[2], false),
        assignments: None,
    };
    let v = validate(&inputs, &ValidateOptions::default()).unwrap();
    for l in v.ledgers() {
        assert!(l.exceptions().is_empty(), "{:?}", l.exceptions());
    }
}
