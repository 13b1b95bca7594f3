use std::collections::BTreeSet;
use std::fmt;
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_relations, Expr, FunctionArg, FunctionArgExpr, Query, Statement, TableFactor, Value,
    Visit, Visitor,
};

/// A table named in a statement, as written: `dataset.table`, or a bare `table`.
///
/// BigQuery names may carry a project (`project.dataset.table`); kura keeps only the last two
/// parts because one kura project is one warehouse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableRef {
    pub dataset: Option<String>,
    pub table: String,
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dataset {
            Some(d) => write!(f, "{d}.{}", self.table),
            None => f.write_str(&self.table),
        }
    }
}

fn table_ref(parts: &[String]) -> Option<TableRef> {
    match parts {
        [] => None,
        [table] => Some(TableRef {
            dataset: None,
            table: table.clone(),
        }),
        [.., dataset, table] => Some(TableRef {
            dataset: Some(dataset.clone()),
            table: table.clone(),
        }),
    }
}

/// The tables a statement reads or writes, without the names of its CTEs.
///
/// Found by walking the AST rather than the text, so names in strings and comments are not
/// mistaken for tables. A table function is not a table, but a `'dataset.table'` string it
/// is given names one (`ga4_flatten('raw.ga4_events')` reads `raw.ga4_events`), so access
/// checks see through it. Sorted and de-duplicated.
pub fn referenced_tables(statement: &Statement) -> Vec<TableRef> {
    let mut ctes = CteNames::default();
    let _ = statement.visit(&mut ctes);
    let mut functions = TableFunctions::default();
    let _ = statement.visit(&mut functions);
    let mut found: BTreeSet<TableRef> = functions.tables.into_iter().collect();
    let _ = visit_relations(statement, |name| {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .flat_map(|v| v.split('.').map(str::to_string).collect::<Vec<_>>())
            .collect();
        if parts.len() == 1 && functions.names.contains(&parts[0].to_lowercase()) {
            return ControlFlow::<()>::Continue(());
        }
        if let Some(t) = table_ref(&parts) {
            let is_cte = t.dataset.is_none() && ctes.0.contains(&t.table.to_lowercase());
            if !is_cte {
                found.insert(t);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    found.into_iter().collect()
}

/// Table function calls in FROM: their names, and the tables named by their string arguments.
#[derive(Default)]
struct TableFunctions {
    names: BTreeSet<String>,
    tables: Vec<TableRef>,
}

impl Visitor for TableFunctions {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            args: Some(args),
            ..
        } = factor
        {
            self.names.insert(name.to_string().to_lowercase());
            for arg in &args.args {
                let (FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))
                | FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(Expr::Value(v)),
                    ..
                }) = arg
                else {
                    continue;
                };
                if let Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) = &v.value {
                    let parts: Vec<String> = s.split('.').map(str::to_string).collect();
                    let well_formed = parts.len() >= 2
                        && parts.iter().all(|p| {
                            !p.is_empty()
                                && p.chars()
                                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                        });
                    if well_formed {
                        self.tables.extend(table_ref(&parts));
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Collects every CTE alias in a statement so that references to them are not taken for tables.
#[derive(Default)]
struct CteNames(BTreeSet<String>);

impl Visitor for CteNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.0.insert(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(sql: &str) -> Vec<String> {
        referenced_tables(&crate::parse_one(sql).unwrap())
            .into_iter()
            .map(|t| t.to_string())
            .collect()
    }

    #[test]
    fn finds_joined_and_subquery_tables() {
        assert_eq!(
            tables(
                "SELECT * FROM marts.orders o JOIN stg.customers c USING (customer_id) \
                 WHERE o.id IN (SELECT id FROM raw.refunds)"
            ),
            vec!["marts.orders", "raw.refunds", "stg.customers"]
        );
    }

    #[test]
    fn ignores_ctes_strings_and_comments() {
        assert_eq!(
            tables(
                "-- FROM raw.secret\nWITH recent AS (SELECT * FROM raw.orders) \
                 SELECT 'FROM raw.other' AS s FROM recent"
            ),
            vec!["raw.orders"]
        );
    }

    #[test]
    fn table_function_arguments_name_tables() {
        assert_eq!(
            tables("SELECT * FROM ga4_flatten('raw.ga4_events') WHERE x = 'a.b'"),
            vec!["raw.ga4_events"]
        );
    }

    #[test]
    fn backquoted_project_names_keep_dataset_and_table() {
        assert_eq!(
            tables("SELECT 1 FROM `my-project.raw.events`"),
            vec!["raw.events"]
        );
    }
}
