//! Wildcard tables: `dataset.events_*` with `_TABLE_SUFFIX`, as GA4 exports are queried.
//!
//! `FROM dataset.events_* WHERE _TABLE_SUFFIX BETWEEN '20240101' AND '20240107'` becomes a
//! `UNION ALL BY NAME` of the tables `events_<suffix>` that exist (asked of a [`TableLister`])
//! and whose suffix can satisfy the `_TABLE_SUFFIX` conditions, each branch adding its suffix
//! as a `_TABLE_SUFFIX` column. The `WHERE` clause is kept, so rows are always filtered
//! exactly; the pruning only decides which tables are read at all. Conditions it understands:
//! `=`, `<`, `<=`, `>`, `>=`, `BETWEEN` and `IN` against string literals, combined with `AND`;
//! any other condition keeps every table (correct, just not pruned).

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SelectItem, SetExpr,
    SetOperator, SetQuantifier, TableAlias, TableFactor, TableWithJoins, Value, VisitorMut,
    WildcardAdditionalOptions,
};

use super::unnest_from::{template_query, template_select};
use super::{string_lit, tryflow, unsupported};
use crate::SqlError;

/// Lists the tables of a dataset, so that wildcard tables can be expanded, and optionally
/// their columns.
///
/// Implemented for every `Fn(&str) -> Vec<String>`, so a closure over the catalog will do:
/// `rewrite_for_datafusion_with_tables(stmt, &|dataset: &str| catalog.tables(dataset))`.
pub trait TableLister {
    /// The names of the tables in `dataset`, without the dataset.
    fn tables(&self, dataset: &str) -> Vec<String>;

    /// The column names of a table, named as the statement writes it (`dataset.table` or
    /// `table`), or `None` when unknown (the default).
    ///
    /// With them the rewrite resolves the names GoogleSQL takes from an `UNNEST` of structs
    /// (`FROM t, UNNEST(t.params) AS p WHERE key = 'x'`, where `key` is a field of `p`
    /// unless `t` has such a column); without them those names stay as written and fail at
    /// planning.
    fn columns(&self, _table: &str) -> Option<Vec<String>> {
        None
    }
}

impl<F: Fn(&str) -> Vec<String>> TableLister for F {
    fn tables(&self, dataset: &str) -> Vec<String> {
        self(dataset)
    }
}

/// The lister of [`crate::rewrite_for_datafusion`]: it knows no tables.
pub(super) struct NoTables;

impl TableLister for NoTables {
    fn tables(&self, _dataset: &str) -> Vec<String> {
        Vec::new()
    }
}

pub(super) struct WildcardTables<'a> {
    lister: &'a dyn TableLister,
}

impl<'a> WildcardTables<'a> {
    pub(super) fn new(lister: &'a dyn TableLister) -> Self {
        Self { lister }
    }
}

impl VisitorMut for WildcardTables<'_> {
    type Break = SqlError;

    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<SqlError> {
        let ranges = select
            .selection
            .as_ref()
            .map(SuffixFilter::from_where)
            .unwrap_or_default();
        for twj in &mut select.from {
            tryflow!(self.expand(&mut twj.relation, &ranges));
            for join in &mut twj.joins {
                tryflow!(self.expand(&mut join.relation, &ranges));
            }
        }
        ControlFlow::Continue(())
    }
}

impl WildcardTables<'_> {
    fn expand(&self, relation: &mut TableFactor, filter: &SuffixFilter) -> Result<(), SqlError> {
        let TableFactor::Table { name, alias, .. } = relation else {
            return Ok(());
        };
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .flat_map(|v| v.split('.').map(str::to_string).collect::<Vec<_>>())
            .collect();
        let [.., dataset, table] = parts.as_slice() else {
            return Ok(());
        };
        let Some(prefix) = table.strip_suffix('*') else {
            return Ok(());
        };
        let at = Expr::Identifier(Ident::new(format!("{dataset}.{table}")));
        let mut matching: Vec<(String, String)> = self
            .lister
            .tables(dataset)
            .into_iter()
            .filter_map(|t| t.strip_prefix(prefix).map(|s| (t.clone(), s.to_string())))
            .collect();
        matching.sort();
        if matching.is_empty() {
            return Err(unsupported(
                format!("wildcard table {dataset}.{table} matching no table"),
                &at,
                "check the dataset and the prefix before `*`",
            ));
        }
        let kept: Vec<&(String, String)> =
            matching.iter().filter(|(_, s)| filter.admits(s)).collect();
        // With every table pruned, one table still gives the result its columns; it reads
        // nothing because its branch is `WHERE FALSE`.
        let (branches, empty) = if kept.is_empty() {
            (vec![&matching[0]], true)
        } else {
            (kept, false)
        };
        let mut body: Option<SetExpr> = None;
        for (table_name, suffix) in branches {
            let mut select = template_select(
                vec![
                    SelectItem::Wildcard(WildcardAdditionalOptions::default()),
                    SelectItem::ExprWithAlias {
                        expr: string_lit(suffix),
                        alias: Ident::new("_TABLE_SUFFIX"),
                    },
                ],
                vec![TableWithJoins {
                    relation: table_factor(dataset, table_name),
                    joins: vec![],
                }],
            );
            if empty {
                select.selection = Some(Expr::value(Value::Boolean(false)));
            }
            let branch = SetExpr::Select(Box::new(select));
            body = Some(match body {
                None => branch,
                Some(left) => SetExpr::SetOperation {
                    op: SetOperator::Union,
                    set_quantifier: SetQuantifier::AllByName,
                    left: Box::new(left),
                    right: Box::new(branch),
                },
            });
        }
        let Some(body) = body else {
            return Ok(());
        };
        let mut query: Query = template_query();
        query.body = Box::new(body);
        let alias = alias.clone().unwrap_or_else(|| TableAlias {
            explicit: true,
            name: Ident::with_quote('`', table.as_str()),
            columns: vec![],
            at: None,
        });
        *relation = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(query),
            alias: Some(alias),
            sample: None,
        };
        Ok(())
    }
}

