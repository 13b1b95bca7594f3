//! Subqueries over one `UNNEST`, the GA4 idiom, as vectorised array functions:
//!
//! ```sql
//! (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_location')
//! -- becomes
//! array_element(array_transform(array_filter(event_params, __e -> __e.key = 'page_location'),
//!                               __e -> __e.value.string_value), 1)
//! ```
//!
//! DataFusion would otherwise need to decorrelate a subquery over an outer column, which it
//! cannot; the array form runs once per batch. Also handled: `(SELECT COUNT(*) FROM UNNEST…)`
//! → `coalesce(cardinality(array_filter(…)), 0)`, `EXISTS(SELECT … FROM UNNEST…)`, and
//! `ARRAY(SELECT … FROM UNNEST…)`.
//!
//! Inside the subquery an unqualified name is an element field (GoogleSQL resolves the inner
//! scope first) unless it names a table of the statement; with `UNNEST(…) AS p`, `p` is the
//! element.
//!
//! Known gap: GoogleSQL fails a scalar subquery that returns more than one row; here the first
//! matching element is taken.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArguments, GroupByExpr, Ident, LambdaFunction,
    LambdaFunctionParameter, LambdaSyntax, OneOrManyWithParens, Query, SelectItem, SetExpr,
    TableFactor, VisitMut, VisitorMut,
};

use super::{call, function_name, number_lit, string_lit};
use crate::SqlError;

const ELEMENT: &str = "__e";

pub(super) fn rewrite(expr: &mut Expr, tables: &HashSet<String>) -> Result<(), SqlError> {
    let replacement = match expr {
        Expr::Subquery(q) => scalar(q, tables),
        Expr::Exists { subquery, negated } => exists(subquery, tables).map(|e| {
            if *negated {
                Expr::UnaryOp {
                    op: sqlparser::ast::UnaryOperator::Not,
                    expr: Box::new(e),
                }
            } else {
                e
            }
        }),
        Expr::Function(f) if function_name(f) == "ARRAY" => match &f.args {
            FunctionArguments::Subquery(q) => {
                over_unnest(q, tables).and_then(|o| o.projected().map(|(arr, _)| arr))
            }
            _ => None,
        },
        _ => None,
    };
    if let Some(r) = replacement {
        *expr = r;
    }
    Ok(())
}

/// A subquery of the shape `SELECT <one item> FROM UNNEST(arr) [AS p] [WHERE cond]`.
struct OverUnnest {
    filtered: Expr,
    item: Expr,
    param: Ident,
}

impl OverUnnest {
    /// The projected array and whether the projection is the element itself.
    fn projected(&self) -> Option<(Expr, bool)> {
        if self.item == Expr::Identifier(self.param.clone()) {
            return Some((self.filtered.clone(), true));
        }
        Some((
            call(
                "array_transform",
                vec![
                    self.filtered.clone(),
                    lambda(&self.param, self.item.clone()),
                ],
            ),
            false,
        ))
    }
}

fn scalar(q: &Query, tables: &HashSet<String>) -> Option<Expr> {
    let o = over_unnest(q, tables)?;
    if is_count_star(&o.item) {
        return Some(count(o.filtered));
    }
    if contains_aggregate(&o.item) {
        return None;
    }
    let (arr, _) = o.projected()?;
    Some(call("array_element", vec![arr, number_lit(1)]))
}

fn exists(q: &Query, tables: &HashSet<String>) -> Option<Expr> {
    let o = over_unnest(q, tables)?;
    Some(Expr::BinaryOp {
        left: Box::new(count(o.filtered)),
        op: BinaryOperator::Gt,
        right: Box::new(number_lit(0)),
    })
}

/// The number of elements; 0 for a NULL array, which `UNNEST` reads as empty.
fn count(array: Expr) -> Expr {
    call(
        "coalesce",
        vec![call("cardinality", vec![array]), number_lit(0)],
    )
}

