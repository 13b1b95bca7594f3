//! `FROM t, UNNEST(t.arr) AS x [WITH OFFSET AS o]`, `CROSS JOIN UNNEST(…)`,
//! `[INNER] JOIN UNNEST(…) ON TRUE`, `LEFT JOIN UNNEST(…) ON TRUE`, and `FROM UNNEST(…) AS x`.
//!
//! DataFusion has no correlated (lateral) `UNNEST` in `FROM`, but it unnests in the select
//! list, one output row per element, which is the same join. So
//!
//! ```sql
//! FROM t, UNNEST(t.arr) AS x WITH OFFSET AS o
//! -- becomes
//! FROM (SELECT t.*, unnest(t.arr) AS x, unnest(range(0, cardinality(t.arr))) AS o FROM t) AS t
//! ```
//!
//! The derived table keeps the left side's name, so `t.col` and `x.field` resolve as before.
//! Several `unnest` calls in one select list advance together, which gives the offsets.
//! `LEFT JOIN` unnests `[NULL]` in place of an empty or NULL array, so the row stays with a NULL
//! element, as in GoogleSQL.
//!
//! Not yet: an `UNNEST` whose left side is itself a join of several tables (the derived table
//! could not keep both names), and join conditions other than `ON TRUE`; both are rejected.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, Join, JoinConstraint, JoinOperator, ObjectName, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, TableAlias, TableFactor, TableWithJoins,
    Value, VisitorMut, WildcardAdditionalOptions,
};

use super::functions::case_when;
use super::{call, number_lit, tryflow, unsupported};
use crate::SqlError;

#[derive(Default)]
pub(super) struct UnnestFrom {
    fresh: usize,
}

impl VisitorMut for UnnestFrom {
    type Break = SqlError;

    fn post_visit_select(&mut self, select: &mut Select) -> ControlFlow<SqlError> {
        tryflow!(self.rewrite(select));
        ControlFlow::Continue(())
    }
}

/// How an `UNNEST` joins what is on its left.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Inner,
    Left,
}

impl UnnestFrom {
    fn rewrite(&mut self, select: &mut Select) -> Result<(), SqlError> {
        if !select.from.iter().any(has_unnest) {
            return Ok(());
        }
        // Flatten `a, b JOIN c` into one chain: comma joins are cross joins.
        let mut items = std::mem::take(&mut select.from).into_iter();
        let Some(first) = items.next() else {
            return Ok(());
        };
        let mut left = self.standalone(first.relation)?;
        let mut joins: Vec<Join> = Vec::new();
        let mut chain: Vec<(TableFactor, Option<JoinOperator>)> = first
            .joins
            .into_iter()
            .map(|j| (j.relation, Some(j.join_operator)))
            .collect();
        for twj in items {
            chain.push((twj.relation, None));
            chain.extend(
                twj.joins
                    .into_iter()
                    .map(|j| (j.relation, Some(j.join_operator))),
            );
        }
        for (relation, op) in chain {
            if !matches!(relation, TableFactor::UNNEST { .. }) {
                joins.push(Join {
                    relation,
                    global: false,
                    join_operator: op.unwrap_or(JoinOperator::CrossJoin(JoinConstraint::None)),
                });
                continue;
            }
            let kind = match &op {
                None | Some(JoinOperator::CrossJoin(JoinConstraint::None)) => Kind::Inner,
                Some(JoinOperator::Join(c) | JoinOperator::Inner(c)) if is_on_true(c) => Kind::Inner,
                Some(JoinOperator::Left(c) | JoinOperator::LeftOuter(c)) if is_on_true(c) => Kind::Left,
                Some(_) => {
                    return Err(unsupported(
                        "UNNEST joined with a condition other than ON TRUE",
                        &unnest_expr(&relation),
                        "join UNNEST with a comma, CROSS JOIN, or LEFT JOIN … ON TRUE, and filter in WHERE",
                    ))
                }
            };
            if !joins.is_empty() {
                return Err(unsupported(
                    "UNNEST after a join of several tables",
                    &unnest_expr(&relation),
                    "unnest in a subquery over one table, then join its result",
                ));
            }
            left = self.wrap(left, relation, kind)?;
        }
        select.from = vec![TableWithJoins {
            relation: left,
            joins,
        }];
        Ok(())
    }

    /// A leading `FROM UNNEST(…) AS x` becomes a derived table whose column is named `x`.
    fn standalone(&mut self, relation: TableFactor) -> Result<TableFactor, SqlError> {
        let TableFactor::UNNEST { .. } = &relation else {
            return Ok(relation);
        };
        let projection = self.unnest_items(&relation, Kind::Inner)?;
        let name = self.fresh_name();
        Ok(derived(template_select(projection, vec![]), &name))
    }

