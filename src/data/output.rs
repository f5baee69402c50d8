//! Writing a run's outputs to a folder as a set (README.md, "Outputs").
//!
//! An [`OutputDir`] is opened once per run with the paths of every input file of the run
//! and every output name it plans to write. Then:
//!
//! 1. Before anything is written, each planned output is checked against the inputs: an
//!    output whose path equals an input, resolves to one (either is a symbolic link to the
//!    other) or is the same file (hard link) is refused with
//!    [`OutputError::InputCollision`]. Each file created later is checked again.
//! 2. The folder's previous manifest is removed, so a folder that is part old, part new
//!    never has a manifest that claims it is complete.
//! 3. Each output is written to a hidden temporary file in its own folder
//!    (`.NAME.tmp-PID`, created exclusively, so a symbolic link at that name is never
//!    followed), hashed (SHA-256) and counted as it is written, flushed and synced, then
//!    renamed over its final name. `rename` replaces a symbolic link at the final name
//!    instead of writing through it; a subfolder (`figures/`) that is a symbolic link is
//!    replaced by a real folder. A temporary file is removed when its write fails.
//! 4. The manifest is written last ([`OutputDir::write_manifest`]), listing every output
//!    with its SHA-256, so an interrupted run leaves either the previous complete set or a
//!    folder without a manifest; [`verify`] tells the two apart.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::error::OutputError;

/// One output written: its name relative to the folder (`/`-separated), SHA-256 and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

/// An input file of the run, as the paths that would mean "this file".
#[derive(Debug)]
struct Input {
    given: PathBuf,
    /// The directory entry: canonical parent folder joined with the file name.
    entry: Option<PathBuf>,
    /// Where the entry resolves to, following symbolic links.
    resolved: Option<PathBuf>,
    /// Device and inode, which also catches hard links.
    id: Option<(u64, u64)>,
}

/// A folder a run writes its outputs into (module docs).
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    canonical: PathBuf,
    manifest: String,
    inputs: Vec<Input>,
    written: Mutex<Vec<Written>>,
}

/// The temporary name of `name` in its folder; [`verify`] lists files with this shape.
fn temp_name(name: &str) -> String {
    format!(".{name}.tmp-{}", std::process::id())
}

/// True for a leftover temporary file of some run (`.NAME.tmp-PID`).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.rsplit_once(".tmp-").is_some_and(|(_, pid)| pid.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(unix)]
fn file_id(m: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The directory entry of `path`: canonical parent joined with the file name.
fn entry_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(parent).ok()?.join(name))
}

impl Input {
    fn new(path: &Path) -> Input {
        Input {
            given: path.to_path_buf(),
            entry: entry_of(path),
            resolved: fs::canonicalize(path).ok(),
            id: fs::metadata(path).ok().as_ref().and_then(file_id),
        }
    }
}

/// Checks that `name` is a plain relative path below the folder (no `..`, not absolute).
fn check_name(name: &str) -> Result<(), OutputError> {
    let p = Path::new(name);
    let plain = !name.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if plain { Ok(()) } else { Err(OutputError::BadName { name: name.to_string() }) }
}

impl OutputDir {
    /// Opens `dir` for a run: creates it (and its parents), remembers the `inputs`, refuses
    /// any of the `planned` output names (and the manifest) that is an input, then removes
    /// the folder's previous manifest `manifest` (e.g. `manifest.json`).
    pub fn start(dir: &Path, inputs: &[PathBuf], manifest: &str, planned: &[&str]) -> Result<OutputDir, OutputError> {
        let out = OutputDir::open(dir, inputs, manifest)?;
        out.check_planned(planned)?;
        out.remove_manifest()?;
        Ok(out)
    }

