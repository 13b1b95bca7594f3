//! GoogleSQL functions with a direct DataFusion spelling: `IF`, `IFNULL`, `COUNTIF`,
//! `LOGICAL_AND`, `LOGICAL_OR`, `DIV`, `MOD`, `LAST_DAY`'s part keyword, the hashes (`MD5`,
//! `SHA256`, `SHA512` return BYTES, as DataFusion's `digest` does), `TO_HEX`,
//! `GENERATE_ARRAY`, `GENERATE_DATE_ARRAY`, `CURRENT_DATETIME`, and the implied
//! `IGNORE NULLS` of `APPROX_QUANTILES`.
//!
//! Each keeps the call's `OVER`, `FILTER` and argument list, so the aggregate forms stay window
//! functions where they were. Functions DataFusion lacks entirely (`SAFE_DIVIDE`,
//! `FORMAT_DATE`, `REGEXP_CONTAINS`, …) are not renamed: `kura-functions` registers them under
//! their GoogleSQL names.

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    BinaryOperator, CaseWhen, Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArguments, Ident, NullTreatment, ObjectName, ObjectNamePart,
};

use super::date_arith::interval_text;
use super::date_trunc::interval;
use super::{call, function_name, keyword_arg, number_lit, plain_args, string_lit};
use crate::SqlError;

/// The functions this module rewrites; keep in step with the `match` below.
const REWRITTEN: &[&str] = &[
    "IF",
    "IFNULL",
    "DIV",
    "MOD",
    "COUNTIF",
    "LAST_DAY",
    "MD5",
    "SHA256",
    "SHA512",
    "TO_HEX",
    "GENERATE_ARRAY",
    "GENERATE_DATE_ARRAY",
    "CURRENT_DATETIME",
    "APPROX_COUNT_DISTINCT",
    "LOGICAL_AND",
    "LOGICAL_OR",
    "APPROX_QUANTILES",
];

pub(super) fn rewrite(expr: &mut Expr) -> Result<(), SqlError> {
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    let name = function_name(f);
    // Checked before the arguments are copied: most calls are not renamed.
    if !REWRITTEN.contains(&name.as_str()) {
        return Ok(());
    }
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
        // DataFusion's `md5` returns hex text; GoogleSQL's returns BYTES, like `digest`.
        ("MD5", Some([x])) => call("digest", vec![x.clone(), string_lit("md5")]),
        ("SHA256", Some([x])) => call("digest", vec![x.clone(), string_lit("sha256")]),
        ("SHA512", Some([x])) => call("digest", vec![x.clone(), string_lit("sha512")]),
        ("TO_HEX", Some([x])) => call("encode", vec![x.clone(), string_lit("hex")]),
        // Both include the end point and are empty when the step points away from it.
        ("GENERATE_ARRAY", Some(args @ ([_, _] | [_, _, _]))) => {
            call("generate_series", args.to_vec())
        }
        ("GENERATE_DATE_ARRAY", Some(args @ ([_, _] | [_, _, _]))) => {
            let step = match args.get(2) {
                None => "1 days".to_string(),
                Some(iv) => match interval_text(iv) {
                    Some(text) => text,
                    None => {
                        return Err(super::unsupported(
                            format!("GENERATE_DATE_ARRAY with step {iv}"),
                            iv,
                            "write the step as INTERVAL <integer literal> <unit>",
                        ))
                    }
                },
            };
            call(
                "generate_series",
                vec![
                    cast_to_date(args[0].clone()),
                    cast_to_date(args[1].clone()),
                    interval(&step),
                ],
            )
        }
        // The wall-clock time in a zone (UTC by default), through kura's DATETIME(ts, tz).
        ("CURRENT_DATETIME", Some(args @ ([] | [_]))) => {
            let zone = args.first().cloned().unwrap_or_else(|| string_lit("UTC"));
            call("datetime", vec![call("now", vec![]), zone])
        }
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
        ("APPROX_QUANTILES", _) => {
            ignore_nulls_unless_respected(f);
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

/// GoogleSQL aggregates ignore NULLs unless told `RESPECT NULLS`; DataFusion's default is the
/// opposite, so the implied `IGNORE NULLS` is written out.
fn ignore_nulls_unless_respected(f: &mut sqlparser::ast::Function) {
    if f.null_treatment.is_some() {
        return;
    }
    if let FunctionArguments::List(list) = &mut f.args {
        let stated = list
            .clauses
            .iter()
            .any(|c| matches!(c, FunctionArgumentClause::IgnoreOrRespectNulls(_)));
        if !stated {
            list.clauses
                .push(FunctionArgumentClause::IgnoreOrRespectNulls(
                    NullTreatment::IgnoreNulls,
                ));
        }
    }
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

/// `CAST(x AS DATE)`: GoogleSQL coerces date literals written as strings.
fn cast_to_date(x: Expr) -> Expr {
    Expr::Cast {
        kind: sqlparser::ast::CastKind::Cast,
        expr: Box::new(x),
        data_type: sqlparser::ast::DataType::Date,
        array: false,
        format: None,
    }
}
