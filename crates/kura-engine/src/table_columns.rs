//! What the GoogleSQL rewrite needs to know about the warehouse: the tables of a dataset (for
//! wildcard tables) and the columns of the tables a statement reads (an UNNEST of structs
//! exposes its fields unqualified, unless a table in the query has a column of that name).

use std::collections::HashMap;

use kura_sql::{Statement, TableLister};

use crate::store::{TableName, TableStore};

/// The warehouse as the rewrite sees it, for one statement.
pub(crate) struct StatementTables<'a> {
    store: &'a TableStore,
    /// Columns by the table's name as written (`dataset.table`, lower-case).
    columns: HashMap<String, Vec<String>>,
}

impl<'a> StatementTables<'a> {
    /// Reads the schemas of the tables `statement` names, only when it has an UNNEST: the
    /// one construct that needs them, so other queries open no extra Delta logs.
    pub(crate) async fn for_statement(store: &'a TableStore, statement: &Statement) -> Self {
        let mut columns = HashMap::new();
        if statement
            .to_string()
            .to_ascii_uppercase()
            .contains("UNNEST")
        {
            for table in kura_sql::referenced_tables(statement) {
                let Some(dataset) = &table.dataset else {
                    continue;
                };
                let Ok(name) = TableName::new(dataset, &table.table) else {
                    continue;
                };
                let Ok(Some(delta)) = store.open(&name).await else {
                    continue;
                };
                let Ok(snapshot) = delta.snapshot() else {
                    continue;
                };
                let names = snapshot
                    .snapshot()
                    .arrow_schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                columns.insert(
                    format!("{dataset}.{}", table.table).to_ascii_lowercase(),
                    names,
                );
            }
        }
        Self { store, columns }
    }
}

impl TableLister for StatementTables<'_> {
    fn tables(&self, dataset: &str) -> Vec<String> {
        self.store.tables(dataset)
    }

    fn columns(&self, table: &str) -> Option<Vec<String>> {
        self.columns.get(&table.to_ascii_lowercase()).cloned()
    }
}
