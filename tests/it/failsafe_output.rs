//! Issue 13 ("Fail safe and loud"), items 3, 4, 5 and 18: outputs never overwrite inputs,
//! symbolic links inside `--out` are never followed, a run is written as a set (manifest
//! last, checked by `obc verify`), and exit codes follow the kind of error.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{obc, obc_ok, s, samples, stderr};

/// A copy of data-samples in a new temporary folder.
fn copy_samples() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["roster.csv", "sessions.csv", "assessments.csv", "history.csv", "contract.toml"] {
        fs::copy(samples().join(f), tmp.path().join(f)).unwrap();
    }
    tmp
}

/// Replaces `from` by `to` in the contract at `path` (the replacement must happen).
fn edit_contract(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn item_03_outputs_never_overwrite_inputs() {
    // validate: the session log named exceptions.csv, --out the contract's own folder.
    let tmp = copy_samples();
    let dir = tmp.path();
    fs::rename(dir.join("sessions.csv"), dir.join("exceptions.csv")).unwrap();
    let contract = dir.join("contract.toml");
    edit_contract(&contract, "sessions = \"sessions.csv\"", "sessions = \"exceptions.csv\"");
    let before = fs::read(dir.join("exceptions.csv")).unwrap();
    let o = obc(&["validate", s(&contract), "--out", s(dir)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("would overwrite the input"), "{}", stderr(&o));
    assert!(fs::read(dir.join("exceptions.csv")).unwrap() == before, "the session log was changed");
    assert!(!dir.join("manifest.json").exists());

    // check: the roster named groups.csv.
    let tmp = copy_samples();
    let dir = tmp.path();
    fs::rename(dir.join("roster.csv"), dir.join("groups.csv")).unwrap();
    let contract = dir.join("contract.toml");
    edit_contract(&contract, "roster = \"roster.csv\"", "roster = \"groups.csv\"");
    let before = fs::read(dir.join("groups.csv")).unwrap();
    let o = obc(&["check", s(&contract), "--out", s(dir)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("groups.csv"), "{}", stderr(&o));
    assert!(fs::read(dir.join("groups.csv")).unwrap() == before, "the roster was changed");
    // Refused before anything was written.
    for f in ["providers.csv", "audit.csv", "results.json", "manifest.json"] {
        assert!(!dir.join(f).exists(), "{f} was written");
    }

    // An output name in another folder that is a symbolic link to an input is refused too.
    let tmp = copy_samples();
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("sessions.csv"), out.join("exceptions.csv")).unwrap();
    let before = fs::read(tmp.path().join("sessions.csv")).unwrap();
    let o = obc(&["validate", s(&tmp.path().join("contract.toml")), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(fs::read(tmp.path().join("sessions.csv")).unwrap() == before);
}

#[test]
fn item_04_symlinks_at_output_names_are_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    let victim_audit = tmp.path().join("victim_audit.csv");
    let victim_dir = tmp.path().join("victim_dir");
    fs::write(&victim, "do not touch\n").unwrap();
    fs::write(&victim_audit, "do not touch either\n").unwrap();
    fs::create_dir(&victim_dir).unwrap();
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink("../victim.txt", out.join("results.json")).unwrap();
    std::os::unix::fs::symlink(&victim_audit, out.join("audit.csv")).unwrap();
    std::os::unix::fs::symlink(&victim_dir, out.join("figures")).unwrap();
    obc_ok(&["check", s(&samples().join("contract.toml")), "--out", s(&out)]);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "do not touch\n");
    assert_eq!(fs::read_to_string(&victim_audit).unwrap(), "do not touch either\n");
    assert_eq!(fs::read_dir(&victim_dir).unwrap().count(), 0, "figures were written through the link");
    for f in ["results.json", "audit.csv"] {
        let m = fs::symlink_metadata(out.join(f)).unwrap();
        assert!(m.is_file(), "{f} is not a regular file");
    }
    assert!(fs::symlink_metadata(out.join("figures")).unwrap().is_dir());
    assert!(out.join("figures/caterpillar.svg").is_file());
    let o = obc(&["verify", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// The files of a check folder whose bytes identify which run wrote it.
const SET: [&str; 5] = ["results.json", "providers.csv", "groups.csv", "audit.csv", "report.html"];

/// Stops a running child the way an unhandled Ctrl-C does: at once, with no cleanup (obc
/// installs no signal handler). SIGKILL rather than SIGINT, because a test runner started in
/// the background may pass on an ignored SIGINT to its children.
fn interrupt(child: &mut std::process::Child) {
    let _ = child.kill();
}

#[test]
fn item_05_interrupted_run_is_complete_or_incomplete() {
    let tmp = copy_samples();
    let contract_a = tmp.path().join("contract.toml");
    let contract_b = tmp.path().join("contract_b.toml");
    fs::copy(&contract_a, &contract_b).unwrap();
    edit_contract(&contract_b, "min_sessions = 20", "min_sessions = 25");
    let (ref_a, ref_b, dir) = (tmp.path().join("ref_a"), tmp.path().join("ref_b"), tmp.path().join("run"));
    obc_ok(&["check", s(&contract_a), "--out", s(&ref_a)]);
    obc_ok(&["check", s(&contract_b), "--out", s(&ref_b)]);
    assert!(fs::read(ref_a.join("providers.csv")).unwrap() != fs::read(ref_b.join("providers.csv")).unwrap());

    // A normal run verifies; one edited byte of providers.csv does not, and obc report refuses.
    obc_ok(&["check", s(&contract_a), "--out", s(&dir)]);
    let o = obc(&["verify", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    obc_ok(&["report", s(&dir.join("results.json"))]);
    let o = obc(&["verify", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "after obc report: {}{}", stdout(&o), stderr(&o));
    let providers = dir.join("providers.csv");
    let good = fs::read(&providers).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    fs::write(&providers, &bad).unwrap();
    let o = obc(&["verify", s(&dir)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("changed  providers.csv"), "{}", stdout(&o));
    assert!(stderr(&o).contains("incomplete") && stderr(&o).contains("providers.csv"), "{}", stderr(&o));
    let o = obc(&["report", s(&dir.join("results.json"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("incomplete") && stderr(&o).contains("providers.csv"), "{}", stderr(&o));
    fs::write(&providers, &good).unwrap();

    // (a) A rerun that fails part-way (figures/ is a file): exit 3, and the folder, part
    // new and part old, is incomplete.
    fs::remove_dir_all(dir.join("figures")).unwrap();
    fs::write(dir.join("figures"), "not a folder").unwrap();
    let o = obc(&["check", s(&contract_b), "--out", s(&dir)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(fs::read(&providers).unwrap() == fs::read(ref_b.join("providers.csv")).unwrap(), "rerun wrote providers");
    let o = obc(&["verify", s(&dir)]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("incomplete") && stderr(&o).contains("no manifest"), "{}", stderr(&o));
    fs::remove_file(dir.join("figures")).unwrap();
    obc_ok(&["check", s(&contract_a), "--out", s(&dir)]);

    // (b) Reruns interrupted at several points: verify says complete only when every file
    // of the set is from one run.
    let mut seen = [0usize; 2];
    for (k, delay_ms) in [0u64, 50, 150, 400].into_iter().enumerate() {
        let contract = if k % 2 == 0 { &contract_b } else { &contract_a };
        if !dir.join("manifest.json").exists() {
            // Start each interrupted rerun from a complete set (of the other contract).
            let other = if k % 2 == 0 { &contract_a } else { &contract_b };
            obc_ok(&["check", s(other), "--out", s(&dir)]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_obc"))
            .args(["check", s(contract), "--out", s(&dir)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the rerun has started writing (it removes the old manifest first), so
        // that the interrupt lands while outputs are being replaced, then `delay_ms` more.
        while dir.join("manifest.json").exists() && child.try_wait().unwrap().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        interrupt(&mut child);
        child.wait().unwrap();
        let o = obc(&["verify", s(&dir)]);
        match o.status.code() {
            Some(0) => {
                seen[0] += 1;
                eprintln!("interrupt {delay_ms} ms into writing: complete");
                let from =
                    |r: &PathBuf| SET.iter().all(|f| fs::read(dir.join(f)).unwrap() == fs::read(r.join(f)).unwrap());
                assert!(from(&ref_a) || from(&ref_b), "verify said complete after {delay_ms} ms, but the set is mixed");
            }
            Some(2) => {
                seen[1] += 1;
                eprintln!("interrupt {delay_ms} ms into writing: incomplete");
                assert!(stderr(&o).contains("incomplete"), "{}", stderr(&o));
            }
            c => panic!("obc verify exited {c:?} after an interrupt at {delay_ms} ms: {}", stderr(&o)),
        }
    }
    assert_eq!(seen[0] + seen[1], 4);
    // A leftover temporary file is listed, and a complete rerun verifies again.
    obc_ok(&["check", s(&contract_b), "--out", s(&dir)]);
    fs::write(dir.join(".audit.csv.tmp-999999"), "partial").unwrap();
    let o = obc(&["verify", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("leftover .audit.csv.tmp-999999"), "{}", stdout(&o));
    for f in SET {
        assert!(fs::read(dir.join(f)).unwrap() == fs::read(ref_b.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn item_18_exit_codes_by_kind() {
    let tmp = copy_samples();
    let contract = tmp.path().join("contract.toml");
    // Output problems: --out below a regular file, or --out a regular file: 3.
    let file = tmp.path().join("a_file");
    fs::write(&file, "x").unwrap();
    for out in [file.join("sub"), file.clone()] {
        let o = obc(&["validate", s(&contract), "--out", s(&out)]);
        assert_eq!(o.status.code(), Some(3), "--out {}: {}", out.display(), stderr(&o));
    }
    let o = obc(&["norms", "score", "--norms", "x.json", "--data", "y.csv", "--out", s(&file.join("s.csv"))]);
    assert_eq!(o.status.code(), Some(2), "missing norms file is an input problem: {}", stderr(&o));
    // A bad contract: 2.
    let bad = tmp.path().join("bad.toml");
    fs::write(&bad, "[contract]\nname = 3\n").unwrap();
    let o = obc(&["check", s(&bad), "--out", s(&tmp.path().join("o1"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A missing input file: 2.
    edit_contract(&contract, "roster = \"roster.csv\"", "roster = \"missing.csv\"");
    let o = obc(&["validate", s(&contract), "--out", s(&tmp.path().join("o2"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // verify (which writes nothing) on a folder with no manifest, or on a path that is not
    // a folder: 2.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert_eq!(obc(&["verify", s(&empty)]).status.code(), Some(2));
    assert_eq!(obc(&["verify", s(&file)]).status.code(), Some(2));
}
