//! Rewrites GoogleSQL statements into forms DataFusion plans with the same meaning.
//!
//! The engine plans the AST sqlparser's BigQuery dialect produces. Where DataFusion does not
//! accept a GoogleSQL form (type names, argument orders, `UNNEST` joins, `OFFSET` subscripts,
//! wildcard tables…) one module here rewrites the tree, using [`VisitorMut`] so that strings,
//! comments and identifiers are never touched by accident. Each module owns one idea; the
//! functions DataFusion lacks altogether live in `kura-functions` as UDFs, and the rewrites
//! here only rename calls to them where GoogleSQL's name collides with a DataFusion builtin of
//! different meaning.
//!
//! Rewrites run bottom-up (children before parents), so a rewrite sees arguments that are
//! already in DataFusion form. The order of the passes: the statement's relations with
//! wildcard tables expanded (one walk), output column names (decided on the query as written),
//! `PIVOT`/`UNPIVOT`, expressions, unqualified fields of an `UNNEST`, then `UNNEST` joins.
//! A pass is skipped when the statement has nothing it acts on: each walk of a 200-line
//! model costs about as much as a tenth of its parse.

mod array_subscript;
mod date_arith;
mod date_trunc;
mod functions;
mod implicit_aliases;
mod in_unnest;
mod pivot;
mod types;
mod unnest_fields;
mod unnest_from;
mod unnest_subquery;
mod unpivot;
mod wildcard_table;

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    ObjectName, ObjectNamePart, Query, Statement, TableFactor, Value, ValueWithSpan, Visit,
    VisitMut, Visitor, VisitorMut,
};

use crate::SqlError;

pub use wildcard_table::TableLister;

/// Rewrites one GoogleSQL statement into the form DataFusion plans with the same result.
///
/// Wildcard tables (`dataset.events_*`) need to know which tables exist; use
/// [`rewrite_for_datafusion_with_tables`] for statements that may name them. This entry point
/// rejects them with [`SqlError::Unsupported`].
///
/// # Errors
/// [`SqlError::Unsupported`] naming the construct and its position when a GoogleSQL form has
/// no equivalent kura can plan (never a silently different answer).
pub fn rewrite_for_datafusion(stmt: Statement) -> Result<Statement, SqlError> {
    rewrite_for_datafusion_with_tables(stmt, &wildcard_table::NoTables)
}

/// As [`rewrite_for_datafusion`], expanding wildcard tables with the tables `tables` lists.
///
/// `dataset.prefix*` becomes a `UNION ALL` of the matching tables whose suffix can satisfy the
/// `_TABLE_SUFFIX` conditions of the `WHERE` clause, each with its suffix as a `_TABLE_SUFFIX`
/// column; tables outside the range are not named, so they are never read. When `tables` also
/// knows columns ([`TableLister::columns`]), unqualified fields of an `UNNEST` of structs
/// (`FROM t, UNNEST(t.params) AS p WHERE key = 'x'`) resolve as in GoogleSQL.
///
/// # Errors
/// As [`rewrite_for_datafusion`]; [`SqlError::Unsupported`] also when a wildcard matches no
/// table.
pub fn rewrite_for_datafusion_with_tables(
    mut stmt: Statement,
    tables: &dyn TableLister,
) -> Result<Statement, SqlError> {
    // Every pass is a walk of the whole tree, the bulk of the rewrite's cost; the first walk
    // both learns the statement's relations and expands wildcard tables, and the passes that
    // only act on constructs the statement lacks are skipped.
    let mut first = RelationsAndWildcards {
        relations: Relations::default(),
        wildcard: wildcard_table::WildcardTables::new(tables),
    };
    run(&mut stmt, &mut first)?;
    let mut relations = first.relations;
    // Names are decided by the expressions as the user wrote them: the wildcard expansion
    // only replaced tables in FROM clauses, which naming does not look at.
    implicit_aliases::name_output_columns(&mut stmt, &relations.names);
    if relations.table_operators {
        run(&mut stmt, &mut TableOperators)?;
        relations = Relations::of(&stmt);
    }
    let mut exprs = ExprRewriter {
        tables: relations.names,
        unnest_in_from: false,
    };
    run(&mut stmt, &mut exprs)?;
    if exprs.unnest_in_from {
        run(&mut stmt, &mut unnest_fields::UnnestFields::new(tables))?;
        let mut from = unnest_from::UnnestFrom::default();
        run(&mut stmt, &mut from)?;
    }
    Ok(stmt)
}

fn run<V: VisitorMut<Break = SqlError>>(stmt: &mut Statement, v: &mut V) -> Result<(), SqlError> {
    match stmt.visit(v) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(err) => Err(err),
    }
}

/// Breaks out of a visit with the first rewrite error.
macro_rules! tryflow {
    ($e:expr) => {
        if let Err(err) = $e {
            return ControlFlow::Break(err);
        }
    };
}
pub(crate) use tryflow;

