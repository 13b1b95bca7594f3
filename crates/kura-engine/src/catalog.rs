//! The warehouse as a DataFusion catalog: datasets are schemas, Delta tables are tables.
//!
//! Tables are opened when a query names them, not when the session starts, so a warehouse with
//! many tables costs nothing until it is used, and a query always sees each table's latest
//! committed version.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result};

use crate::store::{TableName, TableStore};

/// Every dataset of the warehouse.
#[derive(Debug)]
pub struct WarehouseCatalog {
    store: TableStore,
}

impl WarehouseCatalog {
    pub fn new(store: TableStore) -> Self {
        Self { store }
    }
}

impl CatalogProvider for WarehouseCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.store.datasets()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(DatasetSchema {
            store: self.store.clone(),
            dataset: name.to_string(),
        }))
    }
}

/// One dataset: a directory of Delta tables.
#[derive(Debug)]
pub struct DatasetSchema {
    store: TableStore,
    dataset: String,
}

#[async_trait]
impl SchemaProvider for DatasetSchema {
    fn table_names(&self) -> Vec<String> {
        self.store.tables(&self.dataset)
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let Ok(table_name) = TableName::new(&self.dataset, name) else {
            return Ok(None);
        };
        let Some(table) = self
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
        TableName::new(&self.dataset, name).is_ok_and(|n| self.store.exists(&n))
    }
}
