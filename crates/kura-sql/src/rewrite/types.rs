//! GoogleSQL type names → the Arrow types DataFusion knows, in `CAST`, `SAFE_CAST` and DDL.
//!
//! | GoogleSQL    | DataFusion SQL               | Arrow                          |
//! |--------------|------------------------------|--------------------------------|
//! | INT64        | BIGINT                       | Int64                          |
//! | FLOAT64      | DOUBLE                       | Float64                        |
//! | NUMERIC      | DECIMAL(38, 9)               | Decimal128(38, 9)              |
//! | BIGNUMERIC   | DECIMAL(76, 38)              | Decimal256(76, 38)             |
//! | BOOL         | BOOLEAN                      | Boolean                        |
//! | STRING, JSON | STRING                       | Utf8 (JSON kept as text)       |
//! | BYTES        | BYTEA                        | Binary                         |
//! | DATETIME     | TIMESTAMP(6)                 | Timestamp(µs, no zone)         |
//! | TIMESTAMP    | TIMESTAMP(6) WITH TIME ZONE  | Timestamp(µs, session zone)    |
//! | ARRAY<T>, STRUCT<…> | element types mapped recursively                 |
//!
//! `TIMESTAMP` is an instant in GoogleSQL; it maps to a zoned Arrow timestamp, so the engine
//! should set `datafusion.execution.time_zone` to `UTC` (with no session zone it is a UTC
//! wall-clock without zone, which compares the same).
//! Typed literals (`DATETIME '2024-01-01 10:00:00'`) map the same way, and bytes literals
//! (`b'abc'`) become `CAST('abc' AS BYTEA)`.
//! `SAFE_CAST` becomes `TRY_CAST`, which also yields NULL when the value does not convert.

use sqlparser::ast::{
    ArrayElemTypeDef, CastKind, ColumnDef, DataType, ExactNumberInfo, Expr, Statement,
    TimezoneInfo, Value,
};

use crate::SqlError;

pub(super) fn rewrite(expr: &mut Expr) -> Result<(), SqlError> {
    if let Expr::Cast {
        kind, data_type, ..
    } = expr
    {
        if *kind == CastKind::SafeCast {
            *kind = CastKind::TryCast;
        }
        map_type(data_type);
    }
    if let Expr::TypedString(typed) = expr {
        map_type(&mut typed.data_type);
    }
    if let Expr::Value(v) = expr {
        if let Value::SingleQuotedByteStringLiteral(text)
        | Value::DoubleQuotedByteStringLiteral(text) = &v.value
        {
            // DataFusion has no bytes literal; without escapes, the bytes are the text's UTF-8.
            // Escaped forms (`b'\xff'`) are left for the planner to reject.
            if !text.contains('\\') {
                *expr = Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(super::string_lit(text)),
                    data_type: DataType::Bytea,
                    array: false,
                    format: None,
                };
            }
        }
    }
    Ok(())
}

/// Maps column types in `CREATE TABLE` so that schemas written for BigQuery create the same
/// Arrow columns the casts produce.
pub(super) fn rewrite_statement(stmt: &mut Statement) {
    if let Statement::CreateTable(create) = stmt {
        for ColumnDef { data_type, .. } in &mut create.columns {
            map_type(data_type);
        }
    }
}

/// Rewrites one GoogleSQL type, recursing into `ARRAY<…>` and `STRUCT<…>`.
pub(crate) fn map_type(t: &mut DataType) {
    let mapped = match t {
        DataType::Int64 => DataType::BigInt(None),
        DataType::Float64 => DataType::Double(ExactNumberInfo::None),
        DataType::Numeric(ExactNumberInfo::None) | DataType::Decimal(ExactNumberInfo::None) => {
            DataType::Decimal(ExactNumberInfo::PrecisionAndScale(38, 9))
        }
        DataType::BigNumeric(ExactNumberInfo::None)
        | DataType::BigDecimal(ExactNumberInfo::None) => {
            DataType::Decimal(ExactNumberInfo::PrecisionAndScale(76, 38))
        }
        DataType::BigNumeric(info) | DataType::BigDecimal(info) => DataType::Decimal(*info),
        DataType::Bytes(_) => DataType::Bytea,
        DataType::JSON => DataType::String(None),
        DataType::Datetime(_) => DataType::Timestamp(Some(6), TimezoneInfo::None),
        DataType::Timestamp(None, TimezoneInfo::None) => {
            DataType::Timestamp(Some(6), TimezoneInfo::WithTimeZone)
        }
        DataType::Array(ArrayElemTypeDef::AngleBracket(inner))
        | DataType::Array(ArrayElemTypeDef::SquareBracket(inner, _)) => {
            map_type(inner);
            return;
        }
        DataType::Struct(fields, _) => {
            for f in fields {
                map_type(&mut f.field_type);
            }
            return;
        }
        _ => return,
    };
    *t = mapped;
}