fn table_factor(dataset: &str, table: &str) -> TableFactor {
    let name = ObjectName(vec![
        ObjectNamePart::Identifier(Ident::with_quote('`', dataset)),
        ObjectNamePart::Identifier(Ident::with_quote('`', table)),
    ]);
    TableFactor::Table {
        name,
        alias: None,
        args: None,
        with_hints: vec![],
        version: None,
        with_ordinality: false,
        partitions: vec![],
        json_path: None,
        sample: None,
        index_hints: vec![],
    }
}

/// What the `WHERE` clause says about `_TABLE_SUFFIX`: conditions that must all hold.
#[derive(Default)]
struct SuffixFilter {
    conditions: Vec<Condition>,
}

enum Condition {
    Compare(BinaryOperator, String),
    OneOf(Vec<String>),
}

impl SuffixFilter {
    fn from_where(selection: &Expr) -> Self {
        let mut filter = SuffixFilter::default();
        filter.collect(selection);
        filter
    }

    fn collect(&mut self, e: &Expr) {
        match e {
            Expr::Nested(inner) => self.collect(inner),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                self.collect(left);
                self.collect(right);
            }
            Expr::BinaryOp { left, op, right } => {
                if let (true, Some(lit)) = (is_suffix(left), string_value(right)) {
                    self.conditions.push(Condition::Compare(op.clone(), lit));
                } else if let (Some(lit), true) = (string_value(left), is_suffix(right)) {
                    if let Some(flipped) = flip(op) {
                        self.conditions.push(Condition::Compare(flipped, lit));
                    }
                }
            }
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } if is_suffix(expr) => {
                if let (Some(lo), Some(hi)) = (string_value(low), string_value(high)) {
                    self.conditions
                        .push(Condition::Compare(BinaryOperator::GtEq, lo));
                    self.conditions
                        .push(Condition::Compare(BinaryOperator::LtEq, hi));
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } if is_suffix(expr) => {
                let values: Option<Vec<String>> = list.iter().map(string_value).collect();
                if let Some(values) = values {
                    self.conditions.push(Condition::OneOf(values));
                }
            }
            _ => {}
        }
    }

    fn admits(&self, suffix: &str) -> bool {
        self.conditions.iter().all(|c| match c {
            Condition::OneOf(values) => values.iter().any(|v| v == suffix),
            Condition::Compare(op, v) => {
                let s = suffix;
                let v = v.as_str();
                match op {
                    BinaryOperator::Eq => s == v,
                    BinaryOperator::NotEq => s != v,
                    BinaryOperator::Lt => s < v,
                    BinaryOperator::LtEq => s <= v,
                    BinaryOperator::Gt => s > v,
                    BinaryOperator::GtEq => s >= v,
                    _ => true,
                }
            }
        })
    }
}

fn flip(op: &BinaryOperator) -> Option<BinaryOperator> {
    Some(match op {
        BinaryOperator::Eq => BinaryOperator::Eq,
        BinaryOperator::NotEq => BinaryOperator::NotEq,
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        _ => return None,
    })
}

fn is_suffix(e: &Expr) -> bool {
    match e {
        Expr::Identifier(i) => i.value.eq_ignore_ascii_case("_TABLE_SUFFIX"),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .is_some_and(|i| i.value.eq_ignore_ascii_case("_TABLE_SUFFIX")),
        _ => false,
    }
}

fn string_value(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}
