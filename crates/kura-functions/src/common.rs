//! Argument plumbing shared by the UDFs: arrays in, arrays (or a scalar) out.

use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray, StringArray};
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
    Ok(micros_array(arr)?.iter().collect())
}

/// A TIMESTAMP, DATETIME, DATE or timestamp string argument as microsecond timestamps (no
/// copy when it already is one).
pub(crate) fn micros_array(arr: &ArrayRef) -> Result<PrimitiveArray<TimestampMicrosecondType>> {
    let target = match arr.data_type() {
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => timestamp_type(),
        DataType::Date32 | DataType::Date64 | DataType::Null => datetime_type(),
        other => return exec_err!("expected a TIMESTAMP, DATETIME or DATE, got {other}"),
    };
    Ok(cast(arr, &target)?
        .as_primitive::<TimestampMicrosecondType>()
        .clone())
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

/// Wall-clock time in named zones, for functions that convert every row of a column.
///
/// A zone's offset changes a few times a year, but finding it means searching the zone's
/// transitions. Rows of one UTC minute share the lookup (checked at both ends of the minute,
/// so a transition inside it falls back to a per-row lookup), and the zone name is parsed
/// once per distinct name rather than once per row.
#[derive(Default)]
pub(crate) struct ZoneClock {
    zone: Option<(String, Tz)>,
    offsets_by_minute: std::collections::HashMap<i64, Option<i64>>,
}

impl ZoneClock {
    /// The wall-clock time (as microseconds of a zone-less timestamp) of the instant
    /// `utc_micros` in `zone_name`.
    pub(crate) fn local_micros(&mut self, utc_micros: i64, zone_name: &str) -> Result<i64> {
        let tz = match &self.zone {
            Some((name, tz)) if name == zone_name => *tz,
            _ => {
                let tz = zone(zone_name)?;
                self.zone = Some((zone_name.to_string(), tz));
                self.offsets_by_minute.clear();
                tz
            }
        };
        const MINUTE: i64 = 60_000_000;
        let minute = utc_micros.div_euclid(MINUTE);
        let cached = match self.offsets_by_minute.get(&minute) {
            Some(offset) => *offset,
            None => {
                let first = offset_seconds(tz, minute * MINUTE)?;
                let last = offset_seconds(tz, minute * MINUTE + MINUTE - 1)?;
                let offset = (first == last).then_some(first);
                self.offsets_by_minute.insert(minute, offset);
                offset
            }
        };
        let offset = match cached {
            Some(offset) => offset,
            None => offset_seconds(tz, utc_micros)?,
        };
        Ok(utc_micros + offset * 1_000_000)
    }
}

fn offset_seconds(tz: Tz, utc_micros: i64) -> Result<i64> {
    use chrono::Offset as _;
    Ok(i64::from(
        utc(utc_micros)?
            .with_timezone(&tz)
            .offset()
            .fix()
            .local_minus_utc(),
    ))
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
