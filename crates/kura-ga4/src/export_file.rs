//! The files of a GA4 export as BigQuery writes them: `events_YYYYMMDD`,
//! `events_intraday_YYYYMMDD` and `events_fresh_YYYYMMDD`, each possibly split into shards
//! (`events_20240501-000000000001.json.gz`), as newline-delimited JSON (plain or gzipped) or
//! Parquet.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use kura_engine::load::FileFormat;

use crate::error::Ga4Error;

/// Which export table a file comes from. A date's daily table is complete and final; the
/// intraday and fresh tables are partial views of a day that the daily table supersedes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExportKind {
    Intraday,
    Fresh,
    Daily,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Intraday => "intraday",
            ExportKind::Fresh => "fresh",
            ExportKind::Daily => "daily",
        }
    }

    pub fn parse(s: &str) -> Option<ExportKind> {
        Some(match s {
            "intraday" => ExportKind::Intraday,
            "fresh" => ExportKind::Fresh,
            "daily" => ExportKind::Daily,
            _ => return None,
        })
    }
}

/// One export file: where it is, which table and day it holds, and its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    pub path: PathBuf,
    pub kind: ExportKind,
    pub date: NaiveDate,
    pub format: FileFormat,
}

impl ExportFile {
    /// Reads kind, date and format from the file name.
    ///
    /// # Errors
    /// [`Ga4Error::FileName`] when the name is not one GA4's export uses.
    pub fn from_path(path: &Path) -> Result<ExportFile, Ga4Error> {
        let bad = |reason: &str| Ga4Error::FileName {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| bad("the file name is not valid UTF-8"))?;
        let lower = name.to_ascii_lowercase();
        let (stem, format) = split_format(&lower);
        let (kind, rest) = if let Some(rest) = stem.strip_prefix("events_intraday_") {
            (ExportKind::Intraday, rest)
        } else if let Some(rest) = stem.strip_prefix("events_fresh_") {
            (ExportKind::Fresh, rest)
        } else if let Some(rest) = stem.strip_prefix("events_") {
            (ExportKind::Daily, rest)
        } else {
            return Err(bad(
                "expected events_YYYYMMDD, events_intraday_YYYYMMDD or events_fresh_YYYYMMDD",
            ));
        };
        // A shard suffix (`-000000000001`, `_000000000001`) follows the date.
        let digits: String = rest.chars().take(8).collect();
        let after = &rest[digits.len()..];
        if digits.len() != 8
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !(after.is_empty() || after.starts_with('-') || after.starts_with('_'))
        {
            return Err(bad("the date after `events_` must be 8 digits, YYYYMMDD"));
        }
        let date = NaiveDate::parse_from_str(&digits, "%Y%m%d")
            .map_err(|_| bad(&format!("`{digits}` is not a calendar date")))?;
        Ok(ExportFile {
            path: path.to_path_buf(),
            kind,
            date,
            format,
        })
    }
}

/// The name without its format extensions, and the format. GA4 export files are
/// newline-delimited JSON unless they end in `.parquet`; BigQuery's extract names them
/// `.json`, and files without an extension are JSON too.
fn split_format(name: &str) -> (&str, FileFormat) {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    for ext in [".parquet", ".pq"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return (stem, FileFormat::Parquet);
        }
    }
    for ext in [".json", ".jsonl", ".ndjson"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return (stem, FileFormat::Ndjson);
        }
    }
    (name, FileFormat::Ndjson)
}

/// The export files under `paths`: files as given, directories searched recursively for
/// names that look like export files (others, such as a README, are ignored). Sorted by path
/// so that loads are deterministic.
///
/// # Errors
/// [`Ga4Error::FileName`] for a file named explicitly that is not an export file,
/// [`Ga4Error::NoFiles`] when nothing is found, and I/O errors.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<ExportFile>, Ga4Error> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.exists() {
            files.push(ExportFile::from_path(path)?);
        } else {
            return Err(Ga4Error::Io {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    if files.is_empty() {
        return Err(Ga4Error::NoFiles {
            paths: paths.to_vec(),
        });
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<ExportFile>) -> Result<(), Ga4Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Ga4Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Ga4Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if let Ok(file) = ExportFile::from_path(&path) {
            out.push(file);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> Result<ExportFile, Ga4Error> {
        ExportFile::from_path(Path::new(name))
    }

    #[test]
    fn names_give_kind_date_and_format() {
        let f = parse("events_20240501.json.gz").expect("valid");
        assert_eq!(f.kind, ExportKind::Daily);
        assert_eq!(f.date, NaiveDate::from_ymd_opt(2024, 5, 1).expect("date"));
        assert_eq!(f.format, FileFormat::Ndjson);
        let f = parse("events_intraday_20240503.json").expect("valid");
        assert_eq!(f.kind, ExportKind::Intraday);
        let f = parse("events_fresh_20240503.parquet").expect("valid");
        assert_eq!((f.kind, f.format), (ExportKind::Fresh, FileFormat::Parquet));
        let f = parse("events_20240501-000000000003.json.gz").expect("shard");
        assert_eq!(f.kind, ExportKind::Daily);
        let f = parse("events_20240501").expect("no extension");
        assert_eq!(f.format, FileFormat::Ndjson);
    }

    #[test]
    fn other_names_are_refused_with_the_reason() {
        assert!(parse("orders.csv").is_err());
        assert!(parse("events_2024051.json").is_err());
        assert!(parse("events_20240231.json").is_err());
        assert!(parse("events_202405011.json").is_err());
    }
}
