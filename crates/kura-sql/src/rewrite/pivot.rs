//! `FROM t PIVOT(agg(x) [AS a], … FOR col IN (v1 [AS n1], …))` as a grouped subquery.
//!
//! ```sql
//! FROM Produce PIVOT(SUM(sales) FOR quarter IN ('Q1', 'Q2'))
//! -- becomes
//! FROM (SELECT * EXCEPT (sales, quarter),
//!              SUM(sales) FILTER (WHERE quarter IS NOT DISTINCT FROM 'Q1') AS Q1,
//!              SUM(sales) FILTER (WHERE quarter IS NOT DISTINCT FROM 'Q2') AS Q2
//!       FROM Produce GROUP BY ALL)
//! ```
//!
//! GoogleSQL groups by every input column the aggregates and the `FOR` expression do not
//! read; without the input's schema those are `* EXCEPT (the columns they read)`, and
//! `GROUP BY ALL` groups by exactly the non-aggregate select items. `FILTER` keeps each
//! aggregate's meaning for any aggregate (`COUNT(*)` counts matching rows, `STRING_AGG`'s
//! delimiter is untouched), and `IS NOT DISTINCT FROM` lets `IN (NULL)` match NULLs, as
//! GoogleSQL does. Output columns are named as GoogleSQL names them: the value's alias or a
//! name derived from the value (`'Q1'` → `Q1`, `1` → `_1`, `-1` → `minus_1`,
//! `DATE '2013-11-25'` → `_2013_11_25`), prefixed by `<aggregate alias>_` when the aggregate
//! has one.
//!
//! Rejected with the construct named: several `FOR` columns, `IN (ANY …)` or a subquery, and
//! `DEFAULT ON NULL` (not GoogleSQL), values without an implied name (floats, expressions)
//! and without an alias, several aggregates without aliases.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, ExprWithAlias, GroupByExpr, Ident, PivotValueSource, SelectItem, SetExpr,
    TableAlias, TableFactor, TableWithJoins, UnaryOperator, Value,
};

use super::unnest_from::{template_query, template_select};
use super::{engine_name, unsupported, wildcard_except};
use crate::SqlError;

/// Rewrites `relation` when it is a `PIVOT`; other relations are left alone.
pub(super) fn rewrite(relation: &mut TableFactor) -> Result<(), SqlError> {
    let TableFactor::Pivot {
        table,
        aggregate_functions,
        value_column,
        value_source,
        default_on_null,
        alias,
    } = relation
    else {
        return Ok(());
    };
    let [for_expr] = value_column.as_slice() else {
        let at = value_column
            .first()
            .cloned()
            .unwrap_or(Expr::value(Value::Null));
        return Err(unsupported(
            "PIVOT over several FOR columns",
            &at,
            "pivot on one expression, e.g. a CONCAT of the columns",
        ));
    };
    if let Some(default) = default_on_null {
        return Err(unsupported(
            "PIVOT … DEFAULT ON NULL",
            default,
            "wrap the pivoted columns in IFNULL in the outer SELECT",
        ));
    }
    let PivotValueSource::List(values) = value_source else {
        return Err(unsupported(
            "PIVOT … IN (ANY …) or IN (subquery)",
            for_expr,
            "list the pivot values: IN ('a', 'b')",
        ));
    };
    if aggregate_functions.len() > 1 {
        if let Some(unnamed) = aggregate_functions.iter().find(|a| a.alias.is_none()) {
            return Err(unsupported(
                "PIVOT with several aggregates, one without an alias",
                &unnamed.expr,
                "name every aggregate: SUM(x) AS total, COUNT(*) AS n",
            ));
        }
    }

    let qualifier = qualifier_of(table);
    let mut read = Vec::new();
    for a in aggregate_functions.iter() {
        columns_read(&a.expr, qualifier.as_deref(), &mut read);
    }
    columns_read(for_expr, qualifier.as_deref(), &mut read);

    let mut projection = vec![SelectItem::Wildcard(
        wildcard_except(&read).unwrap_or_default(),
    )];
    for value in values.iter() {
        let value_name = value_name(value)?;
        for aggregate in aggregate_functions.iter() {
            let name = match &aggregate.alias {
                Some(a) => format!("{}_{value_name}", a.value),
                None => value_name.clone(),
            };
            projection.push(SelectItem::ExprWithAlias {
                expr: filtered(&aggregate.expr, for_expr, &value.expr)?,
                alias: Ident::new(name),
            });
        }
    }
    let mut select = template_select(
        projection,
        vec![TableWithJoins {
            relation: (**table).clone(),
            joins: vec![],
        }],
    );
    select.group_by = GroupByExpr::All(vec![]);
    *relation = derived(select, alias.take());
    Ok(())
}

