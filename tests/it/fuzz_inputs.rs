//! Property tests over arbitrary input bytes (issue 13, "keep it so"): the CSV readers and
//! the contract loader never panic, the whole-table reader (`parse_csv`, `read_table`) and
//! the streaming reader (`CsvStream`) agree, and every physical line of a file is the
//! header, a row or a blank line. Runs on stable Rust with `cargo test --test it fuzz_inputs`.

use obc::contract::terms::Contract;
use obc::data::load::{CsvStream, RawRow, parse_csv, read_table};
use proptest::prelude::*;

use crate::common::samples;

/// Physical lines of a file after its byte-order mark: line feeds, plus a last line
/// without one.
fn physical_lines(bytes: &[u8]) -> u64 {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let feeds = body.iter().filter(|&&b| b == b'\n').count() as u64;
    feeds + (body.last().is_some_and(|&b| b != b'\n')) as u64
}

/// Reads `bytes` with the streaming reader: headers, header lines, rows, blank lines.
fn stream(bytes: &[u8]) -> Result<(Vec<String>, u64, Vec<RawRow>, u64), String> {
    let mut s = CsvStream::new(bytes, "t.csv", std::path::Path::new("t.csv")).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    while let Some(r) = s.next_record().map_err(|e| e.to_string())? {
        rows.push(r.to_raw());
    }
    let (headers, header_lines) = (s.headers.clone(), s.header_lines);
    let (_, blank) = s.finish().map_err(|e| e.to_string())?;
    Ok((headers, header_lines, rows, blank))
}

/// Checks both readers on one file.
fn check_readers(bytes: &[u8]) -> Result<(), TestCaseError> {
    let whole = parse_csv(bytes, "t.csv").map_err(|e| e.to_string());
    let streamed = stream(bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, bytes).unwrap();
    let table = read_table(&path, "t.csv").map_err(|e| e.to_string());
    match (&whole, &streamed, &table) {
        (Ok((h, rows, blank)), Ok((sh, header_lines, srows, sblank)), Ok(t)) => {
            prop_assert_eq!(h, sh);
            prop_assert_eq!(rows, srows);
            prop_assert_eq!(blank, sblank);
            prop_assert_eq!((&t.headers, &t.rows, t.blank_lines), (h, rows, *blank));
            let lines = physical_lines(bytes);
            for w in rows.windows(2) {
                prop_assert!(w[0].row < w[1].row, "row numbers not increasing: {:?}", rows);
            }
            for r in rows {
                prop_assert!((1..=lines).contains(&r.row), "row {} outside 1..={}", r.row, lines);
                if r.fields.is_empty() {
                    prop_assert!(r.defect.as_ref().is_some_and(|d| d.text.contains("part of the quoted field")));
                }
            }
            prop_assert_eq!(
                *header_lines + rows.len() as u64 + blank,
                lines,
                "header lines + rows + blank lines != physical lines"
            );
        }
        (Err(a), Err(b), Err(c)) => {
            prop_assert_eq!(a, b);
            prop_assert_eq!(a, c);
        }
        _ => prop_assert!(false, "readers disagree: {:?} / {:?} / {:?}", whole, streamed, table.map(|t| t.rows)),
    }
    Ok(())
}

/// Bytes from an alphabet rich in the characters that matter to a CSV reader.
fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop::sample::select(vec![
        b'a', b'b', b'1', b' ', b',', b',', b'"', b'"', b'\n', b'\n', b'\r', b'\t', b';', 0xC3, 0xA9, 0xE9,
    ]);
    (prop::bool::ANY, prop::collection::vec(byte, 0..200))
        .prop_map(|(header, body)| if header { [b"id,name,score\n".as_slice(), &body].concat() } else { body })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn csv_readers_agree_and_account_for_every_line(bytes in csv_like()) {
        check_readers(&bytes)?;
    }

    #[test]
    fn csv_readers_survive_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_readers(&bytes)?;
    }

    #[test]
    fn contract_loader_survives_arbitrary_text(text in "\\PC*") {
        let _ = Contract::from_toml(&text, "fuzz.toml");
    }

    #[test]
    fn contract_loader_survives_mutated_samples(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(vec![
            "\"", "=", "[", "]", "\n", "-1", "0", "1e309", "x", "[[thresholds]]\n", "\"\"", ",", "#", "NaN",
        ])), 1..6),
    ) {
        let mut text = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
        for (at, op, piece) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            match op {
                0 => text.insert_str(i, piece),
                1 => {
                    let end = (i + piece.len()).min(text.len());
                    let end = (end..=text.len()).find(|&e| text.is_char_boundary(e)).unwrap_or(text.len());
                    text.replace_range(i..end, "");
                }
                _ => {
                    let end = (i + 1..=text.len()).find(|&e| text.is_char_boundary(e)).unwrap_or(text.len());
                    text.replace_range(i..end, piece);
                }
            }
        }
        let _ = Contract::from_toml(&text, "contract.toml");
    }
}

#[test]
fn physical_lines_count_a_last_line_without_a_line_feed() {
    assert_eq!(physical_lines(b""), 0);
    assert_eq!(physical_lines(b"a\n"), 1);
    assert_eq!(physical_lines(b"\xEF\xBB\xBFa\nb"), 2);
    assert_eq!(physical_lines(b"a\n\n"), 2);
}

#[test]
fn hand_written_files_account_for_every_line() {
    for text in [
        "a,b\n1,2\n",
        "\n\na,b\r\n\r\n1,2\r\n,\n  \n3,4",
        "a,b\n1,\"x\ny\nz\"\n2,3\n\n",
        "\"a\nb\",c\n1,2\n",
        "a,b\n1,\"open\n2,3\n",
        "a,b\n1,x\ry\n\r\n",
    ] {
        check_readers(text.as_bytes()).unwrap();
        assert!(parse_csv(text.as_bytes(), "t.csv").is_ok(), "{text:?}");
    }
}