/// `PIVOT` and `UNPIVOT`, which DataFusion does not plan, as subqueries it does.
struct TableOperators;

impl VisitorMut for TableOperators {
    type Break = SqlError;

    fn post_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<SqlError> {
        tryflow!(pivot::rewrite(t));
        tryflow!(unpivot::rewrite(t));
        ControlFlow::Continue(())
    }
}

/// The expression-level rewrites, each applied after the children were rewritten.
struct ExprRewriter {
    /// Every table name and alias in the statement, so that a subquery over `UNNEST` can tell
    /// element fields from outer columns.
    tables: HashSet<String>,
    /// Whether an `UNNEST` is left in a FROM clause once the expressions are rewritten (the
    /// GA4 parameter subqueries no longer have one), so the `UNNEST` passes have work to do.
    unnest_in_from: bool,
}

impl VisitorMut for ExprRewriter {
    type Break = SqlError;

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        // The GA4 idiom is recognised by the shape of its inner query, so it must be seen
        // before that query is rewritten.
        tryflow!(unnest_subquery::rewrite(expr, &self.tables));
        // Field names come from the arguments as written, before they are rewritten.
        implicit_aliases::name_struct_fields(expr);
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        tryflow!(types::rewrite(expr));
        tryflow!(array_subscript::rewrite(expr));
        tryflow!(in_unnest::rewrite(expr));
        tryflow!(date_trunc::rewrite(expr));
        tryflow!(date_arith::rewrite(expr));
        tryflow!(functions::rewrite(expr));
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, stmt: &mut Statement) -> ControlFlow<SqlError> {
        types::rewrite_statement(stmt);
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<SqlError> {
        self.unnest_in_from |= matches!(t, TableFactor::UNNEST { .. });
        ControlFlow::Continue(())
    }

    fn post_visit_value(&mut self, v: &mut ValueWithSpan) -> ControlFlow<SqlError> {
        // r'\d+' holds its text unescaped already; DataFusion only plans plain literals.
        if let Value::SingleQuotedRawStringLiteral(s) | Value::DoubleQuotedRawStringLiteral(s) =
            &v.value
        {
            v.value = Value::SingleQuotedString(s.clone());
        }
        ControlFlow::Continue(())
    }
}

/// `name(args…)` as a plain function call.
pub(crate) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The upper-cased last part of a function's name: `SAFE.X` and `x` both give `X`.
pub(crate) fn function_name(f: &Function) -> String {
    f.name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_uppercase())
        .unwrap_or_default()
}

/// The plain positional arguments of a call, or `None` when it has named arguments,
/// `DISTINCT`, clauses or a `*`.
pub(crate) fn plain_args(f: &Function) -> Option<Vec<Expr>> {
    let FunctionArguments::List(list) = &f.args else {
        return match f.args {
            FunctionArguments::None => Some(vec![]),
            _ => None,
        };
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

pub(crate) fn string_lit(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

pub(crate) fn number_lit(n: i64) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

/// An identifier-like argument such as `MONTH` or `DAY`, upper-cased.
pub(crate) fn keyword_arg(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) if i.quote_style.is_none() => Some(i.value.to_uppercase()),
        _ => None,
    }
}

/// A column name as DataFusion resolves it: unquoted names fold to lower case, quoted ones
/// are kept. Needed where names reach the engine without its own normalisation
/// (`* EXCEPT (…)` is matched verbatim).
pub(crate) fn engine_name(i: &Ident) -> Ident {
    match i.quote_style {
        None => Ident::new(i.value.to_lowercase()),
        Some(_) => i.clone(),
    }
}

/// `* EXCEPT (columns…)`, or `None` for no columns (a plain `*`).
pub(crate) fn wildcard_except(
    columns: &[Ident],
) -> Option<sqlparser::ast::WildcardAdditionalOptions> {
    let (first, rest) = columns.split_first()?;
    Some(sqlparser::ast::WildcardAdditionalOptions {
        opt_except: Some(sqlparser::ast::ExceptSelectItem {
            first_element: first.clone(),
            additional_elements: rest.to_vec(),
        }),
        ..Default::default()
    })
}

/// Where an expression starts in the source, for error messages.
pub(crate) fn location_of(e: &Expr) -> Option<crate::SqlLocation> {
    use sqlparser::ast::Spanned;
    let start = e.span().start;
    (start.line > 0).then_some(crate::SqlLocation {
        line: start.line,
        column: start.column,
    })
}

pub(crate) fn unsupported(construct: impl Into<String>, at: &Expr, hint: &str) -> SqlError {
    SqlError::Unsupported {
        construct: construct.into(),
        location: location_of(at),
        hint: hint.to_string(),
    }
}

/// What a walk of a statement learns about its relations.
#[derive(Default)]
struct Relations {
    /// Lower-cased table names (last part), table aliases and CTE names.
    names: HashSet<String>,
    /// Whether a `PIVOT` or `UNPIVOT` is present, the only reason to run that pass.
    table_operators: bool,
}

impl Relations {
    /// The relations of `stmt`, in a walk of its own.
    fn of(stmt: &Statement) -> Self {
        struct Walk(Relations);
        impl Visitor for Walk {
            type Break = ();
            fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
                self.0.note_table_factor(t);
                ControlFlow::Continue(())
            }
            fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
                self.0.note_query(q);
                ControlFlow::Continue(())
            }
        }
        let mut walk = Walk(Relations::default());
        let _ = stmt.visit(&mut walk);
        walk.0
    }

    fn note_table_factor(&mut self, t: &TableFactor) {
        let alias = match t {
            TableFactor::Table { name, alias, .. } => {
                if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
                    if let Some(table) = last.value.rsplit('.').next() {
                        self.names.insert(table.to_lowercase());
                    }
                }
                alias
            }
            TableFactor::Derived { alias, .. } => alias,
            TableFactor::Pivot { .. } | TableFactor::Unpivot { .. } => {
                self.table_operators = true;
                return;
            }
            _ => return,
        };
        if let Some(a) = alias {
            self.names.insert(a.name.value.to_lowercase());
        }
    }

    fn note_query(&mut self, q: &Query) {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.names.insert(cte.alias.name.value.to_lowercase());
            }
        }
    }
}

