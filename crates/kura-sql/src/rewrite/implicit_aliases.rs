//! GoogleSQL's implicit aliases: the names of unaliased result columns and STRUCT fields.
//!
//! GoogleSQL names an unaliased select item after its identifier (`SELECT abc` → `abc`), the
//! last name of a path (`SELECT abc.def.ghi` → `ghi`) or a field access (`(f()).x` → `x`);
//! other expressions are anonymous and BigQuery labels them `f0_`, `f1_`, … counting only the
//! anonymous columns. DataFusion would name them after the expression's text
//! (`count(*)`, `p.value[int_value]`), so a model materialised by kura would get different
//! column names than on BigQuery. Only the outermost select list is named (the first branch
//! of a set operation, whose names the result takes), and `CREATE TABLE … AS SELECT`'s;
//! anonymous columns of inner queries cannot be referenced in GoogleSQL anyway. An `ORDER BY`
//! that repeats a newly named expression is pointed at the name, as DataFusion requires
//! under `SELECT DISTINCT`.
//!
//! A path is only aliased where the name cannot clash with another output column (no `*`,
//! no other item of that name), because DataFusion refuses duplicate output names where
//! GoogleSQL allows them; `table.column` needs no alias, DataFusion already names it `column`.
//!
//! The same rule names the fields of `STRUCT(a, t.b)`: `a` and `b`, where DataFusion would
//! say `c0` and `c1` (visible in `TO_JSON_STRING` and in the columns of a materialised
//! struct). Fields that are neither a name nor a path stay anonymous.

use std::collections::HashSet;

use sqlparser::ast::{AccessExpr, Expr, Ident, OrderByKind, Query, SelectItem, SetExpr, Statement};

/// Adds GoogleSQL's implicit aliases to the outermost select list of `stmt`, whose table
/// names, aliases and CTE names are `relations`.
pub(super) fn name_output_columns(stmt: &mut Statement, relations: &HashSet<String>) {
    match stmt {
        Statement::Query(q) => name_query(q, relations),
        Statement::CreateTable(create) => {
            if let Some(q) = &mut create.query {
                name_query(q, relations);
            }
        }
        _ => {}
    }
}

fn name_query(q: &mut Query, relations: &HashSet<String>) {
    let mut body = q.body.as_mut();
    let named = loop {
        match body {
            SetExpr::Select(select) => break name_items(&mut select.projection, relations),
            SetExpr::SetOperation { left, .. } => body = left.as_mut(),
            SetExpr::Query(inner) => body = inner.body.as_mut(),
            _ => return,
        }
    };
    if let Some(order_by) = &mut q.order_by {
        if let OrderByKind::Expressions(exprs) = &mut order_by.kind {
            for o in exprs {
                if let Some((_, alias)) = named.iter().find(|(e, _)| *e == o.expr) {
                    o.expr = Expr::Identifier(alias.clone());
                }
            }
        }
    }
}

/// Names the fields of `STRUCT(…)` that are names or paths; other expressions are left.
pub(super) fn name_struct_fields(e: &mut Expr) {
    let Expr::Struct { values, fields } = e else {
        return;
    };
    // Typed structs (`STRUCT<a INT64>(…)`) name their fields in the type.
    if !fields.is_empty() {
        return;
    }
    for value in values.iter_mut() {
        let name = match value {
            Expr::Identifier(i) => i.clone(),
            Expr::CompoundIdentifier(parts) => match parts.last() {
                Some(last) => last.clone(),
                None => continue,
            },
            _ => continue,
        };
        *value = Expr::Named {
            expr: Box::new(value.clone()),
            name,
        };
    }
}

/// What GoogleSQL calls an unaliased item.
enum Implied {
    /// DataFusion already gives it this name.
    Kept(String),
    /// A path or field access GoogleSQL names after its last part.
    Path(Ident),
    Anonymous,
}

fn implied(e: &Expr, relations: &HashSet<String>) -> Implied {
    match e {
        Expr::Identifier(i) => Implied::Kept(i.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [table, column] if relations.contains(&table.value.to_lowercase()) => {
                Implied::Kept(column.value.to_lowercase())
            }
            [.., last] => Implied::Path(last.clone()),
            [] => Implied::Anonymous,
        },
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last() {
            Some(AccessExpr::Dot(Expr::Identifier(field))) => Implied::Path(field.clone()),
            _ => Implied::Anonymous,
        },
        _ => Implied::Anonymous,
    }
}

