//! `kura vacuum`: deletes the data files that no table version within the retention reads.
//!
//! A Delta write never deletes: a replaced day, a rebuilt table or a compaction leaves the old
//! files on disk, still read by the earlier versions, and a load that dies between writing its
//! files and committing them leaves files no version reads at all. Both kinds are deleted
//! here, once older than the retention (Delta's "full" vacuum, which also lists the directory
//! for files the log never named). The retention is what protects a write still running: its
//! files are not committed yet, but they are new.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::DeltaTable;

use crate::access::{Access, RAW_DATASET, SYSTEM_DATASET};
use crate::error::EngineError;
use crate::store::TableName;
use crate::warehouse::QueryContext;
use crate::warehouse::Warehouse;

/// Files younger than this are kept unless the caller asks otherwise: the Delta default
/// (`delta.deletedFileRetentionDuration`), long enough for any load or build to finish and
/// for a reader that started on an old version to end.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A retention shorter than this can delete the files of a write that is still running, so
/// it needs [`VacuumRequest::force`].
pub const SAFE_RETENTION: Duration = Duration::from_secs(3600);

/// What to vacuum.
#[derive(Debug, Clone)]
pub struct VacuumRequest {
    /// The tables; empty means every table the principal may write.
    pub tables: Vec<TableName>,
    /// Files younger than this are kept.
    pub retain: Duration,
    /// List what would be deleted, delete nothing.
    pub dry_run: bool,
    /// Allow a retention under [`SAFE_RETENTION`]: the caller knows nothing else is writing.
    pub force: bool,
}

impl Default for VacuumRequest {
    fn default() -> Self {
        Self {
            tables: Vec::new(),
            retain: DEFAULT_RETENTION,
            dry_run: false,
            force: false,
        }
    }
}

/// The files of one table that were (or, in a dry run, would be) deleted.
#[derive(Debug, Clone)]
pub struct TableVacuum {
    pub table: TableName,
    /// Paths relative to the table's directory, sorted.
    pub files: Vec<String>,
    pub bytes: u64,
}

/// What a vacuum did.
#[derive(Debug, Clone, Default)]
pub struct VacuumOutcome {
    pub dry_run: bool,
    /// Every table looked at, with what it lost (often nothing).
    pub tables: Vec<TableVacuum>,
    /// Tables left alone because the principal may not write them.
    pub skipped: Vec<TableName>,
}

impl VacuumOutcome {
    pub fn files(&self) -> usize {
        self.tables.iter().map(|t| t.files.len()).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }
}

impl Warehouse {
    /// Deletes the files no version of the tables within `request.retain` reads; see the
    /// module documentation. Each table that lost files is recorded in the query log as a
    /// `VACUUM`.
    ///
    /// A table needs write access to its dataset; `_kura`'s tables, which only kura writes,
    /// need write access to `raw` (the warehouse's engineers).
    ///
    /// # Errors
    /// [`EngineError::ShortRetention`] for a retention under [`SAFE_RETENTION`] without
    /// `force`; [`EngineError::Materialize`] for a named view; [`EngineError::TableNotFound`];
    /// [`EngineError::AccessDenied`] for a named table the principal may not write;
    /// [`EngineError::Delta`].
    pub async fn vacuum(
        &self,
        request: &VacuumRequest,
        ctx: &QueryContext,
    ) -> Result<VacuumOutcome, EngineError> {
        if request.retain < SAFE_RETENTION && !request.force {
            return Err(EngineError::ShortRetention {
                retain: describe(request.retain),
            });
        }
        let named = !request.tables.is_empty();
        let tables = if named {
            for name in &request.tables {
                if self.store().view_sql(name).is_some() {
                    return Err(EngineError::Materialize {
                        table: name.to_string(),
                        message: "is a view; a view has no files to vacuum".into(),
                        hint: "name tables only; `kura tables` lists them",
                    });
                }
                if !self.store().exists(name) {
                    return Err(EngineError::TableNotFound {
                        table: name.to_string(),
                    });
                }
            }
            request.tables.clone()
        } else {
            let store = self.store();
            let mut all = Vec::new();
            for dataset in store.datasets() {
                for table in store.tables(&dataset) {
                    all.push(TableName::new(&dataset, &table)?);
                }
            }
            all
        };
        let mut outcome = VacuumOutcome {
            dry_run: request.dry_run,
            ..VacuumOutcome::default()
        };
        for name in tables {
            let guarded = if name.dataset == SYSTEM_DATASET {
                RAW_DATASET
            } else {
                name.dataset.as_str()
            };
            let statement = format!(
                "VACUUM `{name}` RETAIN {} HOURS",
                request.retain.as_secs_f64() / 3600.0
            );
            if named {
                self.authorize(&ctx.principal, guarded, Access::Write, &statement, "VACUUM")
                    .await?;
            } else if self
                .policy()
                .check(&ctx.principal, guarded, Access::Write)
                .is_err()
            {
                outcome.skipped.push(name);
                continue;
            }
            let started = (Utc::now(), Instant::now());
            let result = self.vacuum_table(&name, request).await;
            if !request.dry_run && result.as_ref().map_or(true, |t| !t.files.is_empty()) {
                let logged = result.as_ref().map(|t| (t.files.len() as u64, Vec::new()));
                self.log_write(&name, &statement, "VACUUM", ctx, started, &logged)
                    .await?;
            }
            outcome.tables.push(result?);
        }
        Ok(outcome)
    }

