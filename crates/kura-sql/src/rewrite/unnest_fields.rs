//! Unqualified fields of an `UNNEST` of structs in `FROM`:
//! `FROM t, UNNEST(t.params) AS p WHERE key = 'x'` and `SELECT value.int_value FROM t,
//! UNNEST(t.params)`.
//!
//! GoogleSQL makes the fields of each unnested struct visible as columns, next to the
//! columns of the other tables. DataFusion only sees the element (`p`), so such names are
//! qualified with it here: `key` becomes `p.key`, `value.int_value` becomes
//! `p.value.int_value`. Telling a field from a column needs the columns of every other
//! relation of the `FROM` clause, which only the catalog knows ([`TableLister::columns`]);
//! when one is unknown (a CTE, a table the lister cannot describe) nothing is rewritten and
//! an unqualified field fails at planning as before, never resolving to something else.
//!
//! A name is qualified when it is not a column of another relation, not the name or alias
//! of a relation, not the `WITH OFFSET` alias, and (in `GROUP BY`, `HAVING`, `QUALIFY` and
//! `ORDER BY`) not an output column. Only one `UNNEST` may be in the `FROM` clause; with
//! several, which one a field belongs to would need their element types. Names inside
//! subqueries and lambdas belong to their own scope and are left alone. The pass runs after
//! the expression rewrites, whose keyword arguments (`DATE_TRUNC(d, MONTH)`) look like names.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, GroupByExpr, Ident, OrderByKind, Query, Select, SelectItem, SetExpr, TableAlias,
    TableFactor, VisitMut, VisitorMut,
};

use super::TableLister;
use crate::SqlError;

/// The name given to an unaliased `UNNEST` whose fields are referenced.
const UNNAMED_ELEMENT: &str = "__unnest_element";

pub(super) struct UnnestFields<'a> {
    lister: &'a dyn TableLister,
    /// How many queries enclose the one being visited; 1 is the statement's own.
    depth: usize,
}

impl<'a> UnnestFields<'a> {
    pub(super) fn new(lister: &'a dyn TableLister) -> Self {
        Self { lister, depth: 0 }
    }
}

