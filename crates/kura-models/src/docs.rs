//! `kura docs`: the project's models as a static site (kura-docs), with columns and types
//! from planning each model and the raw tables they read as sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kura_docs::{DocColumn, DocModel, DocSource, DocsSite, SiteSummary};
use kura_engine::{QueryContext, Warehouse};

use crate::error::ModelError;
use crate::project::ModelProject;

/// Writes the site for `project` into `out_dir`.
///
/// # Errors
/// Engine errors reading source schemas; [`ModelError::Io`] when the site cannot be written.
pub async fn write(
    wh: &Warehouse,
    project: &ModelProject,
    out_dir: &Path,
    principal: &str,
) -> Result<SiteSummary, ModelError> {
    wh.set_view_overlay(
        project
            .models
            .iter()
            .map(|m| (m.name.clone(), m.sql().to_string()))
            .collect(),
    );
    let ctx = QueryContext::new(principal.to_string()).with_label("command", "docs");
    let mut models = Vec::new();
    let mut sources: BTreeSet<kura_engine::TableName> = BTreeSet::new();
    for m in &project.models {
        let schema = wh.query_schema(m.sql(), &ctx).await.ok();
        let columns = schema
            .map(|s| crate::state::columns_of(&s))
            .unwrap_or_default()
            .into_iter()
            .map(|c| DocColumn {
                description: m.header.columns.get(&c.name).cloned(),
                name: c.name,
                data_type: c.data_type,
            })
            .collect();
        for r in &m.reads {
            if project.index_of(&r.table).is_none() {
                sources.insert(r.table.clone());
            }
        }
        models.push(DocModel {
            id: m.name.to_string(),
            path: m.path.display().to_string(),
            sql: m.text.clone(),
            materialized: m.header.materialized.as_str().to_string(),
            description: m.header.description.clone(),
            owner: m.header.owner.clone(),
            tags: m.header.tags.clone(),
            columns,
            checks: project
                .quality
                .iter()
                .filter(|q| q.table == m.name.to_string())
                .flat_map(|q| {
                    let checks = q.quality.checks.iter().map(|c| {
                        let level = c.severity.as_str();
                        match &c.filter {
                            Some(f) => format!("{} [{level}] where {f}", c.display_name()),
                            None => format!("{} [{level}]", c.display_name()),
                        }
                    });
                    let monitor = q.quality.monitor.as_ref().map(|mo| {
                        format!("monitor per {} of {}", mo.bucket.as_str(), mo.time_column)
                    });
                    checks.chain(monitor).collect::<Vec<_>>()
                })
                .collect(),
            depends_on: m.reads.iter().map(|r| r.table.to_string()).collect(),
        });
    }
    wh.set_view_overlay(BTreeMap::new());
    let mut doc_sources = Vec::new();
    for s in sources {
        let columns = match wh.table_schema(&s).await {
            Ok(schema) => crate::state::columns_of(&schema)
                .into_iter()
                .map(|c| DocColumn {
                    name: c.name,
                    data_type: c.data_type,
                    description: None,
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        doc_sources.push(DocSource {
            id: s.to_string(),
            columns,
        });
    }
    let site = DocsSite {
        project: wh.project().config().project.name.clone(),
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        models,
        sources: doc_sources,
    };
    kura_docs::write_site(&site, out_dir).map_err(|e| ModelError::Io {
        path: out_dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}
