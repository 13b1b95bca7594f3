//! GoogleSQL functions with a direct DataFusion spelling: `IF`, `IFNULL`, `COUNTIF`,
//! `LOGICAL_AND`, `LOGICAL_OR`, `DIV`, `MOD`, and `LAST_DAY`'s part keyword.
//!
//! Each keeps the call's `OVER`, `FILTER` and argument list, so the aggregate forms stay window
//! functions where they were. Functions DataFusion lacks entirely (`SAFE_DIVIDE`,
//! `FORMAT_DATE`, `REGEXP_CONTAINS`, …) are not renamed: `kura-functions` registers them under
//! their GoogleSQL names.

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    BinaryOperator, CaseWhen, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectName, ObjectNamePart,
};

use super::{call, function_name, keyword_arg, number_lit, plain_args, string_lit};
use crate::SqlError;

pub(super) fn rewrite(expr: &mut Expr) -> Result<(), SqlError> {
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    let name = function_name(f);
    let args = plain_args(f);
    let replacement = match (name.as_str(), args.as_deref()) {
        ("IF", Some([cond, then, otherwise])) => {
            case_when(cond.clone(), then.clone(), Some(otherwise.clone()))
        }
        ("IFNULL", Some([a, b])) => call("coalesce", vec![a.clone(), b.clone()]),
        ("DIV", Some([a, b])) => binary(a.clone(), BinaryOperator::Divide, b.clone()),
        ("MOD", Some([a, b])) => binary(a.clone(), BinaryOperator::Modulo, b.clone()),
        ("COUNTIF", _) => {
            // COUNT(CASE WHEN c THEN 1 END) counts exactly the rows where c is TRUE.
            rename(f, "count");
            if let FunctionArguments::List(list) = &mut f.args {
                if let [FunctionArg::Unnamed(FunctionArgExpr::Expr(cond))] =
                    list.args.as_mut_slice()
                {
                    *cond = case_when(cond.clone(), number_lit(1), None);
                }
            }
            return Ok(());
        }
        ("LAST_DAY", Some([date, part])) => match part_text(part) {
            // The part is a keyword in GoogleSQL; kura's `last_day` takes it as text.
            Some(text) => call("last_day", vec![date.clone(), string_lit(&text)]),
            None => return Ok(()),
        },
        ("APPROX_COUNT_DISTINCT", _) => {
            rename(f, "approx_distinct");
            return Ok(());
        }
        ("LOGICAL_AND", _) => {
            rename(f, "bool_and");
            return Ok(());
        }
        ("LOGICAL_OR", _) => {
            rename(f, "bool_or");
            return Ok(());
        }
        _ => return Ok(()),
    };
    *expr = replacement;
    Ok(())
}

fn rename(f: &mut sqlparser::ast::Function, name: &str) {
    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
}

fn binary(a: Expr, op: BinaryOperator, b: Expr) -> Expr {
    Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(Expr::Nested(Box::new(a))),
        op,
        right: Box::new(Expr::Nested(Box::new(b))),
    }))
}

pub(crate) fn case_when(cond: Expr, then: Expr, otherwise: Option<Expr>) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: vec![CaseWhen {
            condition: cond,
            result: then,
        }],
        else_result: otherwise.map(Box::new),
    }
}

/// `MONTH` → `"MONTH"`, `WEEK(MONDAY)` → `"WEEK(MONDAY)"`.
fn part_text(part: &Expr) -> Option<String> {
    if let Some(k) = keyword_arg(part) {
        return Some(k);
    }
    let Expr::Function(f) = part else {
        return None;
    };
    let args = plain_args(f)?;
    let [day] = args.as_slice() else {
        return None;
    };
    Some(format!("{}({})", function_name(f), keyword_arg(day)?))
}
