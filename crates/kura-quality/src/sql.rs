//! Small pieces of GoogleSQL text: quoted names and literals, and who a run is.

use chrono::{DateTime, Utc};
use kura_engine::{QueryContext, TableName};

/// A column name in backticks, so any name the table has can be used.
pub fn column(name: &str) -> String {
    format!("`{}`", name.replace('`', "\\`"))
}

/// A `dataset.table` reference, validated as a kura table name.
///
/// # Errors
/// A message when the name is not `dataset.table` or not a valid name.
pub fn table(name: &str) -> Result<String, String> {
    let Some((dataset, table)) = name.split_once('.') else {
        return Err(format!(
            "`{name}` is not a table name; write it as `dataset.table`"
        ));
    };
    let parsed = TableName::new(dataset, table).map_err(|e| e.to_string())?;
    Ok(format!("{}.{}", parsed.dataset, parsed.table))
}

/// A TOML value as a GoogleSQL literal (for `accepted_values`).
///
/// # Errors
/// A message for arrays, tables and other values that are not scalars.
pub fn literal(value: &toml::Value) -> Result<String, String> {
    Ok(match value {
        toml::Value::String(s) => string_literal(s),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::Boolean(b) => b.to_string().to_uppercase(),
        toml::Value::Datetime(d) => string_literal(&d.to_string()),
        other => {
            return Err(format!(
                "`{other}` cannot be an accepted value; use strings, numbers or booleans"
            ))
        }
    })
}

/// A quoted GoogleSQL string.
pub fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Who runs checks and monitors, and when: shared by every query of one run.
#[derive(Debug, Clone)]
pub struct RunScope {
    pub run_id: String,
    pub principal: String,
    /// The project's zone, for DATETIME and DATE values.
    pub timezone: String,
    /// The moment the run is judged at (freshness ages are measured to it).
    pub now: DateTime<Utc>,
    /// Extra labels for the query log (`schedule=nightly`).
    pub labels: Vec<(String, String)>,
}

impl RunScope {
    /// A new run as `principal` now.
    pub fn new(principal: impl Into<String>, timezone: impl Into<String>) -> Self {
        Self {
            run_id: uuid::Uuid::new_v4().to_string(),
            principal: principal.into(),
            timezone: timezone.into(),
            now: Utc::now(),
            labels: Vec::new(),
        }
    }

    /// A new run as `principal` now, in the zone of the warehouse's project.
    pub fn for_warehouse(wh: &kura_engine::Warehouse, principal: impl Into<String>) -> Self {
        Self::new(principal, wh.project().config().project.timezone.clone())
    }

    /// The query context of this run's queries.
    pub fn query_context(&self) -> QueryContext {
        let mut ctx =
            QueryContext::new(self.principal.clone()).with_label("run_id", self.run_id.clone());
        for (k, v) in &self.labels {
            ctx = ctx.with_label(k.clone(), v.clone());
        }
        ctx
    }
}