    /// Opens `dir` without removing its manifest (used to update a complete set in place).
    pub fn open(dir: &Path, inputs: &[PathBuf], manifest: &str) -> Result<OutputDir, OutputError> {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        check_name(manifest)?;
        match fs::metadata(dir) {
            Ok(m) if !m.is_dir() => return Err(OutputError::NotAFolder { path: dir.to_path_buf() }),
            Ok(_) => {}
            Err(_) => {
                fs::create_dir_all(dir).map_err(|source| OutputError::Folder { path: dir.to_path_buf(), source })?
            }
        }
        let canonical =
            fs::canonicalize(dir).map_err(|source| OutputError::Folder { path: dir.to_path_buf(), source })?;
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            canonical,
            manifest: manifest.to_string(),
            inputs: inputs.iter().map(|p| Input::new(p)).collect(),
            written: Mutex::new(Vec::new()),
        })
    }

    /// The folder, as given.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `folder/name`, as given.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The manifest's name in the folder.
    pub fn manifest_name(&self) -> &str {
        &self.manifest
    }

    /// Refuses when an output named `name` would be (or resolve to) an input file.
    pub fn check_collision(&self, name: &str) -> Result<(), OutputError> {
        check_name(name)?;
        let entry = self.canonical.join(name);
        let path = self.dir.join(name);
        let resolved = fs::canonicalize(&path).ok();
        let id = fs::metadata(&path).ok().as_ref().and_then(file_id);
        for input in &self.inputs {
            let same_path = [Some(&entry), resolved.as_ref()]
                .into_iter()
                .flatten()
                .any(|o| input.entry.as_ref() == Some(o) || input.resolved.as_ref() == Some(o));
            let same_file = id.is_some() && id == input.id;
            if same_path || same_file {
                return Err(OutputError::InputCollision { output: path, input: input.given.clone() });
            }
        }
        Ok(())
    }

    fn check_planned(&self, planned: &[&str]) -> Result<(), OutputError> {
        for name in planned.iter().copied().chain(std::iter::once(self.manifest.as_str())) {
            self.check_collision(name.trim_end_matches('/'))?;
        }
        Ok(())
    }

    /// Removes the folder's manifest (a symbolic link at its name is removed, not followed).
    pub fn remove_manifest(&self) -> Result<(), OutputError> {
        let path = self.dir.join(&self.manifest);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(OutputError::Write { path, source }),
        }
    }

    /// Makes `dir/sub` a real folder: created when absent, a symbolic link there replaced.
    fn ensure_folder(&self, sub: &Path) -> Result<(), OutputError> {
        let mut at = self.dir.clone();
        for part in sub.components() {
            at.push(part);
            let folder_err = |source| OutputError::Folder { path: at.clone(), source };
            match fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() => continue,
                Ok(m) if m.file_type().is_symlink() => fs::remove_file(&at).map_err(folder_err)?,
                Ok(_) => return Err(OutputError::NotAFolder { path: at }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(folder_err(source)),
            }
            fs::create_dir(&at).map_err(|source| OutputError::Folder { path: at.clone(), source })?;
        }
        Ok(())
    }

    /// Starts writing the output `name` (module docs, step 3); [`AtomicFile::commit`] puts it
    /// in place.
    pub fn create(&self, name: &str) -> Result<AtomicFile<'_>, OutputError> {
        self.check_collision(name)?;
        let rel = Path::new(name);
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.ensure_folder(parent)?;
        }
        let final_path = self.dir.join(rel);
        let file_name = rel.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = final_path.with_file_name(temp_name(&file_name));
        // A leftover of an earlier process with the same id: remove it (a link is removed,
        // not followed), then create exclusively.
        let _ = fs::remove_file(&tmp);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|source| OutputError::Write { path: tmp.clone(), source })?;
        Ok(AtomicFile {
            dir: self,
            name: name.to_string(),
            tmp,
            final_path,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Writes the output `name` with `bytes`.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<Written, OutputError> {
        let mut f = self.create(name)?;
        f.write_all(bytes).map_err(|source| OutputError::Write { path: f.final_path.clone(), source })?;
        f.commit()
    }

    /// Writes the manifest (the last file of a run) and syncs the folder.
    pub fn write_manifest(&self, bytes: &[u8]) -> Result<(), OutputError> {
        let name = self.manifest.clone();
        self.write(&name, bytes)?;
        self.written.lock().expect("no panics while holding the lock").retain(|w| w.file != name);
        sync_dir(&self.dir)
    }

    /// Every output committed so far, in the order written (the manifest excluded).
    pub fn written(&self) -> Vec<Written> {
        self.written.lock().expect("no panics while holding the lock").clone()
    }
}

/// Syncs a folder so that renames and removals in it are durable.
fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        let f = File::open(dir).map_err(|source| OutputError::Write { path: dir.to_path_buf(), source })?;
        f.sync_all().map_err(|source| OutputError::Write { path: dir.to_path_buf(), source })?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An output being written to its temporary file, hashed as it goes. Dropped without
/// [`commit`](AtomicFile::commit), its temporary file is removed.
pub struct AtomicFile<'a> {
    dir: &'a OutputDir,
    name: String,
    tmp: PathBuf,
    final_path: PathBuf,
    out: Option<BufWriter<File>>,
    hasher: Sha256,
    bytes: u64,
}

