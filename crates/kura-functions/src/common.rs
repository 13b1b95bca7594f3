//! Argument plumbing shared by the UDFs: arrays in, arrays (or a scalar) out.

use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, NaiveDateTime, Utc};
use datafusion::common::{exec_datafusion_err, exec_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

/// The type kura gives GoogleSQL's `TIMESTAMP`: an instant, in microseconds, shown in UTC.
pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The type kura gives GoogleSQL's `DATETIME`: a wall-clock time without zone.
pub(crate) fn datetime_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// A call's arguments as arrays of one length, and whether they were all scalars (then the
/// result is turned back into a scalar by [`finish`]).
pub(crate) struct Args {
    pub arrays: Vec<ArrayRef>,
    pub scalar: bool,
}

impl Args {
    pub(crate) fn new(args: &ScalarFunctionArgs) -> Result<Self> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if scalar { 1 } else { args.number_rows };
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { arrays, scalar })
    }

    pub(crate) fn len(&self) -> usize {
        self.arrays.first().map_or(1, |a| a.len())
    }

    pub(crate) fn finish(&self, result: ArrayRef) -> Result<ColumnarValue> {
        if self.scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(result))
        }
    }
}

/// Any string-like (or castable) array as `Utf8`.
pub(crate) fn strings(arr: &ArrayRef) -> Result<StringArray> {
    let utf8 = cast(arr, &DataType::Utf8)?;
    Ok(utf8.as_string::<i32>().clone())
}

/// Timestamps (any unit), dates and strings as microseconds since the epoch. For zoned
/// timestamps and strings with an offset that is UTC; for `DATETIME` (no zone) it is the
/// wall-clock time read as UTC.
pub(crate) fn micros(arr: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let target = match arr.data_type() {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => timestamp_type(),
        DataType::Date32 | DataType::Date64 | DataType::Null => datetime_type(),
        other => return exec_err!("expected a TIMESTAMP, DATETIME or DATE, got {other}"),
    };
    let cast_arr = cast(arr, &target)?;
    let ts = cast_arr.as_primitive::<TimestampMicrosecondType>();
    Ok(ts.iter().collect())
}

pub(crate) fn utc(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| exec_datafusion_err!("timestamp {micros}µs is out of range"))
}

pub(crate) fn naive(micros: i64) -> Result<NaiveDateTime> {
    Ok(utc(micros)?.naive_utc())
}

/// An IANA zone (`America/Los_Angeles`), `UTC`, or an offset (`+05:30`).
pub(crate) fn zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|e| exec_datafusion_err!("invalid time zone '{name}': {e}"))
}

pub(crate) fn arc<A: Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

/// Checks the number of arguments for a function's return type.
pub(crate) fn arity(name: &str, arg_types: &[DataType], allowed: &[usize]) -> Result<()> {
    if allowed.contains(&arg_types.len()) {
        Ok(())
    } else {
        exec_err!(
            "{name} takes {} arguments, got {}",
            allowed
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" or "),
            arg_types.len()
        )
    }
}
