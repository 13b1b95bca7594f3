//! `FROM t UNPIVOT [INCLUDE NULLS | EXCLUDE NULLS] (v FOR name IN (c1 [AS 'l1'], …))` as a
//! subquery that unnests the columns into rows.
//!
//! ```sql
//! FROM Produce UNPIVOT(sales FOR quarter IN (Q1, Q2))
//! -- becomes
//! FROM (SELECT * FROM (SELECT * EXCEPT (q1, q2),
//!                             unnest(make_array(Q1, Q2)) AS sales,
//!                             unnest(make_array('Q1', 'Q2')) AS quarter
//!                      FROM Produce)
//!       WHERE sales IS NOT NULL)
//! ```
//!
//! Each input row is read once; `unnest` calls in one select list advance together, so each
//! output row pairs a value with its label. A multi-column unpivot
//! (`(a, b) FOR n IN ((c1, c2) AS 'x', (c3, c4) AS 'y')`) unnests one array per value column.
//! As in GoogleSQL, rows whose value columns are all NULL are dropped unless `INCLUDE NULLS`
//! is given, labels default to the column name (joined with `_` for a column set), and the
//! output has the remaining input columns, then the value columns, then the label column.

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, NullInclusion, SelectItem, TableFactor, TableWithJoins,
};

use super::pivot::derived;
use super::unnest_from::template_select;
use super::{call, engine_name, string_lit, unsupported, wildcard_except};
use crate::SqlError;

/// Rewrites `relation` when it is an `UNPIVOT`; other relations are left alone.
pub(super) fn rewrite(relation: &mut TableFactor) -> Result<(), SqlError> {
    let TableFactor::Unpivot {
        table,
        value,
        name,
        columns,
        null_inclusion,
        alias,
    } = relation
    else {
        return Ok(());
    };
    let value_columns = column_list(value)?;
    let mut sets: Vec<Vec<Ident>> = Vec::with_capacity(columns.len());
    let mut labels = Vec::with_capacity(columns.len());
    for c in columns.iter() {
        let set = column_list(&c.expr)?;
        if set.len() != value_columns.len() {
            return Err(unsupported(
                format!(
                    "UNPIVOT column set {} for {} value column(s)",
                    c.expr,
                    value_columns.len()
                ),
                &c.expr,
                "give every column set as many columns as there are value columns",
            ));
        }
        labels.push(match &c.alias {
            Some(a) => a.value.clone(),
            None => set
                .iter()
                .map(|i| i.value.as_str())
                .collect::<Vec<_>>()
                .join("_"),
        });
        sets.push(set);
    }

    let mut unpivoted: Vec<Ident> = Vec::new();
    for column in sets.iter().flatten() {
        let column = engine_name(column);
        if !unpivoted.contains(&column) {
            unpivoted.push(column);
        }
    }
    let mut projection = vec![SelectItem::Wildcard(
        wildcard_except(&unpivoted).unwrap_or_default(),
    )];
    for (j, value_column) in value_columns.iter().enumerate() {
        let elements = sets
            .iter()
            .map(|set| Expr::Identifier(set[j].clone()))
            .collect();
        projection.push(SelectItem::ExprWithAlias {
            expr: call("unnest", vec![call("make_array", elements)]),
            alias: value_column.clone(),
        });
    }
    let label_array = call("make_array", labels.iter().map(|l| string_lit(l)).collect());
    projection.push(SelectItem::ExprWithAlias {
        expr: call("unnest", vec![label_array]),
        alias: name.clone(),
    });
    let rows = template_select(
        projection,
        vec![TableWithJoins {
            relation: (**table).clone(),
            joins: vec![],
        }],
    );
    let mut kept = template_select(
        vec![SelectItem::Wildcard(Default::default())],
        vec![TableWithJoins {
            relation: derived(rows, None),
            joins: vec![],
        }],
    );
    if *null_inclusion != Some(NullInclusion::IncludeNulls) {
        // GoogleSQL keeps a row when at least one of its value columns is not NULL.
        kept.selection = value_columns
            .iter()
            .map(|c| Expr::IsNotNull(Box::new(Expr::Identifier(c.clone()))))
            .reduce(|a, b| Expr::BinaryOp {
                left: Box::new(a),
                op: BinaryOperator::Or,
                right: Box::new(b),
            });
    }
    *relation = derived(kept, alias.take());
    Ok(())
}

/// `c` or `(c1, c2)` as a list of column names.
fn column_list(e: &Expr) -> Result<Vec<Ident>, SqlError> {
    match e {
        Expr::Identifier(i) => Ok(vec![i.clone()]),
        Expr::Nested(inner) => column_list(inner),
        Expr::Tuple(items) => items
            .iter()
            .map(|item| match item {
                Expr::Identifier(i) => Ok(i.clone()),
                other => Err(not_a_column(other)),
            })
            .collect(),
        other => Err(not_a_column(other)),
    }
}

fn not_a_column(e: &Expr) -> SqlError {
    unsupported(
        format!("UNPIVOT of {e}, which is not a column name"),
        e,
        "UNPIVOT names unqualified columns; compute expressions in a subquery first",
    )
}