fn over_unnest(q: &Query, tables: &HashSet<String>) -> Option<OverUnnest> {
    if q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
        return None;
    }
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    if s.distinct.is_some()
        || s.having.is_some()
        || s.qualify.is_some()
        || !s.named_window.is_empty()
        || !matches!(&s.group_by, GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
    {
        return None;
    }
    let [from] = s.from.as_slice() else {
        return None;
    };
    if !from.joins.is_empty() {
        return None;
    }
    let TableFactor::UNNEST {
        alias,
        array_exprs,
        with_offset: false,
        with_ordinality: false,
        ..
    } = &from.relation
    else {
        return None;
    };
    let [array] = array_exprs.as_slice() else {
        return None;
    };
    let [item] = s.projection.as_slice() else {
        return None;
    };
    let item = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
        _ => return None,
    };
    let (param, alias_name) = match alias {
        Some(a) => (a.name.clone(), Some(a.name.value.clone())),
        None => (Ident::new(ELEMENT), None),
    };
    let mut fields = ElementFields {
        param: param.clone(),
        alias: alias_name,
        tables,
    };
    let mut item = item;
    let _ = item.visit(&mut fields);
    let filtered = match &s.selection {
        Some(cond) => {
            let mut cond = cond.clone();
            let _ = cond.visit(&mut fields);
            call("array_filter", vec![array.clone(), lambda(&param, cond)])
        }
        None => array.clone(),
    };
    Some(OverUnnest {
        filtered,
        item,
        param,
    })
}

fn lambda(param: &Ident, body: Expr) -> Expr {
    Expr::Lambda(LambdaFunction {
        params: OneOrManyWithParens::One(LambdaFunctionParameter {
            name: param.clone(),
            data_type: None,
        }),
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    })
}

fn is_count_star(e: &Expr) -> bool {
    let Expr::Function(f) = e else {
        return false;
    };
    function_name(f) == "COUNT"
        && matches!(&f.args, FunctionArguments::List(l) if l.args.len() == 1
            && matches!(&l.args[0], sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Wildcard)))
}

fn contains_aggregate(e: &Expr) -> bool {
    const AGGREGATES: &[&str] = &[
        "COUNT",
        "SUM",
        "AVG",
        "MIN",
        "MAX",
        "ARRAY_AGG",
        "STRING_AGG",
        "COUNTIF",
        "LOGICAL_AND",
        "LOGICAL_OR",
        "ANY_VALUE",
    ];
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        if let Expr::Function(f) = x {
            if AGGREGATES.contains(&function_name(f).as_str()) {
                found = true;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Turns names that refer to the unnested element into field accesses on the lambda parameter.
struct ElementFields<'a> {
    param: Ident,
    alias: Option<String>,
    tables: &'a HashSet<String>,
}

impl ElementFields<'_> {
    fn access(&self, path: &[Ident]) -> Expr {
        path.iter()
            .fold(Expr::Identifier(self.param.clone()), |base, field| {
                call("get_field", vec![base, string_lit(&field.value)])
            })
    }

    fn is_alias(&self, i: &Ident) -> bool {
        self.alias
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(&i.value))
    }
}

impl VisitorMut for ElementFields<'_> {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let replacement = match expr {
            Expr::Identifier(i) if self.is_alias(i) => Expr::Identifier(self.param.clone()),
            Expr::Identifier(i)
                if self.alias.is_none() && !self.tables.contains(&i.value.to_lowercase()) =>
            {
                self.access(std::slice::from_ref(i))
            }
            Expr::CompoundIdentifier(parts) => match parts.split_first() {
                Some((head, rest)) if self.is_alias(head) => self.access(rest),
                Some((head, _))
                    if self.alias.is_none()
                        && !self.tables.contains(&head.value.to_lowercase()) =>
                {
                    self.access(parts)
                }
                _ => return ControlFlow::Continue(()),
            },
            _ => return ControlFlow::Continue(()),
        };
        *expr = replacement;
        ControlFlow::Continue(())
    }
}