impl AtomicFile<'_> {
    /// The final path of this output.
    pub fn path(&self) -> &Path {
        &self.final_path
    }

    /// Flushes and syncs the temporary file, renames it over the final name (replacing a
    /// symbolic link there, never following it) and records the output.
    pub fn commit(mut self) -> Result<Written, OutputError> {
        let werr = |source| OutputError::Write { path: self.final_path.clone(), source };
        let out = self.out.take().expect("committed once");
        let file = out.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        drop(file);
        // Checked again: the folder may have changed since the run started.
        self.dir.check_collision(&self.name)?;
        fs::rename(&self.tmp, &self.final_path).map_err(|source| OutputError::Rename {
            from: self.tmp.clone(),
            path: self.final_path.clone(),
            source,
        })?;
        let written = Written {
            file: self.name.clone(),
            sha256: hex(&std::mem::take(&mut self.hasher).finalize()),
            bytes: self.bytes,
        };
        self.dir.written.lock().expect("no panics while holding the lock").push(written.clone());
        Ok(written)
    }
}

impl Write for AtomicFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = self.out.as_mut().ok_or_else(|| io::Error::other("output already committed"))?;
        let n = out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().map_or(Ok(()), |o| o.flush())
    }
}

impl Drop for AtomicFile<'_> {
    fn drop(&mut self) {
        if let Some(out) = self.out.take() {
            drop(out);
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes, streamed.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// What [`verify`] found for one listed output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Present, a regular file, SHA-256 as listed.
    Ok,
    Missing,
    /// Different bytes, or no longer a regular file.
    Changed,
    /// Listed without a SHA-256 (a manifest older than this check).
    NoHash,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Missing => "missing",
            FileStatus::Changed => "changed",
            FileStatus::NoHash => "no hash in manifest",
        }
    }
}

/// One listed output and its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCheck {
    pub manifest: String,
    pub file: String,
    pub status: FileStatus,
}

/// A folder checked against its manifest(s).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verification {
    /// Manifests found (`manifest.json`, else every `*.manifest.json`).
    pub manifests: Vec<String>,
    pub files: Vec<FileCheck>,
    /// Manifests that could not be read, with why.
    pub unreadable: Vec<String>,
    /// Temporary files of an interrupted run (`.NAME.tmp-PID`), relative to the folder.
    pub leftovers: Vec<String>,
}

impl Verification {
    /// True when there is a readable manifest and every output it lists matches.
    pub fn complete(&self) -> bool {
        !self.manifests.is_empty()
            && self.unreadable.is_empty()
            && self.files.iter().all(|f| f.status == FileStatus::Ok)
    }

    /// The outputs that do not match, as `NAME (status)`.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = if self.manifests.is_empty() {
            vec!["no manifest (manifest.json or *.manifest.json)".to_string()]
        } else {
            Vec::new()
        };
        out.extend(self.unreadable.iter().cloned());
        out.extend(
            self.files
                .iter()
                .filter(|f| f.status != FileStatus::Ok)
                .map(|f| format!("{} ({})", f.file, f.status.as_str())),
        );
        out
    }
}

/// The manifests of `dir`: `manifest.json` if present, else every `*.manifest.json`.
fn manifests_in(dir: &Path) -> io::Result<Vec<String>> {
    if fs::symlink_metadata(dir.join("manifest.json")).is_ok() {
        return Ok(vec!["manifest.json".to_string()]);
    }
    let mut names: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".manifest.json") && !is_temp_name(n))
        .collect();
    names.sort();
    Ok(names)
}

