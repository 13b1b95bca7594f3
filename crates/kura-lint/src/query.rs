//! The parts of a statement the rules look at: its outermost projection and the time kinds of
//! the columns its CTEs and subqueries produce.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Select, SelectItem, SetExpr, Spanned, Statement, Visit, Visitor};
use sqlparser::tokenizer::Span;

use crate::time::{Classifier, Kind, Zone};

/// One column of the model's output, as written in a branch of the outermost SELECT.
pub(crate) struct OutputColumn<'a> {
    /// The alias, or the name of a bare column reference; `None` for an unnamed expression
    /// (BigQuery names those `f0_`, ...).
    pub name: Option<String>,
    /// Where the name is written (the alias), else where the expression is.
    pub name_span: Span,
    pub expr: &'a Expr,
    /// 0 for the first SELECT of a UNION, whose names the output takes.
    pub branch: usize,
}

/// The outermost projection: what the model's consumers see.
#[derive(Default)]
pub(crate) struct Projection<'a> {
    pub columns: Vec<OutputColumn<'a>>,
    /// `*`, `t.*`, `* EXCEPT (...)` items.
    pub wildcards: Vec<&'a SelectItem>,
    /// The SELECTs whose items these are, to leave out of the scope.
    pub selects: Vec<&'a Select>,
}

impl<'a> Projection<'a> {
    /// Finds the outermost projection of a query statement; empty for anything else.
    pub(crate) fn of(statement: &'a Statement) -> Projection<'a> {
        let mut projection = Projection::default();
        if let Statement::Query(query) = statement {
            let mut branch = 0;
            projection.walk(&query.body, &mut branch);
        }
        projection
    }

    fn walk(&mut self, body: &'a SetExpr, branch: &mut usize) {
        match body {
            SetExpr::Select(select) => {
                self.add(select, *branch);
                *branch += 1;
            }
            SetExpr::Query(query) => self.walk(&query.body, branch),
            SetExpr::SetOperation { left, right, .. } => {
                self.walk(left, branch);
                self.walk(right, branch);
            }
            _ => {}
        }
    }

    fn add(&mut self, select: &'a Select, branch: usize) {
        self.selects.push(select);
        let first_names: Vec<Option<String>> = if branch == 0 {
            Vec::new()
        } else {
            self.columns
                .iter()
                .filter(|c| c.branch == 0)
                .map(|c| c.name.clone())
                .collect()
        };
        for (index, item) in select.projection.iter().enumerate() {
            let (own_name, name_span, expr) = match item {
                SelectItem::ExprWithAlias { expr, alias } => {
                    (Some(alias.value.clone()), alias.span, expr)
                }
                SelectItem::UnnamedExpr(expr) => (column_name(expr), expr.span(), expr),
                SelectItem::ExprWithAliases { expr, .. } => (None, expr.span(), expr),
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    self.wildcards.push(item);
                    continue;
                }
            };
            let name = if branch == 0 {
                own_name
            } else {
                first_names.get(index).cloned().flatten()
            };
            self.columns.push(OutputColumn {
                name,
                name_span,
                expr,
                branch,
            });
        }
    }
}

/// The name BigQuery gives an unaliased column: a bare or qualified column reference's own.
fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        _ => None,
    }
}

/// The time kinds of columns produced inside the statement (CTEs, subqueries), by
/// lower-cased name, so `TIMESTAMP(dt)` can know what `dt` is.
///
/// Names are not scoped: a name two inner SELECTs define as different kinds is dropped as
/// unknown. Repeated until stable (CTEs built on CTEs), at most a few rounds.
pub(crate) fn column_kinds(
    statement: &Statement,
    outermost: &[&Select],
    local: &Zone,
) -> BTreeMap<String, Kind> {
    let skip: BTreeSet<*const Select> = outermost.iter().map(|s| *s as *const Select).collect();
    let mut scope = BTreeMap::new();
    for _ in 0..4 {
        let mut collector = Collector {
            local,
            scope: &scope,
            skip: &skip,
            found: BTreeMap::new(),
            conflicted: BTreeSet::new(),
        };
        let _ = statement.visit(&mut collector);
        let Collector {
            mut found,
            conflicted,
            ..
        } = collector;
        found.retain(|name, _| !conflicted.contains(name));
        let stable = found.len() == scope.len()
            && found
                .iter()
                .zip(scope.iter())
                .all(|((a, ka), (b, kb))| a == b && ka.same_as(kb));
        scope = found;
        if stable {
            break;
        }
    }
    scope
}

struct Collector<'s> {
    local: &'s Zone,
    scope: &'s BTreeMap<String, Kind>,
    skip: &'s BTreeSet<*const Select>,
    found: BTreeMap<String, Kind>,
    conflicted: BTreeSet<String>,
}

impl Visitor for Collector<'_> {
    type Break = ();

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        if self.skip.contains(&(select as *const Select)) {
            return ControlFlow::Continue(());
        }
        for item in &select.projection {
            let (name, expr) = match item {
                SelectItem::ExprWithAlias { expr, alias } => (alias.value.clone(), expr),
                SelectItem::UnnamedExpr(expr) => match column_name(expr) {
                    Some(name) => (name, expr),
                    None => continue,
                },
                _ => continue,
            };
            // A column passed through under its own name adds nothing the name lookup
            // would not find, and would shadow what an inner SELECT said about it.
            if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                && column_name(expr).is_some_and(|n| n.eq_ignore_ascii_case(&name))
            {
                continue;
            }
            // The item's own name inside its expression means the input column, which the
            // flat scope cannot tell from this output: fall back to name hints for it.
            let key = name.to_ascii_lowercase();
            let classifier = Classifier {
                local: self.local,
                scope: self.scope,
                shadow: Some(&key),
            };
            let Some(kind) = classifier.classify(expr) else {
                continue;
            };
            match self.found.get(&key) {
                Some(existing) if !existing.same_as(&kind) => {
                    self.conflicted.insert(key);
                }
                Some(_) => {}
                None => {
                    self.found.insert(key, kind);
                }
            }
        }
        ControlFlow::Continue(())
    }
}