    async fn vacuum_table(
        &self,
        name: &TableName,
        request: &VacuumRequest,
    ) -> Result<TableVacuum, EngineError> {
        let delta_err = |source| EngineError::Delta {
            table: name.to_string(),
            source,
        };
        let Some(table) = self.store().open(name).await? else {
            return Err(EngineError::TableNotFound {
                table: name.to_string(),
            });
        };
        let retention = chrono::Duration::from_std(request.retain)
            .unwrap_or_else(|_| chrono::Duration::days(365 * 100));
        let vacuum = |table: DeltaTable, dry_run| {
            table
                .vacuum()
                .with_mode(VacuumMode::Full)
                .with_retention_period(retention)
                .with_enforce_retention_duration(false)
                .with_dry_run(dry_run)
        };
        // The listing says what goes, and the sizes are read before anything is deleted. It
        // names the files of expired removals again after they are gone (the removals stay in
        // the log), and names them by their full path: only files still on disk count.
        let (table, planned) = vacuum(table, true).await.map_err(delta_err)?;
        let dir = self.store().table_dir(name);
        let relative = |f: &String| -> String {
            std::path::Path::new(f)
                .strip_prefix(&dir)
                .map_or_else(|_| f.clone(), |p| p.to_string_lossy().into_owned())
        };
        let sizes: HashMap<String, u64> = planned
            .files_deleted
            .iter()
            .map(relative)
            .filter_map(|f| Some((f.clone(), std::fs::metadata(dir.join(&f)).ok()?.len())))
            .collect();
        let mut files: Vec<String> = if request.dry_run || sizes.is_empty() {
            sizes.keys().cloned().collect()
        } else {
            let (_, done) = vacuum(table, false).await.map_err(delta_err)?;
            done.files_deleted
                .iter()
                .map(relative)
                .filter(|f| sizes.contains_key(f))
                .collect()
        };
        files.sort();
        let bytes = files.iter().filter_map(|f| sizes.get(f)).sum();
        Ok(TableVacuum {
            table: name.clone(),
            files,
            bytes,
        })
    }
}

/// A retention as `kura vacuum --retain` takes it: `7d`, `36h`, `30m`, `0s`.
pub fn describe(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retentions_are_described_in_their_largest_whole_unit() {
        assert_eq!(describe(Duration::ZERO), "0s");
        assert_eq!(describe(Duration::from_secs(30 * 60)), "30m");
        assert_eq!(describe(Duration::from_secs(36 * 3600)), "36h");
        assert_eq!(describe(DEFAULT_RETENTION), "7d");
        assert_eq!(describe(Duration::from_secs(90)), "90s");
    }
}