fn leftovers_in(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut found: Vec<(String, bool)> = entries
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.file_type().is_ok_and(|t| t.is_dir())))
        .collect();
    found.sort();
    for (name, is_dir) in found {
        if is_temp_name(&name) {
            out.push(format!("{prefix}{name}"));
        } else if is_dir && depth > 0 {
            leftovers_in(&dir.join(&name), &format!("{prefix}{name}/"), depth - 1, out);
        }
    }
}

fn check_file(dir: &Path, file: &str, sha256: Option<&str>) -> FileStatus {
    let path = dir.join(file);
    let Some(expected) = sha256 else { return FileStatus::NoHash };
    match fs::symlink_metadata(&path) {
        Err(_) => FileStatus::Missing,
        Ok(m) if !m.is_file() => FileStatus::Changed,
        Ok(_) => match sha256_file(&path) {
            Ok(h) if h == expected => FileStatus::Ok,
            Ok(_) => FileStatus::Changed,
            Err(_) => FileStatus::Missing,
        },
    }
}

/// Checks `dir` against its manifest(s): every listed output present with its SHA-256.
pub fn verify(dir: &Path) -> Result<Verification, OutputError> {
    let folder_err = |source| OutputError::ReadFolder { path: dir.to_path_buf(), source };
    if !fs::metadata(dir).map_err(folder_err)?.is_dir() {
        return Err(OutputError::NotAFolder { path: dir.to_path_buf() });
    }
    let mut v = Verification { manifests: manifests_in(dir).map_err(folder_err)?, ..Verification::default() };
    for name in v.manifests.clone() {
        let listed = fs::read(dir.join(&name))
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string()))
            .and_then(|j| listed_outputs(&j).ok_or_else(|| "no `outputs` list".to_string()));
        match listed {
            Err(e) => v.unreadable.push(format!("{name} (unreadable: {e})")),
            Ok(files) => {
                for (file, sha) in files {
                    let status = check_file(dir, &file, sha.as_deref());
                    v.files.push(FileCheck { manifest: name.clone(), file, status });
                }
            }
        }
    }
    leftovers_in(dir, "", 1, &mut v.leftovers);
    Ok(v)
}

