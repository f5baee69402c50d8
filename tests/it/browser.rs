//! The HTML report in a real browser: `obc check` writes `report.html`, headless Chromium
//! renders it to a PNG (which must decode and not be blank), loads it with a probe that
//! records console errors, uncaught exceptions and failed resource loads (there must be none),
//! and prints it to a PDF on letter paper (which must have at least one page).
//!
//! Chromium is found as `$OBC_CHROMIUM`, else `chromium`, `chromium-browser`, `google-chrome`
//! or `google-chrome-stable` on PATH. Without one the tests print a notice and pass, unless
//! `OBC_REQUIRE_BROWSER=1` (CI), which makes a missing browser a failure.
//!
//! Why a probe: Chromium 156's `--headless --enable-logging=stderr --v=0` logs console
//! messages as `INFO:CONSOLE:<line>] "<text>", source: <url>` whatever their level (a
//! `console.error` and a `console.log` look the same) and does not log failed resource loads
//! (a broken `<img src>`) at all, even with `--v=1`. So the page is loaded once more from a copy
//! with a small script first in `<head>` that wraps `console.error`, listens for `error` events
//! in the capture phase (uncaught exceptions and failed `<img>`/`<script>`/`<link>` loads) and
//! unhandled promise rejections, checks every image decoded, and writes what it saw into an
//! element that `--dump-dom` prints. The stderr log is checked as well, for uncaught
//! exceptions and any console line logged at warning or error level.
//! `checker_flags_console_errors_and_broken_images` proves the checker catches each kind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{obc_ok, s, samples};

const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
const WINDOW: (u32, u32) = (1200, 3000);
const TIMEOUT: Duration = Duration::from_secs(120);
/// US letter in PDF points (8.5 x 11 inches).
const LETTER: (f64, f64) = (612.0, 792.0);

/// The browser, or None (after a notice) when there is none and it is not required.
fn browser() -> Option<PathBuf> {
    let found = std::env::var_os("OBC_CHROMIUM").map(PathBuf::from).filter(|p| p.is_file()).or_else(|| {
        let path = std::env::var_os("PATH")?;
        ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
            .iter()
            .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("OBC_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "OBC_REQUIRE_BROWSER=1 but no Chromium was found (set OBC_CHROMIUM, or put chromium on PATH: \
                 apt-get install -y chromium)"
            );
        }
        eprintln!("notice: no Chromium found (OBC_CHROMIUM or chromium on PATH); browser test skipped");
    }
    found
}

/// What one Chromium run printed.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs Chromium headless on `page` with `extra` flags and a fresh profile under `work`;
/// kills it after TIMEOUT.
fn chromium(browser: &Path, work: &Path, tag: &str, extra: &[String], page: &Path) -> Run {
    let profile = work.join(format!("profile-{tag}"));
    let _ = fs::remove_dir_all(&profile);
    fs::create_dir_all(&profile).unwrap();
    let (out, err) = (work.join(format!("{tag}.stdout")), work.join(format!("{tag}.stderr")));
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(browser)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium ({tag}) did not finish within {TIMEOUT:?} on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        stdout: String::from_utf8_lossy(&fs::read(&out).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&err).unwrap()).into_owned(),
    };
    let _ = fs::remove_dir_all(&profile);
    assert!(status.success(), "chromium ({tag}) failed with {status} on {url}:\n{}", tail(&run.stderr));
    run
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

const PROBE_ID: &str = "obc-browser-probe";

/// The probe: first script of the page; records problems into a `<pre id=PROBE_ID>`.
fn probe_script() -> String {
    r#"<script>(function () {
  var seen = [], box = null;
  function show() { if (box) box.textContent = JSON.stringify(seen); }
  function add(kind, text) { seen.push(kind + ": " + text); show(); }
  var original = console.error;
  console.error = function () {
    add("console.error", Array.prototype.map.call(arguments, String).join(" "));
    return original.apply(console, arguments);
  };
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      var url = t.src || t.currentSrc || (t.href && (t.href.baseVal || t.href)) || "";
      add("failed to load", t.tagName.toLowerCase() + " " + url);
    } else {
      add("uncaught exception", e.message);
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { add("unhandled rejection", String(e.reason)); });
  window.addEventListener("load", function () {
    for (var i = 0; i < document.images.length; i++) {
      var im = document.images[i];
      if (!im.complete || im.naturalWidth === 0) add("image not rendered", im.currentSrc || im.src);
    }
    box = document.createElement("pre");
    box.id = "PROBE_ID";
    box.hidden = true;
    document.body.appendChild(box);
    show();
  });
})();</script>"#
        .replace("PROBE_ID", PROBE_ID)
}

