//! The reader alone (issue 15): every record of each file given, through the parallel
//! reader (`data::chunked`, what every command uses) and the careful one-record-at-a-time
//! reader, with a map that touches every field; rows/s and MB/s per file. Parquet files
//! are read as columns (`data::parquet`).
//!
//!     OBC_READER_FILES=a.csv,b.csv,c.parquet cargo bench --bench reader
//!
//! Each file is read once to warm the page cache, then timed `OBC_READER_RUNS` times
//! (default 3; the median is printed). Figures: benches/README.md ("The data layer").

use std::path::Path;
use std::time::Instant;

use obc::data::load::Source;

/// Reads every record of `path`, returning (rows, total field bytes).
fn read(path: &Path, careful: bool) -> (u64, u64) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut source = if careful { Source::open_careful(path, &name) } else { Source::open(path, &name) }
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut rows, mut bytes) = (0u64, 0u64);
    source
        .scan(
            |r| Ok(r.fields.iter().map(|f| f.len() as u64).sum::<u64>()),
            |b| {
                rows += 1;
                bytes += b;
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    source.finish().unwrap();
    (rows, bytes)
}

fn main() {
    let files = std::env::var("OBC_READER_FILES").expect("set OBC_READER_FILES to a comma-separated list of files");
    let runs: usize = std::env::var("OBC_READER_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    println!("{:<28} {:>8} {:>11} {:>9} {:>12} {:>9}", "file", "reader", "rows", "seconds", "rows/s", "MB/s");
    for f in files.split(',').filter(|f| !f.is_empty()) {
        let path = Path::new(f);
        let size = std::fs::metadata(path).unwrap_or_else(|e| panic!("{f}: {e}")).len() as f64;
        let csv = !f.ends_with(".parquet");
        for careful in [false, true].into_iter().filter(|&c| csv || !c) {
            read(path, careful);
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..runs {
                let t = Instant::now();
                rows = read(path, careful).0;
                times.push(t.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let s = times[times.len() / 2];
            let name = path.file_name().unwrap().to_string_lossy();
            let reader = if careful { "careful" } else { "fast" };
            println!("{name:<28} {reader:>8} {rows:>11} {s:>9.3} {:>12.0} {:>9.0}", rows as f64 / s, size / s / 1e6);
        }
    }
}