/// The first walk: learns the relations as written (before anything is replaced, since a
/// table is noted on the way down and its select is expanded on the way up) and expands
/// wildcard tables.
struct RelationsAndWildcards<'a> {
    relations: Relations,
    wildcard: wildcard_table::WildcardTables<'a>,
}

impl VisitorMut for RelationsAndWildcards<'_> {
    type Break = SqlError;

    fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<SqlError> {
        self.relations.note_table_factor(t);
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<SqlError> {
        self.relations.note_query(q);
        ControlFlow::Continue(())
    }

    fn post_visit_select(&mut self, select: &mut sqlparser::ast::Select) -> ControlFlow<SqlError> {
        self.wildcard.post_visit_select(select)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(sql: &str) -> String {
        rewrite_for_datafusion(crate::parse_one(sql).expect("parses"))
            .expect("rewrites")
            .to_string()
    }

    fn rewrite_with(sql: &str, tables: &[&str]) -> String {
        let list = |_: &str| tables.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        rewrite_for_datafusion_with_tables(crate::parse_one(sql).expect("parses"), &list)
            .expect("rewrites")
            .to_string()
    }

    #[test]
    fn maps_type_names_and_safe_cast() {
        assert_eq!(
            rewrite("SELECT CAST(a AS INT64), SAFE_CAST(b AS FLOAT64), CAST(c AS ARRAY<STRING>)"),
            "SELECT CAST(a AS BIGINT) AS f0_, TRY_CAST(b AS DOUBLE) AS f1_, CAST(c AS ARRAY<STRING>) AS f2_"
        );
    }

    #[test]
    fn puts_date_trunc_arguments_in_datafusion_order() {
        assert_eq!(
            rewrite("SELECT DATE_TRUNC(d, MONTH) FROM t"),
            "SELECT CAST(date_trunc('month', d) AS DATE) AS f0_ FROM t"
        );
    }

    #[test]
    fn countif_counts_true_rows() {
        assert_eq!(
            rewrite("SELECT COUNTIF(x > 0) FROM t"),
            "SELECT count(CASE WHEN x > 0 THEN 1 END) AS f0_ FROM t"
        );
    }

    #[test]
    fn ga4_subquery_becomes_array_functions() {
        let out = rewrite(
            "SELECT (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_location') FROM analytics.events",
        );
        assert!(
            out.contains(
                "array_filter(event_params, __e -> get_field(__e, 'key') = 'page_location')"
            ),
            "{out}"
        );
        assert!(!out.contains("UNNEST"), "{out}");
    }

    #[test]
    fn wildcard_tables_are_pruned_by_suffix() {
        let out = rewrite_with(
            "SELECT COUNT(*) FROM `analytics.events_*` WHERE _TABLE_SUFFIX BETWEEN '20240102' AND '20240103'",
            &["events_20240101", "events_20240102", "events_20240103", "users"],
        );
        assert!(!out.contains("events_20240101"), "{out}");
        assert!(
            out.contains("events_20240102") && out.contains("events_20240103"),
            "{out}"
        );
    }

    #[test]
    fn unsupported_forms_name_the_construct_and_place() {
        let err = rewrite_for_datafusion(
            crate::parse_one("SELECT\n  DATE_TRUNC(d, ISOYEAR) FROM t").expect("parses"),
        )
        .expect_err("ISOYEAR is rejected");
        assert!(err.to_string().contains("ISOYEAR"), "{err}");
        assert_eq!(err.location().map(|l| l.line), Some(2));
    }
}