/// A copy of `html` with the probe as the first thing the parser runs.
fn with_probe(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let at = ["<head", "<html"]
        .iter()
        .find_map(|tag| lower.find(tag).and_then(|i| lower[i..].find('>').map(|j| i + j + 1)))
        .or_else(|| lower.find("<!doctype").and_then(|i| lower[i..].find('>').map(|j| i + j + 1)))
        .unwrap_or(0);
    format!("{}{}{}", &html[..at], probe_script(), &html[at..])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// Loads `page` with the probe (from a copy next to it, so relative URLs resolve the same) and
/// returns every console error, uncaught exception and failed load, plus problems in the log.
fn page_problems(browser: &Path, work: &Path, page: &Path) -> Vec<String> {
    let html = fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let stem = page.file_stem().unwrap().to_string_lossy();
    let probed = page.with_file_name(format!("{stem}.probe.html"));
    fs::write(&probed, with_probe(&html)).unwrap();
    let run = chromium(
        browser,
        work,
        &format!("{stem}-dom"),
        &["--enable-logging=stderr".into(), "--v=0".into(), "--virtual-time-budget=3000".into(), "--dump-dom".into()],
        &probed,
    );
    let _ = fs::remove_file(&probed);
    let mut problems = Vec::new();
    let open = format!("id=\"{PROBE_ID}\"");
    match run.stdout.find(&open).and_then(|i| run.stdout[i..].find('>').map(|j| i + j + 1)) {
        None => problems.push(format!(
            "the probe did not run (no #{PROBE_ID} in the DOM: a script error before load, or a Content-Security-Policy \
             blocking inline scripts?)"
        )),
        Some(start) => {
            let end = run.stdout[start..].find("</pre>").map(|j| start + j).expect("probe element closed");
            let seen: Vec<String> = serde_json::from_str(&unescape(&run.stdout[start..end]))
                .unwrap_or_else(|e| panic!("probe output {:?}: {e}", &run.stdout[start..end]));
            problems.extend(seen);
        }
    }
    // Chromium's own log: `[pid:tid:date:LEVEL:CONSOLE:line] "text", source: url (line)`.
    for line in run.stderr.lines().filter(|l| l.contains(":CONSOLE")) {
        let level = line.split(':').nth(3).unwrap_or("");
        let text = line.split("] ").nth(1).unwrap_or(line);
        if matches!(level, "ERROR" | "WARNING" | "FATAL") || text.starts_with("\"Uncaught") {
            problems.push(format!("log: {text}"));
        }
    }
    problems
}

/// Decodes the PNG and checks it shows something: size as the window, at least 1% of pixels not
/// white and at least 16 distinct grey levels (text and plot antialiasing give many).
fn check_png(path: &Path) -> Result<String, String> {
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("{}: not a PNG: {e}", path.display()))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| format!("{}: cannot decode: {e}", path.display()))?;
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("indexed PNG after normalisation".into()),
    };
    if (info.width, info.height) != WINDOW {
        return Err(format!("screenshot is {}x{}, expected {}x{}", info.width, info.height, WINDOW.0, WINDOW.1));
    }
    let mut levels = [0u64; 256];
    let mut non_white = 0u64;
    for row in buf[..info.line_size * info.height as usize].chunks_exact(info.line_size) {
        for px in row[..info.width as usize * channels].chunks_exact(channels) {
            let (r, g, b) = if channels >= 3 { (px[0], px[1], px[2]) } else { (px[0], px[0], px[0]) };
            let grey = (299 * r as u32 + 587 * g as u32 + 114 * b as u32) / 1000;
            levels[grey as usize] += 1;
            if r < 240 || g < 240 || b < 240 {
                non_white += 1;
            }
        }
    }
    let total = info.width as u64 * info.height as u64;
    let share = non_white as f64 / total as f64;
    let distinct = levels.iter().filter(|&&n| n > 0).count();
    let summary = format!("{:.2}% non-white pixels, {distinct} grey levels", 100.0 * share);
    if share < 0.01 || distinct < 16 {
        return Err(format!("{} looks blank: {summary}", path.display()));
    }
    Ok(summary)
}