/// `agg(…) FILTER (WHERE for_expr IS NOT DISTINCT FROM value)`.
fn filtered(aggregate: &Expr, for_expr: &Expr, value: &Expr) -> Result<Expr, SqlError> {
    let Expr::Function(f) = aggregate else {
        return Err(unsupported(
            "PIVOT over something other than an aggregate call",
            aggregate,
            "write PIVOT(SUM(x) FOR …) with an aggregate function",
        ));
    };
    let matches = Expr::IsNotDistinctFrom(Box::new(for_expr.clone()), Box::new(value.clone()));
    let mut f = f.clone();
    f.filter = Some(Box::new(match f.filter.take() {
        Some(existing) => Expr::BinaryOp {
            left: existing,
            op: BinaryOperator::And,
            right: Box::new(matches),
        },
        None => matches,
    }));
    Ok(Expr::Function(f))
}

/// The name GoogleSQL gives the column of an unaliased pivot value.
fn value_name(value: &ExprWithAlias) -> Result<String, SqlError> {
    if let Some(alias) = &value.alias {
        return Ok(alias.value.clone());
    }
    let name = match &value.expr {
        Expr::Value(v) => literal_name(&v.value, false),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => literal_name(&v.value, true),
            _ => None,
        },
        Expr::TypedString(t) if matches!(t.data_type, sqlparser::ast::DataType::Date) => {
            match &t.value.value {
                Value::SingleQuotedString(d) | Value::DoubleQuotedString(d) => {
                    Some(format!("_{}", d.replace('-', "_")))
                }
                _ => None,
            }
        }
        _ => None,
    };
    name.ok_or_else(|| {
        unsupported(
            format!("PIVOT value {} without an alias", value.expr),
            &value.expr,
            "give the value a column name: IN (1.5 AS one_and_a_half)",
        )
    })
}

fn literal_name(v: &Value, negative: bool) -> Option<String> {
    match v {
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) if s.is_empty() => {
            Some("empty_string_value".into())
        }
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) if !negative => Some(s.clone()),
        // Integer literals only: a literal with a point or exponent is a FLOAT64, which
        // GoogleSQL does not name.
        Value::Number(n, _) if n.chars().all(|c| c.is_ascii_digit()) => Some(if negative {
            format!("minus_{n}")
        } else {
            format!("_{n}")
        }),
        Value::Boolean(b) if !negative => Some(b.to_string()),
        Value::Null if !negative => Some("NULL".into()),
        _ => None,
    }
}

/// The name the pivot input is known by, to tell `t.col` from `struct_col.field`.
fn qualifier_of(table: &TableFactor) -> Option<String> {
    match table {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.value.to_lowercase())
        }
        TableFactor::Table { name, .. } => name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_lowercase()),
        _ => None,
    }
}

/// Adds the input columns `e` reads (as the engine names them) to `read`.
fn columns_read(e: &Expr, qualifier: Option<&str>, read: &mut Vec<Ident>) {
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        let column = match x {
            Expr::Identifier(i) => Some(i),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [head, column, ..] if qualifier == Some(head.value.to_lowercase().as_str()) => {
                    Some(column)
                }
                [head, ..] => Some(head),
                [] => None,
            },
            _ => None,
        };
        if let Some(c) = column {
            let c = engine_name(c);
            if !read.contains(&c) {
                read.push(c);
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `(SELECT …) [AS alias]`.
pub(super) fn derived(select: sqlparser::ast::Select, alias: Option<TableAlias>) -> TableFactor {
    let mut query = template_query();
    query.body = Box::new(SetExpr::Select(Box::new(select)));
    TableFactor::Derived {
        lateral: false,
        subquery: Box::new(query),
        alias,
        sample: None,
    }
}
