//! The warehouse on disk: `<root>/<dataset>/<table>`, each table a Delta table, each view a
//! directory holding its GoogleSQL in `view.sql`.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use std::path::{Path, PathBuf};
use url::Url;

use crate::error::EngineError;

/// kura's own tables grow by one small file per append (a query, a check run, a monitor run):
/// every this many versions their small files are merged, so that reading a table's history
/// (a monitor's earlier runs, `kura cost`) does not slow down with every run.
pub const COMPACT_EVERY: u64 = 50;
/// Every this many versions of kura's own tables a checkpoint is written (Delta Lake's own
/// default interval): opening a table then reads one Parquet checkpoint and at most this many
/// JSON commits, not every commit since the table was made. Without checkpoints, each monitor
/// run re-read about 100 commits of `_kura.query_log` and `_kura.monitor_metrics`, a tenth of
/// its CPU time.
pub const CHECKPOINT_EVERY: u64 = 10;
/// Files below this size are merged; a merged file stops being rewritten once it is this big.
const COMPACT_TARGET_BYTES: std::num::NonZeroU64 = match std::num::NonZeroU64::new(8 << 20) {
    Some(n) => n,
    None => unreachable!(),
};

/// A table's two-part name, `dataset.table`, validated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub dataset: String,
    pub table: String,
}

impl TableName {
    /// Builds a name from its parts, checking both.
    ///
    /// # Errors
    /// [`EngineError::InvalidName`] when a part is not lowercase snake_case.
    pub fn new(dataset: &str, table: &str) -> Result<Self, EngineError> {
        let full = format!("{dataset}.{table}");
        validate_part(dataset, &full)?;
        validate_part(table, &full)?;
        Ok(Self {
            dataset: dataset.to_string(),
            table: table.to_string(),
        })
    }

    /// Parses `dataset.table`.
    ///
    /// # Errors
    /// [`EngineError::InvalidName`] when there are not exactly two valid parts.
    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name.split_once('.') {
            Some((d, t)) if !t.contains('.') => Self::new(d, t),
            _ => Err(EngineError::InvalidName {
                name: name.to_string(),
                reason: "expected DATASET.TABLE".into(),
            }),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.dataset, self.table)
    }
}

fn validate_part(part: &str, full: &str) -> Result<(), EngineError> {
    let mut chars = part.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && part.len() <= 128 {
        Ok(())
    } else {
        Err(EngineError::InvalidName {
            name: full.to_string(),
            reason: format!("`{part}` is not lowercase snake_case"),
        })
    }
}

/// The file that makes a directory a view.
pub const VIEW_FILE: &str = "view.sql";

/// The file that holds a table's or view's own readers (a model's `grants`), when it has them.
/// The leading underscore keeps Delta's VACUUM (which skips `_` and `.` files) away from it.
pub const READERS_FILE: &str = "_readers.json";

/// Writes `bytes` to `.<file>.tmp` in `dir` (creating it), for a rename into place: a reader
/// then sees the old file or the new one, never half of one.
fn write_beside(dir: &Path, file: &str, bytes: &[u8]) -> Result<PathBuf, EngineError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    Ok(tmp)
}

fn rename_into_place(tmp: &Path, target: &Path) -> Result<(), EngineError> {
    std::fs::rename(tmp, target).map_err(|source| EngineError::Io {
        path: target.to_path_buf(),
        source,
    })
}