/// Checks the PDF: a PDF file, at least one page, every page US letter. Returns the page count.
fn check_pdf(path: &Path) -> Result<usize, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !bytes.starts_with(b"%PDF-") || !bytes.windows(5).rev().take(64).any(|w| w == b"%%EOF") {
        return Err(format!("{} is not a complete PDF", path.display()));
    }
    let text = String::from_utf8_lossy(&bytes);
    // page objects: `/Type /Page` not followed by `s` (that is the page tree)
    let pages = text.match_indices("/Type /Page").filter(|(i, m)| !text[i + m.len()..].starts_with('s')).count();
    if pages == 0 {
        return Err(format!("{} has no pages", path.display()));
    }
    let boxes: Vec<usize> = text.match_indices("/MediaBox").map(|(i, _)| i).collect();
    if boxes.is_empty() {
        return Err(format!("{}: no /MediaBox, cannot tell the paper size", path.display()));
    }
    for i in boxes {
        let rest = &text[i + "/MediaBox".len()..];
        let inner = rest.trim_start().strip_prefix('[').and_then(|r| r.split(']').next()).unwrap_or("");
        let nums: Vec<f64> = inner.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if nums.len() != 4 || (nums[2] - nums[0] - LETTER.0).abs() > 1.0 || (nums[3] - nums[1] - LETTER.1).abs() > 1.0 {
            return Err(format!("{}: page size {inner:?} is not US letter (612 x 792 points)", path.display()));
        }
    }
    Ok(pages)
}

/// Renders `page`: screenshot and PDF checked, problems collected. Panics on a failed check.
fn render_and_check(browser: &Path, work: &Path, page: &Path) -> (String, usize) {
    let stem = page.file_stem().unwrap().to_string_lossy().into_owned();
    let (png_path, pdf_path) = (work.join(format!("{stem}.png")), work.join(format!("{stem}.pdf")));
    let t = Instant::now();
    chromium(
        browser,
        work,
        &format!("{stem}-png"),
        &[format!("--screenshot={}", png_path.display()), format!("--window-size={},{}", WINDOW.0, WINDOW.1)],
        page,
    );
    assert!(png_path.is_file(), "chromium wrote no screenshot {}", png_path.display());
    let pixels = check_png(&png_path).unwrap_or_else(|e| panic!("{e}"));
    chromium(
        browser,
        work,
        &format!("{stem}-pdf"),
        &[format!("--print-to-pdf={}", pdf_path.display()), "--no-pdf-header-footer".into()],
        page,
    );
    let pages = check_pdf(&pdf_path).unwrap_or_else(|e| panic!("{e}"));
    let problems = page_problems(browser, work, page);
    assert!(problems.is_empty(), "{} has console errors or failed loads:\n  {}", page.display(), problems.join("\n  "));
    eprintln!(
        "{}: {pixels}; PDF {pages} page(s); no console errors ({:.1} s)",
        page.display(),
        t.elapsed().as_secs_f64()
    );
    (pixels, pages)
}

#[test]
fn report_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    obc_ok(&["check", s(&samples().join("contract.toml")), "--out", s(&out)]);
    let report = out.join("report.html");
    assert!(report.is_file(), "obc check wrote no report.html (in {})", out.display());
    let Some(browser) = browser() else { return };
    let work = tmp.path().join("browser");
    fs::create_dir_all(&work).unwrap();
    render_and_check(&browser, &work, &report);
}

/// A page like the report: text and an inline SVG plot, a harmless console.log.
const GOOD: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>checker: good page</title>
<style>body { font-family: sans-serif; margin: 2em; } svg text { font-size: 14px; }</style></head>
<body><h1>Provider P1: share meeting the norm</h1>
<p>0.690 [0.631, 0.750]; tier 1 met, tier 2 met; payable 263,350.00</p>
<svg width="800" height="400" viewBox="0 0 800 400" xmlns="http://www.w3.org/2000/svg" role="img">
  <rect x="0" y="0" width="800" height="400" fill="#ffffff" stroke="#999"/>
  <line x1="60" y1="360" x2="780" y2="360" stroke="#333"/><line x1="60" y1="20" x2="60" y2="360" stroke="#333"/>
  <rect x="100" y="120" width="80" height="240" fill="#1f77b4"/><rect x="220" y="160" width="80" height="200" fill="#ff7f0e"/>
  <rect x="340" y="90" width="80" height="270" fill="#2ca02c"/><rect x="460" y="210" width="80" height="150" fill="#d62728"/>
  <line x1="60" y1="200" x2="780" y2="200" stroke="#555" stroke-dasharray="6 4"/>
  <circle cx="640" cy="150" r="30" fill="#9467bd" opacity="0.6"/>
  <text x="100" y="385">P1</text><text x="220" y="385">P2</text><text x="340" y="385">P3</text><text x="460" y="385">P4</text>
  <text x="600" y="195">tier 1</text>