impl VisitorMut for UnnestFields<'_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, _q: &mut Query) -> ControlFlow<SqlError> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, q: &mut Query) -> ControlFlow<SqlError> {
        let outermost = self.depth == 1;
        self.depth -= 1;
        let SetExpr::Select(select) = q.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        let Some(scope) = Scope::of(select, self.lister, outermost) else {
            return ControlFlow::Continue(());
        };
        let outputs = output_names(select);
        let mut inputs = Qualifier {
            scope: &scope,
            outputs: None,
            depth: 0,
        };
        let mut grouped = Qualifier {
            scope: &scope,
            outputs: Some(&outputs),
            depth: 0,
        };
        for item in &mut select.projection {
            match item {
                SelectItem::UnnamedExpr(e) => {
                    // `SELECT key` keeps the name `key` once it reads `p.key`.
                    let name = match e {
                        Expr::Identifier(i) if scope.is_field(i) => Some(i.clone()),
                        _ => None,
                    };
                    let _ = e.visit(&mut inputs);
                    if let Some(alias) = name {
                        *item = SelectItem::ExprWithAlias {
                            expr: e.clone(),
                            alias,
                        };
                    }
                }
                SelectItem::ExprWithAlias { expr, .. } => {
                    let _ = expr.visit(&mut inputs);
                }
                _ => {}
            }
        }
        if let Some(w) = &mut select.selection {
            let _ = w.visit(&mut inputs);
        }
        if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
            for e in exprs {
                let _ = e.visit(&mut grouped);
            }
        }
        for e in [&mut select.having, &mut select.qualify]
            .into_iter()
            .flatten()
        {
            let _ = e.visit(&mut grouped);
        }
        if let Some(order_by) = &mut q.order_by {
            if let OrderByKind::Expressions(exprs) = &mut order_by.kind {
                for o in exprs {
                    let _ = o.expr.visit(&mut grouped);
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// What the `FROM` clause of one select makes visible.
struct Scope {
    /// The element of the one `UNNEST`, which unqualified fields are read from.
    element: Ident,
    /// Lower-cased names that are not fields: columns, relation names, aliases.
    taken: HashSet<String>,
}

impl Scope {
    /// The scope of `select`, naming its `UNNEST` if it has no alias; `None` when there is no
    /// single `UNNEST` or a relation's columns are unknown. An `UNNEST` alone in `FROM` only
    /// counts in the outermost query: in a subquery its other names may be correlated columns
    /// of the enclosing query, which this pass cannot see.
    fn of(select: &mut Select, lister: &dyn TableLister, outermost: bool) -> Option<Scope> {
        let relations: Vec<&mut TableFactor> = select
            .from
            .iter_mut()
            .flat_map(|twj| {
                std::iter::once(&mut twj.relation)
                    .chain(twj.joins.iter_mut().map(|j| &mut j.relation))
            })
            .collect();
        let unnests = relations
            .iter()
            .filter(|r| matches!(r, TableFactor::UNNEST { .. }))
            .count();
        if unnests != 1 || (relations.len() < 2 && !outermost) {
            return None;
        }
        let mut taken = HashSet::new();
        let mut unnest = None;
        for relation in relations {
            if matches!(relation, TableFactor::UNNEST { .. }) {
                unnest = Some(relation);
            } else {
                taken.extend(relation_names(relation));
                taken.extend(columns_of(relation, lister)?);
            }
        }
        // Every other relation is known: the UNNEST's fields can be told apart.
        let Some(TableFactor::UNNEST {
            alias,
            with_offset_alias,
            ..
        }) = unnest
        else {
            return None;
        };
        if let Some(o) = with_offset_alias {
            taken.insert(o.value.to_lowercase());
        }
        taken.insert("offset".to_string());
        let alias = alias.get_or_insert_with(|| TableAlias {
            explicit: true,
            name: Ident::new(UNNAMED_ELEMENT),
            columns: vec![],
            at: None,
        });
        taken.insert(alias.name.value.to_lowercase());
        Some(Scope {
            element: alias.name.clone(),
            taken,
        })
    }

    fn is_field(&self, i: &Ident) -> bool {
        !self.taken.contains(&i.value.to_lowercase())
    }

    fn qualify(&self, path: &[Ident]) -> Expr {
        let mut parts = vec![self.element.clone()];
        parts.extend_from_slice(path);
        Expr::CompoundIdentifier(parts)
    }
}

/// The name and alias a relation is referred to by.
fn relation_names(t: &TableFactor) -> Vec<String> {
    let mut names = Vec::new();
    match t {
        TableFactor::Table { name, alias, .. } => {
            if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
                names.push(last.value.to_lowercase());
                if let Some(table) = last.value.rsplit('.').next() {
                    names.push(table.to_lowercase());
                }
            }
            if let Some(a) = alias {
                names.push(a.name.value.to_lowercase());
            }
        }
        TableFactor::Derived { alias: Some(a), .. } => names.push(a.name.value.to_lowercase()),
        _ => {}
    }
    names
}

/// The lower-cased columns of a table or subquery, when they can be known.
fn columns_of(t: &TableFactor, lister: &dyn TableLister) -> Option<Vec<String>> {
    match t {
        TableFactor::Table {
            name, args: None, ..
        } => {
            let written = name
                .0
                .iter()
                .map(|p| p.as_ident().map(|i| i.value.clone()))
                .collect::<Option<Vec<_>>>()?
                .join(".");
            let columns = lister.columns(&written)?;
            Some(columns.into_iter().map(|c| c.to_lowercase()).collect())
        }
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            if let Some(a) = alias {
                if !a.columns.is_empty() {
                    return Some(
                        a.columns
                            .iter()
                            .map(|c| c.name.value.to_lowercase())
                            .collect(),
                    );
                }
            }
            query_columns(subquery, lister)
        }
        _ => None,
    }
}

/// The output columns of a query: a select list of named items and `*` over known relations
/// (as wildcard tables expand to), or the first branch of a set operation.
fn query_columns(q: &Query, lister: &dyn TableLister) -> Option<Vec<String>> {
    let mut body = q.body.as_ref();
    let select = loop {
        match body {
            SetExpr::Select(s) => break s,
            SetExpr::SetOperation { left, .. } => body = left.as_ref(),
            SetExpr::Query(inner) => body = inner.body.as_ref(),
            _ => return None,
        }
    };
    let mut columns = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::ExprWithAlias { alias, .. } => columns.push(alias.value.to_lowercase()),
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => columns.push(i.value.to_lowercase()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                columns.push(parts.last()?.value.to_lowercase())
            }
            SelectItem::Wildcard(options)
                if options.opt_except.is_none() && options.opt_exclude.is_none() =>
            {
                for twj in &select.from {
                    columns.extend(columns_of(&twj.relation, lister)?);
                    for j in &twj.joins {
                        columns.extend(columns_of(&j.relation, lister)?);
                    }
                }
            }
            _ => return None,
        }
    }
    Some(columns)
}

/// Lower-cased names of a select's output columns, which `GROUP BY`, `HAVING`, `QUALIFY` and
/// `ORDER BY` may refer to.
fn output_names(select: &Select) -> HashSet<String> {
    select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(i.value.to_lowercase()),
            _ => None,
        })
        .collect()
}

/// Qualifies field names in one expression, outside subqueries and lambdas.
struct Qualifier<'s> {
    scope: &'s Scope,
    /// Output names that win over fields, where the clause may refer to them.
    outputs: Option<&'s HashSet<String>>,
    /// How many subqueries or lambdas enclose the current expression.
    depth: usize,
}

impl Qualifier<'_> {
    fn is_field(&self, i: &Ident) -> bool {
        self.scope.is_field(i)
            && !self
                .outputs
                .is_some_and(|o| o.contains(&i.value.to_lowercase()))
    }
}

impl VisitorMut for Qualifier<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, _q: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if matches!(e, Expr::Lambda(_)) {
            self.depth += 1;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if matches!(e, Expr::Lambda(_)) {
            self.depth -= 1;
            return ControlFlow::Continue(());
        }
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let replacement = match e {
            Expr::Identifier(i) if self.is_field(i) => self.scope.qualify(std::slice::from_ref(i)),
            Expr::CompoundIdentifier(parts)
                if parts.first().is_some_and(|head| self.is_field(head)) =>
            {
                self.scope.qualify(parts)
            }
            _ => return ControlFlow::Continue(()),
        };
        *e = replacement;
        ControlFlow::Continue(())
    }
}
