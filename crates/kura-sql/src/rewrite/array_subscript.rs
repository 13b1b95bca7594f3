//! `arr[OFFSET(i)]`, `arr[SAFE_OFFSET(i)]`, `arr[ORDINAL(i)]`, `arr[SAFE_ORDINAL(i)]`, `arr[i]`,
//! and field access on computed values (`STRUCT(x AS a).a`).
//!
//! GoogleSQL counts `OFFSET` from 0 and `ORDINAL` from 1; DataFusion's `array_element` counts
//! from 1 and reads negative positions from the end, which GoogleSQL never does. The `SAFE_`
//! forms become `CASE WHEN pos >= 1 THEN array_element(arr, pos) END` (NULL out of range); the
//! strict forms become kura's `array_at_checked(arr, pos)`, which raises an error out of range,
//! as GoogleSQL does.

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{AccessExpr, Expr, Subscript, Value};

use super::{call, function_name, number_lit, plain_args, string_lit};
use crate::SqlError;

pub(super) fn rewrite(expr: &mut Expr) -> Result<(), SqlError> {
    let Expr::CompoundFieldAccess { root, access_chain } = expr else {
        return Ok(());
    };
    // DataFusion resolves `a.b.c` on column names itself, but not a field of a computed
    // value such as `STRUCT(x AS a).a` or `f(x).a`: those become `get_field` too.
    let computed_root = !matches!(**root, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
    if !computed_root
        && !access_chain
            .iter()
            .any(|a| matches!(a, AccessExpr::Subscript(_)))
    {
        return Ok(());
    }
    let mut base = (**root).clone();
    for access in access_chain.iter() {
        base = match access {
            AccessExpr::Subscript(Subscript::Index { index }) => match position(index) {
                Position::Field(name) => call("get_field", vec![base, string_lit(&name)]),
                Position::OneBased { pos, safe: true } => element(base, *pos),
                Position::OneBased { pos, safe: false } => {
                    call("array_at_checked", vec![base, *pos])
                }
            },
            AccessExpr::Subscript(Subscript::Slice { .. }) => return Ok(()),
            AccessExpr::Dot(Expr::Identifier(field)) => {
                call("get_field", vec![base, string_lit(&field.value)])
            }
            AccessExpr::Dot(_) => return Ok(()),
        };
    }
    *expr = base;
    Ok(())
}

enum Position {
    /// A struct field or JSON key: `s['name']`.
    Field(String),
    /// A 1-based array position expression; `safe` gives NULL out of range instead of an error.
    OneBased { pos: Box<Expr>, safe: bool },
}

fn position(index: &Expr) -> Position {
    if let Expr::Value(v) = index {
        if let Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) = &v.value {
            return Position::Field(s.clone());
        }
    }
    if let Expr::Function(f) = index {
        if let Some([arg]) = plain_args(f).as_deref() {
            match function_name(f).as_str() {
                name @ ("OFFSET" | "SAFE_OFFSET") => {
                    return Position::OneBased {
                        pos: Box::new(plus_one(arg.clone())),
                        safe: name.starts_with("SAFE_"),
                    }
                }
                name @ ("ORDINAL" | "SAFE_ORDINAL") => {
                    return Position::OneBased {
                        pos: Box::new(arg.clone()),
                        safe: name.starts_with("SAFE_"),
                    }
                }
                _ => {}
            }
        }
    }
    // A bare index is an offset in GoogleSQL.
    Position::OneBased {
        pos: Box::new(plus_one(index.clone())),
        safe: false,
    }
}

fn plus_one(e: Expr) -> Expr {
    if let Expr::Value(v) = &e {
        if let Value::Number(n, _) = &v.value {
            if let Ok(n) = n.parse::<i64>() {
                return number_lit(n + 1);
            }
        }
    }
    Expr::BinaryOp {
        left: Box::new(Expr::Nested(Box::new(e))),
        op: sqlparser::ast::BinaryOperator::Plus,
        right: Box::new(number_lit(1)),
    }
}

fn element(array: Expr, pos: Expr) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: vec![sqlparser::ast::CaseWhen {
            condition: Expr::BinaryOp {
                left: Box::new(pos.clone()),
                op: sqlparser::ast::BinaryOperator::GtEq,
                right: Box::new(number_lit(1)),
            },
            result: call("array_element", vec![array, pos]),
        }],
        else_result: None,
    }
}