</svg>
<table><tr><th>provider</th><th>counted</th></tr><tr><td>P1</td><td>168</td></tr></table>
<script>console.log("report loaded");</script>
</body></html>
"##;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn checker_accepts_a_clean_page_with_inline_svg() {
    let Some(browser) = browser() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let page = write(tmp.path(), "good.html", GOOD);
    let (_, pages) = render_and_check(&browser, tmp.path(), &page);
    assert!(pages >= 1);
}

#[test]
fn checker_flags_console_errors_and_broken_images() {
    let Some(browser) = browser() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "console",
            r#"<script>console.error("deliberate error 4711");</script>"#,
            "console.error: deliberate error 4711",
        ),
        ("image", r#"<img src="no-such-image.png" alt="broken">"#, "failed to load: img"),
        (
            "svgimage",
            r#"<svg width="50" height="50"><image href="no-such.png" width="50" height="50"/></svg>"#,
            "failed to load: image",
        ),
        ("throw", r#"<script>notAFunction42();</script>"#, "uncaught exception"),
        ("reject", r#"<script>Promise.reject(new Error("rejected 99"));</script>"#, "unhandled rejection"),
    ];
    let body = cases.iter().map(|c| c.1).collect::<Vec<_>>().join("\n");
    let all = write(tmp.path(), "bad.html", &GOOD.replace("</body>", &format!("{body}\n</body>")));
    let problems = page_problems(&browser, tmp.path(), &all);
    eprintln!("flagged on the bad page:\n  {}", problems.join("\n  "));
    for (name, _, expect) in &cases {
        assert!(problems.iter().any(|p| p.starts_with(expect)), "{name}: {expect:?} not flagged in {problems:#?}");
    }
    // the uncaught exception is also in Chromium's own log
    assert!(problems.iter().any(|p| p.starts_with("log: \"Uncaught ReferenceError: notAFunction42")), "{problems:#?}");
    // and each case alone is flagged on an otherwise clean page
    for (name, snippet, expect) in &cases {
        let page =
            write(tmp.path(), &format!("bad-{name}.html"), &GOOD.replace("</body>", &format!("{snippet}\n</body>")));
        let problems = page_problems(&browser, tmp.path(), &page);
        assert!(
            problems.iter().any(|p| p.starts_with(expect)),
            "{name} alone: {expect:?} not flagged in {problems:#?}"
        );
    }
    // while the clean page itself has none
    let good = write(tmp.path(), "good.html", GOOD);
    assert_eq!(page_problems(&browser, tmp.path(), &good), Vec::<String>::new());
}

#[test]
fn checker_flags_a_blank_page() {
    let Some(browser) = browser() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let page =
        write(tmp.path(), "blank.html", "<!doctype html><html><head><title>blank</title></head><body></body></html>");
    let png_path = tmp.path().join("blank.png");
    chromium(
        &browser,
        tmp.path(),
        "blank-png",
        &[format!("--screenshot={}", png_path.display()), format!("--window-size={},{}", WINDOW.0, WINDOW.1)],
        &page,
    );
    let err = check_png(&png_path).expect_err("a blank page must fail the pixel check");
    assert!(err.contains("looks blank"), "{err}");
    // a file that is not a PNG fails to decode
    let junk = write(tmp.path(), "junk.png", "not a png");
    assert!(check_png(&junk).unwrap_err().contains("not a PNG"));
}

#[test]
fn checker_flags_a_pdf_not_on_letter_paper() {
    let Some(browser) = browser() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let page = write(tmp.path(), "a4.html", &GOOD.replace("</style>", "@page { size: A4; }</style>"));
    let pdf = tmp.path().join("a4.pdf");
    chromium(
        &browser,
        tmp.path(),
        "a4-pdf",
        &[format!("--print-to-pdf={}", pdf.display()), "--no-pdf-header-footer".into()],
        &page,
    );
    let err = check_pdf(&pdf).expect_err("an A4 page must fail the letter check");
    assert!(err.contains("not US letter"), "{err}");
    let junk = write(tmp.path(), "junk.pdf", "%PDF-1.4 truncated");
    assert!(check_pdf(&junk).unwrap_err().contains("not a complete PDF"));
}
