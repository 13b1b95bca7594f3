//! The warehouse as a DataFusion catalog: datasets are schemas, Delta tables and views are
//! tables.
//!
//! Tables are opened when a query names them, not when the session starts, so a warehouse with
//! many tables costs nothing until it is used, and a query always sees each table's latest
//! committed version. A view is planned from its GoogleSQL when a query names it, into
//! DataFusion's [`ViewTable`], so it is always planned against the current upstream schemas.
//!
//! An overlay of view definitions can stand in front of the disk: `kura plan` plans a
//! project's models as if they were deployed, without writing anything.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::empty::EmptyTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;

use crate::error::EngineError;
use crate::store::{TableName, TableStore};

/// Hands out a copy of the session's state, for planning views.
pub(crate) type StateSource = Arc<OnceLock<Box<dyn Fn() -> Option<SessionState> + Send + Sync>>>;

/// View definitions that take precedence over the warehouse's, with their plans once made.
#[derive(Debug, Default)]
pub(crate) struct ViewOverlay {
    sql: BTreeMap<TableName, String>,
    plans: HashMap<TableName, LogicalPlan>,
    /// Tables that exist only as a schema: what a table model will hold once built.
    stubs: BTreeMap<TableName, SchemaRef>,
}

/// What the catalog and its schemas share.
#[derive(Clone)]
pub(crate) struct CatalogShared {
    pub store: TableStore,
    pub state: StateSource,
    pub overlay: Arc<Mutex<ViewOverlay>>,
}

impl std::fmt::Debug for CatalogShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogShared")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl CatalogShared {
    /// Replaces the overlay: these views are seen instead of what is on disk.
    pub fn set_overlay(&self, views: BTreeMap<TableName, String>) {
        if let Ok(mut overlay) = self.overlay.lock() {
            *overlay = ViewOverlay {
                sql: views,
                plans: HashMap::new(),
                stubs: BTreeMap::new(),
            };
        }
    }

    /// Adds an empty table with `schema` to the overlay, seen instead of a table or view of
    /// that name.
    pub fn add_stub(&self, name: TableName, schema: SchemaRef) {
        if let Ok(mut overlay) = self.overlay.lock() {
            overlay.sql.remove(&name);
            overlay.stubs.insert(name, schema);
        }
    }

    /// Whether queries naming `name` read its stored Delta table, not a view or a stand-in.
    pub fn reads_stored_table(&self, name: &TableName) -> bool {
        self.stub(name).is_none()
            && self.overlay_sql(name).is_none()
            && self.store.view_sql(name).is_none()
    }

    fn stub(&self, name: &TableName) -> Option<SchemaRef> {
        self.overlay.lock().ok()?.stubs.get(name).cloned()
    }

    fn overlay_sql(&self, name: &TableName) -> Option<String> {
        self.overlay.lock().ok()?.sql.get(name).cloned()
    }

    fn overlay_names(&self, dataset: &str) -> Vec<String> {
        self.overlay
            .lock()
            .map(|o| {
                o.sql
                    .keys()
                    .chain(o.stubs.keys())
                    .filter(|n| n.dataset == dataset)
                    .map(|n| n.table.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Plans a view's GoogleSQL against the session (and so against other views).
    async fn plan_view(&self, name: &TableName, sql: &str, memo: bool) -> Result<LogicalPlan> {
        if memo {
            if let Some(plan) = self
                .overlay
                .lock()
                .ok()
                .and_then(|o| o.plans.get(name).cloned())
            {
                return Ok(plan);
            }
        }
        let view_error = |source: EngineError| {
            DataFusionError::External(Box::new(EngineError::View {
                view: name.to_string(),
                message: source.to_string(),
            }))
        };
        let state = self
            .state
            .get()
            .and_then(|f| f())
            .ok_or_else(|| DataFusionError::Internal("the session is gone".into()))?;
        let statement =
            kura_sql::parse_one(sql).map_err(|source| view_error(EngineError::Sql { source }))?;
        // Wildcard tables (`events_*`) match tables, as in BigQuery.
        let tables =
            crate::table_columns::StatementTables::for_statement(&self.store, &statement).await;
        let statement = kura_sql::rewrite_for_datafusion_with_tables(statement, &tables)
            .map_err(|source| view_error(EngineError::Sql { source }))?;
        let plan = state
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                statement,
            )))
            .await?;
        if memo {
            if let Ok(mut overlay) = self.overlay.lock() {
                overlay.plans.insert(name.clone(), plan.clone());
            }
        }
        Ok(plan)
    }
}

/// Every dataset of the warehouse.
#[derive(Debug)]
pub struct WarehouseCatalog {
    shared: CatalogShared,
}

impl WarehouseCatalog {
    pub(crate) fn new(shared: CatalogShared) -> Self {
        Self { shared }
    }
}

impl CatalogProvider for WarehouseCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names = self.shared.store.datasets();
        if let Ok(overlay) = self.shared.overlay.lock() {
            names.extend(overlay.sql.keys().map(|n| n.dataset.clone()));
            names.extend(overlay.stubs.keys().map(|n| n.dataset.clone()));
        }
        names.sort();
        names.dedup();
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(DatasetSchema {
            shared: self.shared.clone(),
            dataset: name.to_string(),
        }))
    }
}

/// One dataset: a directory of Delta tables and views.
#[derive(Debug)]
pub struct DatasetSchema {
    shared: CatalogShared,
    dataset: String,
}

#[async_trait]
impl SchemaProvider for DatasetSchema {
    fn table_names(&self) -> Vec<String> {
        let store = &self.shared.store;
        let mut names = store.tables(&self.dataset);
        names.extend(store.views(&self.dataset));
        names.extend(self.shared.overlay_names(&self.dataset));
        names.sort();
        names.dedup();
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Ok(table_name) = TableName::new(&self.dataset, name) else {
            return Ok(None);
        };
        if let Some(schema) = self.shared.stub(&table_name) {
            return Ok(Some(Arc::new(EmptyTable::new(schema))));
        }
        if let Some(sql) = self.shared.overlay_sql(&table_name) {
            let plan = self.shared.plan_view(&table_name, &sql, true).await?;
            return Ok(Some(Arc::new(ViewTable::new(plan, Some(sql)))));
        }
        if let Some(sql) = self.shared.store.view_sql(&table_name) {
            let plan = self.shared.plan_view(&table_name, &sql, false).await?;
            return Ok(Some(Arc::new(ViewTable::new(plan, Some(sql)))));
        }
        let Some(table) = self
            .shared
            .store
            .open(&table_name)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
        else {
            return Ok(None);
        };
        let provider = table.table_provider().await?;
        Ok(Some(provider))
    }

    fn table_exist(&self, name: &str) -> bool {
        TableName::new(&self.dataset, name).is_ok_and(|n| {
            self.shared.overlay_sql(&n).is_some()
                || self.shared.stub(&n).is_some()
                || self.shared.store.exists(&n)
                || self.shared.store.view_sql(&n).is_some()
        })
    }
}