/// `(file, sha256)` of each entry of a manifest's `outputs`.
pub fn listed_outputs(manifest: &serde_json::Value) -> Option<Vec<(String, Option<String>)>> {
    let outputs = manifest.get("outputs")?.as_array()?;
    outputs
        .iter()
        .map(|o| {
            let file = o.get("file")?.as_str()?.to_string();
            Some((file, o.get("sha256").and_then(|s| s.as_str()).map(str::to_string)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    fn manifest_for(out: &OutputDir) -> Vec<u8> {
        let outputs: Vec<serde_json::Value> =
            out.written().iter().map(|w| serde_json::json!({ "file": w.file, "sha256": w.sha256 })).collect();
        serde_json::to_vec(&serde_json::json!({ "outputs": outputs })).unwrap()
    }

    #[test]
    fn writes_hash_while_writing_and_leave_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::start(&tmp.path().join("a/b"), &[], "manifest.json", &["x.csv"]).unwrap();
        let w = out.write("x.csv", b"a,b\n1,2\n").unwrap();
        assert_eq!(w, Written { file: "x.csv".into(), sha256: sha(b"a,b\n1,2\n"), bytes: 8 });
        let mut f = out.create("figures/y.svg").unwrap();
        f.write_all(b"<svg/>").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(tmp.path().join("a/b/figures/y.svg")).unwrap(), b"<svg/>");
        out.write_manifest(&manifest_for(&out)).unwrap();
        let v = verify(out.path()).unwrap();
        assert!(v.complete(), "{v:?}");
        assert_eq!(v.files.len(), 2);
        assert!(v.leftovers.is_empty());
    }

    #[test]
    fn an_output_that_is_an_input_is_refused_before_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("groups.csv");
        fs::write(&input, "roster").unwrap();
        // Also through a symbolic link to the input, and from a relative spelling.
        let link = tmp.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let e = OutputDir::start(tmp.path(), std::slice::from_ref(&link), "manifest.json", &["a.csv", "groups.csv"])
            .unwrap_err();
        assert!(matches!(e, OutputError::InputCollision { .. }), "{e}");
        assert_eq!(e.exit_code(), 2);
        let e = OutputDir::start(tmp.path(), std::slice::from_ref(&input), "manifest.json", &["link.csv"]).unwrap_err();
        assert!(matches!(e, OutputError::InputCollision { .. }), "{e}");
        assert_eq!(fs::read(&input).unwrap(), b"roster");
        // Nothing was written, not even the folder's manifest removed by a refused start.
        assert!(!tmp.path().join("a.csv").exists());
    }

    #[test]
    fn a_symbolic_link_at_an_output_name_is_replaced_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim.txt");
        fs::write(&victim, "keep").unwrap();
        let victims = tmp.path().join("victims");
        fs::create_dir(&victims).unwrap();
        let out_dir = tmp.path().join("out");
        fs::create_dir(&out_dir).unwrap();
        std::os::unix::fs::symlink(&victim, out_dir.join("results.json")).unwrap();
        std::os::unix::fs::symlink(&victims, out_dir.join("figures")).unwrap();
        let out = OutputDir::start(&out_dir, &[], "manifest.json", &["results.json"]).unwrap();
        out.write("results.json", b"{}").unwrap();
        out.write("figures/a.svg", b"<svg/>").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read_dir(&victims).unwrap().count(), 0);
        let m = fs::symlink_metadata(out_dir.join("results.json")).unwrap();
        assert!(m.is_file());
        assert!(fs::symlink_metadata(out_dir.join("figures")).unwrap().is_dir());
    }

    #[test]
    fn a_failed_write_removes_its_temp_file_and_start_removes_the_old_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("manifest.json"), "{}").unwrap();
        fs::write(tmp.path().join("figures"), "a file where a folder goes").unwrap();
        let out = OutputDir::start(tmp.path(), &[], "manifest.json", &[]).unwrap();
        assert!(!tmp.path().join("manifest.json").exists());
        let e = out.write("figures/a.svg", b"x").unwrap_err();
        assert!(matches!(e, OutputError::NotAFolder { .. }), "{e}");
        assert_eq!(e.exit_code(), 3);
        {
            let mut f = out.create("big.csv").unwrap();
            f.write_all(b"partial").unwrap();
            // dropped without commit
        }
        let names: Vec<String> =
            fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, vec!["figures".to_string()]);
        let v = verify(tmp.path()).unwrap();
        assert!(!v.complete());
        assert_eq!(v.problems(), vec!["no manifest (manifest.json or *.manifest.json)".to_string()]);
    }

    #[test]
    fn verify_names_changed_missing_and_leftover_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::start(tmp.path(), &[], "run.manifest.json", &[]).unwrap();
        out.write("a.csv", b"1\n").unwrap();
        out.write("b.csv", b"2\n").unwrap();
        out.write_manifest(&manifest_for(&out)).unwrap();
        assert!(verify(tmp.path()).unwrap().complete());
        fs::write(tmp.path().join("a.csv"), "3\n").unwrap();
        fs::remove_file(tmp.path().join("b.csv")).unwrap();
        fs::write(tmp.path().join(".c.csv.tmp-123"), "").unwrap();
        let v = verify(tmp.path()).unwrap();
        assert!(!v.complete());
        assert_eq!(v.problems(), vec!["a.csv (changed)".to_string(), "b.csv (missing)".to_string()]);
        assert_eq!(v.leftovers, vec![".c.csv.tmp-123".to_string()]);
    }

    #[test]
    fn names_must_stay_inside_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::start(tmp.path(), &[], "manifest.json", &[]).unwrap();
        assert!(matches!(out.write("../x", b"").unwrap_err(), OutputError::BadName { .. }));
        assert!(matches!(out.write("/tmp/x", b"").unwrap_err(), OutputError::BadName { .. }));
        assert!(is_temp_name(".audit.csv.tmp-42") && !is_temp_name("audit.csv") && !is_temp_name(".a.tmp-x"));
    }
}