    fn wrap(
        &mut self,
        left: TableFactor,
        unnest: TableFactor,
        kind: Kind,
    ) -> Result<TableFactor, SqlError> {
        let (left, name) = match left {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                let qualifier = match &alias {
                    Some(a) => a.name.clone(),
                    None => name
                        .0
                        .last()
                        .and_then(|p| p.as_ident())
                        .cloned()
                        .unwrap_or_else(|| Ident::new("t")),
                };
                let alias = alias.or_else(|| Some(table_alias(&qualifier.value)));
                (
                    TableFactor::Table {
                        name,
                        alias,
                        args,
                        with_hints,
                        version,
                        with_ordinality,
                        partitions,
                        json_path,
                        sample,
                        index_hints,
                    },
                    qualifier,
                )
            }
            TableFactor::Derived {
                alias: Some(ref alias),
                ..
            } => {
                let name = alias.name.clone();
                (left, name)
            }
            _ => {
                return Err(unsupported(
                    "UNNEST joined to an unnamed subquery",
                    &unnest_expr(&unnest),
                    "give the subquery an alias",
                ))
            }
        };
        let items = self.unnest_items(&unnest, kind)?;
        let mut projection = vec![SelectItem::QualifiedWildcard(
            SelectItemQualifiedWildcardKind::ObjectName(ObjectName::from(vec![name.clone()])),
            WildcardAdditionalOptions::default(),
        )];
        projection.extend(items);
        let select = template_select(
            projection,
            vec![TableWithJoins {
                relation: left,
                joins: vec![],
            }],
        );
        Ok(derived(select, &name.value))
    }

    /// `unnest(arr) AS x` and, for `WITH OFFSET`, `unnest(range(0, cardinality(arr))) AS o`.
    fn unnest_items(
        &mut self,
        unnest: &TableFactor,
        kind: Kind,
    ) -> Result<Vec<SelectItem>, SqlError> {
        let TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset,
            with_offset_alias,
            with_ordinality,
        } = unnest
        else {
            unreachable!("called on UNNEST only");
        };
        let [array] = array_exprs.as_slice() else {
            return Err(unsupported(
                "UNNEST of several arrays",
                &unnest_expr(unnest),
                "unnest one array per UNNEST",
            ));
        };
        if *with_ordinality {
            return Err(unsupported(
                "UNNEST … WITH ORDINALITY",
                array,
                "use WITH OFFSET (0-based)",
            ));
        }
        let source = match kind {
            Kind::Inner => array.clone(),
            Kind::Left => case_when(
                Expr::BinaryOp {
                    left: Box::new(call("cardinality", vec![array.clone()])),
                    op: BinaryOperator::Gt,
                    right: Box::new(number_lit(0)),
                },
                array.clone(),
                Some(call("make_array", vec![Expr::value(Value::Null)])),
            ),
        };
        let element = match alias {
            Some(a) => a.name.clone(),
            None => Ident::new(self.fresh_name()),
        };
        let mut items = vec![SelectItem::ExprWithAlias {
            expr: call("unnest", vec![source]),
            alias: element,
        }];
        if *with_offset {
            let offsets = call(
                "range",
                vec![number_lit(0), call("cardinality", vec![array.clone()])],
            );
            items.push(SelectItem::ExprWithAlias {
                expr: call("unnest", vec![offsets]),
                alias: with_offset_alias
                    .clone()
                    .unwrap_or_else(|| Ident::new("offset")),
            });
        }
        Ok(items)
    }

    fn fresh_name(&mut self) -> String {
        self.fresh += 1;
        format!("__unnest_{}", self.fresh)
    }
}

fn has_unnest(twj: &TableWithJoins) -> bool {
    matches!(twj.relation, TableFactor::UNNEST { .. })
        || twj
            .joins
            .iter()
            .any(|j| matches!(j.relation, TableFactor::UNNEST { .. }))
}

fn is_on_true(c: &JoinConstraint) -> bool {
    match c {
        JoinConstraint::On(Expr::Value(v)) => v.value == Value::Boolean(true),
        _ => false,
    }
}

fn unnest_expr(t: &TableFactor) -> Expr {
    match t {
        TableFactor::UNNEST { array_exprs, .. } => array_exprs
            .first()
            .cloned()
            .unwrap_or_else(|| Expr::value(Value::Null)),
        _ => Expr::value(Value::Null),
    }
}

fn table_alias(name: &str) -> TableAlias {
    TableAlias {
        explicit: true,
        name: Ident::new(name),
        columns: vec![],
        at: None,
    }
}

fn derived(select: Select, alias: &str) -> TableFactor {
    let mut query = template_query();
    query.body = Box::new(SetExpr::Select(Box::new(select)));
    TableFactor::Derived {
        lateral: false,
        subquery: Box::new(query),
        alias: Some(table_alias(alias)),
        sample: None,
    }
}

/// `SELECT 1` as parsed, so that new queries get every field of sqlparser's structs in their
/// neutral state without this module naming them all. Parsed once: a rewrite builds dozens of
/// queries (a wildcard table over a month is 31), and a parse costs far more than a clone.
pub(crate) fn template_query() -> Query {
    static TEMPLATE: std::sync::OnceLock<Query> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| match crate::parse_one("SELECT 1") {
            Ok(sqlparser::ast::Statement::Query(q)) => *q,
            _ => unreachable!("SELECT 1 parses as a query"),
        })
        .clone()
}

pub(crate) fn template_select(projection: Vec<SelectItem>, from: Vec<TableWithJoins>) -> Select {
    let query = template_query();
    let SetExpr::Select(mut select) = *query.body else {
        unreachable!("SELECT 1 is a plain select");
    };
    select.projection = projection;
    select.from = from;
    *select
}
