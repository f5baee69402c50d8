//! `obc import nwea` and `obc import iready`: a vendor's assessment export as the canonical
//! assessments file (README "From your vendor's export: NWEA MAP Growth" and "From your
//! vendor's export: i-Ready Diagnostic"), with `STEM.exceptions.csv` (every
//! input row not written, with the reason) and `STEM.manifest.json` beside it.

use std::path::{Path, PathBuf};

use super::UsageError;
use crate::data::load::read_table;
use crate::data::table::Format;
use crate::data::vendor::iready::{self, Subject};
use crate::data::vendor::nwea::{self, Options, SubjectFrom};
use crate::data::{Accounting, Stage, write_exceptions};
use crate::manifest::{Manifest, OutputFile};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ImportCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// NWEA MAP Growth assessment results (current, older or combined layout) as a canonical assessments file.
    Nwea(NweaArgs),
    /// i-Ready Diagnostic results (one file per subject) as a canonical assessments file.
    Iready(IreadyArgs),
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SubjectFromArg {
    /// math, reading, language_usage or science from Subject (Discipline); "Language Arts" split by Course.
    Subject,
    /// The course itself in snake_case (Course or MeasurementScale: "Algebra 2" -> algebra_2).
    Course,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc import nwea AssessmentResults.csv --out assessments.csv
  obc import nwea Fall2025.csv Spring2026.csv --out assessments.csv --max-rapid-guessing 30
  obc import nwea ComboStudentAssessment.txt --subject-from course --out assessments.csv

The layout is detected from the header (capitals ignored). Rows that cannot be converted are listed
in STEM.exceptions.csv; the console shows rows read = used + excepted per file.")]
pub struct NweaArgs {
    /// MAP export files (CSV or tab-separated): AssessmentResults.csv of the Comprehensive Data File,
    /// the older MeasurementScale/Discipline layout, or the combined student + assessment file.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The canonical assessments CSV to write (restricted: student level); STEM.exceptions.csv and
    /// STEM.manifest.json are written beside it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where the subject comes from: the broad subject (default) or the course.
    #[arg(long, value_enum, default_value = "subject")]
    pub subject_from: SubjectFromArg,
    /// Tests whose RapidGuessingPercentage is above PCT (0-100) are written with valid = false and
    /// the reason in invalid_reason; every file must have the column.
    #[arg(long, value_name = "PCT")]
    pub max_rapid_guessing: Option<f64>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SubjectArg {
    Math,
    /// Reading (i-Ready's ELA diagnostic).
    Reading,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc import iready diagnostic_results_math_CONFIDENTIAL.csv --out assessments.csv
  obc import iready Fall.csv Winter.csv Spring.csv --subject reading --out reading.csv

The header is checked (capitals ignored). i-Ready reports no standard error of measurement: the sem
column is left empty, so growth_se, errors-in-variables corrections and P(true growth >= target)
cannot be computed from these scores. Rows that cannot be converted are listed in STEM.exceptions.csv;
the console shows rows read = used + excepted per file.")]
pub struct IreadyArgs {
    /// i-Ready Diagnostic results files (CSV), one subject each: the Diagnostic Results export with
    /// Student ID, Student Grade, Academic Year, Completion Date, Norming Window, Rush Flag and
    /// Overall Scale Score.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The canonical assessments CSV to write (restricted: student level); STEM.exceptions.csv and
    /// STEM.manifest.json are written beside it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The subject of every file. Required unless each file's name says it (a word math, or ela or
    /// reading, as in diagnostic_results_ela_CONFIDENTIAL.csv); it must not contradict the name.
    #[arg(long, value_enum)]
    pub subject: Option<SubjectArg>,
}

pub fn run(a: &Args) -> anyhow::Result<()> {
    match &a.command {
        ImportCommand::Nwea(n) => import_nwea(n),
        ImportCommand::Iready(i) => import_iready(i),
    }
}

fn import_iready(a: &IreadyArgs) -> anyhow::Result<()> {
    let subject = a.subject.map(|s| match s {
        SubjectArg::Math => Subject::Math,
        SubjectArg::Reading => Subject::Reading,
    });
    let tables = a.files.iter().map(|p| read_table(p, &super::file_name(p))).collect::<Result<Vec<_>, _>>()?;
    let converted = iready::convert(&tables, &iready::Options { subject })?;
    let spec = serde_json::json!({
        "subject": subject.map(Subject::as_str),
        "file_subjects": converted.subjects.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    });
    let (exceptions, accounting) =
        write_import((&a.files, &a.out), "import iready", spec, &converted.table, &converted.ledgers)?;
    for (t, s) in tables.iter().zip(&converted.subjects) {
        let from = if subject.is_some() { "--subject" } else { "the file name" };
        eprintln!("{}: i-Ready Diagnostic results, subject {} (from {from})", t.file, s.as_str());
    }
    eprintln!(
        "assessments: {} tests -> {} (restricted: student level); exceptions -> {}",
        converted.table.height(),
        a.out.display(),
        exceptions
    );
    eprintln!(
        "warning: i-Ready reports no standard error of measurement, so the sem column is empty: growth_se, \
         errors-in-variables corrections (obc vam --sem-col) and P(true growth >= target) (obc norms score \
         --sem-prior/--sem-current) cannot be computed from these scores, and a contract run cannot estimate \
         regression to the mean from them; obc vam --reliability takes a published reliability instead \
         (README \"From your vendor's export: i-Ready Diagnostic\")"
    );
    super::print_accounting(&accounting);
    Ok(())
}

fn import_nwea(a: &NweaArgs) -> anyhow::Result<()> {
    if let Some(p) = a.max_rapid_guessing
        && !(0.0..=100.0).contains(&p)
    {
        return Err(UsageError(format!("--max-rapid-guessing {p}: give a percentage from 0 to 100")).into());
    }
    let opts = Options {
        subject_from: match a.subject_from {
            SubjectFromArg::Subject => SubjectFrom::Subject,
            SubjectFromArg::Course => SubjectFrom::Course,
        },
        max_rapid_guessing: a.max_rapid_guessing,
    };
    let tables = a.files.iter().map(|p| read_table(p, &super::file_name(p))).collect::<Result<Vec<_>, _>>()?;
    let converted = nwea::convert(&tables, &opts)?;
    let spec = serde_json::json!({
        "subject_from": format!("{:?}", a.subject_from).to_lowercase(),
        "max_rapid_guessing": a.max_rapid_guessing,
    });
    let (exceptions, accounting) =
        write_import((&a.files, &a.out), "import nwea", spec, &converted.table, &converted.ledgers)?;
    for (t, layout) in tables.iter().zip(&converted.layouts) {
        eprintln!("{}: NWEA MAP Growth, {} layout", t.file, layout.name());
    }
    eprintln!(
        "assessments: {} tests -> {} (restricted: student level); exceptions -> {}",
        converted.table.height(),
        a.out.display(),
        exceptions
    );
    super::print_accounting(&accounting);
    Ok(())
}

/// Writes an import's canonical table at `--out`, its exceptions and its manifest beside it
/// (the manifest last); returns the exceptions file's name and each input's accounting.
fn write_import(
    (files, out): (&[PathBuf], &Path),
    command: &str,
    spec: serde_json::Value,
    table: &crate::data::table::Table,
    ledgers: &[crate::data::Ledger],
) -> anyhow::Result<(String, Vec<Accounting>)> {
    let dir = super::beside_dir(out, files, &[])?;
    let main = super::file_name(out);
    table.write_into(&dir, &main, Format::Csv)?;
    let exceptions = super::file_name(&super::sidecar(out, "exceptions.csv"));
    let exceptions_rows = write_exceptions(&dir, &exceptions, ledgers)?;
    let accounting: Vec<Accounting> =
        ledgers.iter().map(|l| l.accounting(Stage::Prepared)).collect::<Result<_, _>>()?;
    let mut m = Manifest::new(command, spec, None);
    m.inputs = accounting.clone();
    m.outputs = vec![
        OutputFile::new(&main, true, Some(table.height() as u64)),
        OutputFile::new(&exceptions, true, Some(exceptions_rows)),
    ];
    super::write_manifest(&dir, &m)?;
    Ok((exceptions, accounting))
}
