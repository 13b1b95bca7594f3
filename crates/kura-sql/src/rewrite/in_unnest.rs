//! `x [NOT] IN UNNEST(arr)` → `[NOT] array_has(arr, x)`.
//!
//! DataFusion has no `IN UNNEST`; `array_has` is its vectorised membership test. It answers
//! FALSE rather than NULL when the array holds a NULL and `x` is absent.

use sqlparser::ast::{Expr, UnaryOperator};

use super::call;
use crate::SqlError;

pub(super) fn rewrite(expr: &mut Expr) -> Result<(), SqlError> {
    let Expr::InUnnest {
        expr: needle,
        array_expr,
        negated,
    } = expr
    else {
        return Ok(());
    };
    let has = call(
        "array_has",
        vec![(**array_expr).clone(), (**needle).clone()],
    );
    *expr = if *negated {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(has),
        }
    } else {
        has
    };
    Ok(())
}