/// Removes a file; one that is not there is already removed.
fn remove_if_present(path: &Path) -> Result<(), EngineError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(EngineError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Where tables live, and the few operations on them that do not need a query engine.
#[derive(Debug, Clone)]
pub struct TableStore {
    root: PathBuf,
}

impl TableStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn table_dir(&self, name: &TableName) -> PathBuf {
        self.root.join(&name.dataset).join(&name.table)
    }

    /// Datasets, sorted: the directories under the root.
    pub fn datasets(&self) -> Vec<String> {
        sorted_dirs(&self.root)
    }

    /// Tables of a dataset, sorted: its directories that hold a Delta log.
    pub fn tables(&self, dataset: &str) -> Vec<String> {
        sorted_dirs(&self.root.join(dataset))
            .into_iter()
            .filter(|t| self.root.join(dataset).join(t).join("_delta_log").is_dir())
            .collect()
    }

    pub fn exists(&self, name: &TableName) -> bool {
        self.table_dir(name).join("_delta_log").is_dir()
    }

    /// Views of a dataset, sorted.
    pub fn views(&self, dataset: &str) -> Vec<String> {
        sorted_dirs(&self.root.join(dataset))
            .into_iter()
            .filter(|t| self.root.join(dataset).join(t).join(VIEW_FILE).is_file())
            .collect()
    }

    /// The GoogleSQL of a view, or `None` when `name` is not a view.
    pub fn view_sql(&self, name: &TableName) -> Option<String> {
        std::fs::read_to_string(self.table_dir(name).join(VIEW_FILE)).ok()
    }

    /// Stores a view's SQL, replacing a table or view of the same name. The file is written
    /// beside and renamed into place, so a reader sees the old or the new definition.
    ///
    /// # Errors
    /// [`EngineError::Io`] when the directory cannot be written.
    pub fn write_view(&self, name: &TableName, sql: &str) -> Result<(), EngineError> {
        let dir = self.table_dir(name);
        let tmp = write_beside(&dir, VIEW_FILE, sql.as_bytes())?;
        self.remove_table_files(name)?;
        rename_into_place(&tmp, &dir.join(VIEW_FILE))
    }

    /// The principals and groups a table or view names as its own readers, or `None` when it
    /// has none (the dataset's grants apply).
    ///
    /// # Errors
    /// [`EngineError::Config`] when the file exists but is not a JSON list of strings: access
    /// is refused rather than guessed.
    pub fn readers(&self, name: &TableName) -> Result<Option<Vec<String>>, EngineError> {
        let path = self.table_dir(name).join(READERS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(EngineError::Io { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| EngineError::Materialize {
                table: name.to_string(),
                message: format!("{} is not a JSON list of readers ({e})", path.display()),
                hint: "run `kura apply` to write it again from the model's `grants`, or delete \
                       it to hand the table back to its dataset's grants",
            })
    }

    /// Sets (or with `None`, removes) a table's or view's own readers. Written beside and
    /// renamed into place, like a view.
    ///
    /// # Errors
    /// [`EngineError::Io`] when the file cannot be written or removed.
    pub fn set_readers(
        &self,
        name: &TableName,
        readers: Option<&[String]>,
    ) -> Result<(), EngineError> {
        let dir = self.table_dir(name);
        let target = dir.join(READERS_FILE);
        let Some(readers) = readers else {
            return remove_if_present(&target);
        };
        let json = serde_json::to_string_pretty(readers).unwrap_or_else(|_| "[]".into());
        let tmp = write_beside(&dir, READERS_FILE, json.as_bytes())?;
        rename_into_place(&tmp, &target)
    }

    /// Removes a view's definition, leaving a Delta table of the same name alone.
    ///
    /// # Errors
    /// [`EngineError::Io`] when the file cannot be removed.
    pub fn remove_view(&self, name: &TableName) -> Result<(), EngineError> {
        remove_if_present(&self.table_dir(name).join(VIEW_FILE))
    }

    /// Drops a table or view: its whole directory.
    ///
    /// # Errors
    /// [`EngineError::Io`] when the directory cannot be removed.
    pub fn drop_relation(&self, name: &TableName) -> Result<(), EngineError> {
        let dir = self.table_dir(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(EngineError::Io { path: dir, source }),
        }
    }

    /// Removes a Delta table's log and data files, keeping the directory.
    fn remove_table_files(&self, name: &TableName) -> Result<(), EngineError> {
        let dir = self.table_dir(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.filter_map(Result::ok) {
            let file_name = entry.file_name();
            // The view being written (its temporary file) and the readers stay.
            let keep = [VIEW_FILE, READERS_FILE]
                .iter()
                .any(|f| file_name == *f || file_name == *format!(".{f}.tmp"));
            if keep {
                continue;
            }
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|source| EngineError::Io { path, source })?;
        }
        Ok(())
    }

    /// Opens a table at its latest version, or `None` when it does not exist.
    ///
    /// # Errors
    /// [`EngineError::Delta`] when the log exists but cannot be read.
    pub async fn open(&self, name: &TableName) -> Result<Option<DeltaTable>, EngineError> {
        if !self.exists(name) {
            return Ok(None);
        }
        let url = self.table_url(name)?;
        deltalake::open_table(url)
            .await
            .map(Some)
            .map_err(|source| EngineError::Delta {
                table: name.to_string(),
                source,
            })
    }

    /// A handle for a table that may not exist yet, for the first write.
    pub async fn open_or_new(&self, name: &TableName) -> Result<DeltaTable, EngineError> {
        let dir = self.table_dir(name);
        std::fs::create_dir_all(&dir).map_err(|source| EngineError::Io {
            path: dir.clone(),
            source,
        })?;
        let url = self.table_url(name)?;
        DeltaTable::try_from_url(url)
            .await
            .map_err(|source| EngineError::Delta {
                table: name.to_string(),
                source,
            })
    }

    pub fn table_url(&self, name: &TableName) -> Result<Url, EngineError> {
        let dir = self.table_dir(name);
        let abs = std::path::absolute(&dir).map_err(|source| EngineError::Io {
            path: dir.clone(),
            source,
        })?;
        Url::from_directory_path(&abs).map_err(|()| EngineError::InvalidName {
            name: name.to_string(),
            reason: format!("{} is not a valid table location", abs.display()),
        })
    }

    /// Appends batches to a table in one commit, creating it and adding new columns as needed.
    /// Every [`COMPACT_EVERY`] versions the table's small files are merged, and every
    /// [`CHECKPOINT_EVERY`] versions its log is checkpointed.
    /// Used for kura's own tables, whose schemas grow between versions.
    ///
    /// # Errors
    /// [`EngineError::Delta`] when the commit fails.
    pub async fn append(
        &self,
        name: &TableName,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        commit: CommitProperties,
    ) -> Result<u64, EngineError> {
        let table = self.open_or_new(name).await?;
        let batches = if batches.is_empty() {
            vec![RecordBatch::new_empty(schema)]
        } else {
            batches
        };
        let table = table
            .write(batches)
            .with_save_mode(SaveMode::Append)
            .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
            .with_commit_properties(commit)
            .await
            .map_err(|source| EngineError::Delta {
                table: name.to_string(),
                source,
            })?;
        let version = table.version().unwrap_or(0);
        // Housekeeping after the rows are committed, so it must not turn a committed append
        // into an error the caller might retry (and duplicate): whatever stops it (a race with
        // another writer, a full disk), the next due version tries again.
        let mut table = table;
        if version > 0 && version.is_multiple_of(COMPACT_EVERY) {
            if let Ok((compacted, _)) = table
                .clone()
                .optimize()
                .with_target_size(COMPACT_TARGET_BYTES)
                .await
            {
                table = compacted;
            }
        }
        if version > 0 && version.is_multiple_of(CHECKPOINT_EVERY) {
            let _ = deltalake::checkpoints::create_checkpoint(&table, None).await;
        }
        Ok(version)
    }
}

fn sorted_dirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(TableName::parse("raw.orders").is_ok());
        assert!(TableName::parse("raw.events_20240101").is_ok());
        assert!(TableName::parse("_kura.query_log").is_ok());
        assert!(TableName::parse("Raw.orders").is_err());
        assert!(TableName::parse("raw").is_err());
        assert!(TableName::parse("a.b.c").is_err());
        assert!(TableName::parse("raw.my-table").is_err());
    }
}