/// Aliases the unaliased items of a select list; returns each expression given a new name.
fn name_items(items: &mut [SelectItem], relations: &HashSet<String>) -> Vec<(Expr, Ident)> {
    let mut taken: Vec<String> = Vec::new();
    let mut wildcard = false;
    for item in items.iter() {
        match item {
            SelectItem::ExprWithAlias { alias, .. } => taken.push(alias.value.to_lowercase()),
            SelectItem::ExprWithAliases { aliases, .. } => {
                taken.extend(aliases.iter().map(|a| a.value.to_lowercase()))
            }
            SelectItem::UnnamedExpr(e) => match implied(e, relations) {
                Implied::Kept(name) => taken.push(name),
                Implied::Path(i) => taken.push(i.value.to_lowercase()),
                Implied::Anonymous => {}
            },
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => wildcard = true,
        }
    }
    let mut anonymous = 0;
    let mut named = Vec::new();
    for item in items.iter_mut() {
        let SelectItem::UnnamedExpr(e) = item else {
            continue;
        };
        let alias = match implied(e, relations) {
            Implied::Kept(_) => continue,
            Implied::Path(name) => {
                let lower = name.value.to_lowercase();
                if wildcard || taken.iter().filter(|t| **t == lower).count() > 1 {
                    continue;
                }
                name
            }
            Implied::Anonymous => {
                let name = Ident::new(format!("f{anonymous}_"));
                anonymous += 1;
                name
            }
        };
        named.push((e.clone(), alias.clone()));
        *item = SelectItem::ExprWithAlias {
            expr: e.clone(),
            alias,
        };
    }
    named
}

#[cfg(test)]
mod tests {
    fn named(sql: &str) -> String {
        let mut stmt = crate::parse_one(sql).expect("parses");
        let relations = super::super::Relations::of(&stmt).names;
        super::name_output_columns(&mut stmt, &relations);
        stmt.to_string()
    }

    #[test]
    fn anonymous_columns_are_numbered_from_zero() {
        assert_eq!(
            named("SELECT customer, COUNT(*), MAX(amount) AS top, 1 + 1 FROM shop.orders GROUP BY customer"),
            "SELECT customer, COUNT(*) AS f0_, MAX(amount) AS top, 1 + 1 AS f1_ FROM shop.orders GROUP BY customer"
        );
    }

    #[test]
    fn paths_are_named_after_their_last_part() {
        assert_eq!(
            named("SELECT o.order_id, p.value.int_value, STRUCT(1 AS a).a FROM shop.orders AS o"),
            "SELECT o.order_id, p.value.int_value AS int_value, STRUCT(1 AS a).a AS a FROM shop.orders AS o"
        );
        // A clash would be a duplicate output name, which DataFusion refuses.
        assert_eq!(
            named("SELECT a.x.k, b.y.k FROM t"),
            "SELECT a.x.k, b.y.k FROM t"
        );
    }

    #[test]
    fn order_by_refers_to_the_new_name() {
        assert_eq!(
            named("SELECT DISTINCT UPPER(c) FROM t ORDER BY UPPER(c)"),
            "SELECT DISTINCT UPPER(c) AS f0_ FROM t ORDER BY f0_"
        );
    }

    #[test]
    fn struct_fields_take_the_names_of_their_paths() {
        let Ok(mut e) = sqlparser::parser::Parser::new(&sqlparser::dialect::BigQueryDialect {})
            .try_with_sql("STRUCT(a, t.b, 1 + 1, c AS d)")
            .and_then(|mut p| p.parse_expr())
        else {
            panic!("the expression parses");
        };
        super::name_struct_fields(&mut e);
        assert_eq!(e.to_string(), "STRUCT(a AS a, t.b AS b, 1 + 1, c AS d)");
    }

    #[test]
    fn only_the_outermost_select_list_is_named() {
        assert_eq!(
            named("SELECT n FROM (SELECT COUNT(*) AS n FROM t) UNION ALL SELECT 2"),
            "SELECT n FROM (SELECT COUNT(*) AS n FROM t) UNION ALL SELECT 2"
        );
        assert_eq!(
            named("SELECT 1 UNION ALL SELECT 2"),
            "SELECT 1 AS f0_ UNION ALL SELECT 2"
        );
    }
}
