//! One value of an Arrow array, seen as the GoogleSQL value it stands for.
//!
//! Functions that render any value as text (`TO_JSON_STRING`, `FORMAT`'s `%t` and `%T`) walk
//! arrays of every type, nested lists and structs included. Decoding a position into a [`Cell`]
//! once keeps that type dispatch in one place, so each renderer only decides how a GoogleSQL
//! value is spelled. Arrow types map as kura maps GoogleSQL types: a zoned timestamp is a
//! `TIMESTAMP` (an instant), an unzoned one a `DATETIME`, decimals are `NUMERIC`.

use arrow::array::{Array, ArrayRef, AsArray, FixedSizeListArray, StructArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::common::{exec_datafusion_err, exec_err, Result};

/// A decoded value; borrowed text and bytes point into the array.
pub(crate) enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A decimal as plain text without trailing fractional zeros, e.g. `123.5` or `-7`.
    Numeric(String),
    String(&'a str),
    Bytes(&'a [u8]),
    Date(NaiveDate),
    /// An instant, in UTC.
    Timestamp(NaiveDateTime),
    /// A wall-clock date and time without zone.
    Datetime(NaiveDateTime),
    Time(NaiveTime),
    /// The elements of an array value.
    Array(ArrayRef),
    /// One row of a struct array: its field names and values.
    Struct(&'a StructArray, usize),
}

impl<'a> Cell<'a> {
    /// Decodes position `row` of `array`.
    ///
    /// # Errors
    /// When the array's type has no GoogleSQL counterpart kura renders (maps, unions…).
    pub(crate) fn decode(array: &'a dyn Array, row: usize) -> Result<Self> {
        if array.is_null(row) {
            return Ok(Cell::Null);
        }
        let cell = match array.data_type() {
            DataType::Null => Cell::Null,
            DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
            DataType::Int8 => Cell::Int(array.as_primitive::<Int8Type>().value(row).into()),
            DataType::Int16 => Cell::Int(array.as_primitive::<Int16Type>().value(row).into()),
            DataType::Int32 => Cell::Int(array.as_primitive::<Int32Type>().value(row).into()),
            DataType::Int64 => Cell::Int(array.as_primitive::<Int64Type>().value(row)),
            DataType::UInt8 => Cell::UInt(array.as_primitive::<UInt8Type>().value(row).into()),
            DataType::UInt16 => Cell::UInt(array.as_primitive::<UInt16Type>().value(row).into()),
            DataType::UInt32 => Cell::UInt(array.as_primitive::<UInt32Type>().value(row).into()),
            DataType::UInt64 => Cell::UInt(array.as_primitive::<UInt64Type>().value(row)),
            DataType::Float16 => {
                Cell::Float(array.as_primitive::<Float16Type>().value(row).to_f64())
            }
            DataType::Float32 => Cell::Float(array.as_primitive::<Float32Type>().value(row).into()),
            DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(row)),
            DataType::Decimal128(_, _) => Cell::Numeric(trim_decimal(
                array
                    .as_primitive::<arrow::datatypes::Decimal128Type>()
                    .value_as_string(row),
            )),
            DataType::Decimal256(_, _) => Cell::Numeric(trim_decimal(
                array
                    .as_primitive::<arrow::datatypes::Decimal256Type>()
                    .value_as_string(row),
            )),
            DataType::Utf8 => Cell::String(array.as_string::<i32>().value(row)),
            DataType::LargeUtf8 => Cell::String(array.as_string::<i64>().value(row)),
            DataType::Utf8View => Cell::String(array.as_string_view().value(row)),
            DataType::Binary => Cell::Bytes(array.as_binary::<i32>().value(row)),
            DataType::LargeBinary => Cell::Bytes(array.as_binary::<i64>().value(row)),
            DataType::BinaryView => Cell::Bytes(array.as_binary_view().value(row)),
            DataType::FixedSizeBinary(_) => Cell::Bytes(array.as_fixed_size_binary().value(row)),
            DataType::Date32 => {
                let days = array.as_primitive::<Date32Type>().value(row);
                Cell::Date(date_from_days(days.into())?)
            }
            DataType::Date64 => {
                let millis = array.as_primitive::<Date64Type>().value(row);
                Cell::Date(instant(millis, 1_000_000)?.date())
            }
            DataType::Timestamp(unit, zone) => {
                let value = match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().value(row)
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().value(row)
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().value(row)
                    }
                };
                let at = instant(value, nanos_per(*unit))?;
                // Arrow stores zoned timestamps as UTC instants whatever the zone.
                if zone.is_some() {
                    Cell::Timestamp(at)
                } else {
                    Cell::Datetime(at)
                }
            }
            DataType::Time32(TimeUnit::Second) => {
                let secs = array.as_primitive::<Time32SecondType>().value(row);
                Cell::Time(time_of_day(i64::from(secs) * 1_000_000_000)?)
            }
            DataType::Time32(TimeUnit::Millisecond) => {
                let millis = array.as_primitive::<Time32MillisecondType>().value(row);
                Cell::Time(time_of_day(i64::from(millis) * 1_000_000)?)
            }
            DataType::Time64(TimeUnit::Microsecond) => {
                let micros = array.as_primitive::<Time64MicrosecondType>().value(row);
                Cell::Time(time_of_day(micros * 1_000)?)
            }
            DataType::Time64(TimeUnit::Nanosecond) => Cell::Time(time_of_day(
                array.as_primitive::<Time64NanosecondType>().value(row),
            )?),
            DataType::List(_) => Cell::Array(array.as_list::<i32>().value(row)),
            DataType::LargeList(_) => Cell::Array(array.as_list::<i64>().value(row)),
            DataType::FixedSizeList(_, _) => {
                let list: &FixedSizeListArray = array.as_fixed_size_list();
                Cell::Array(list.value(row))
            }
            DataType::Struct(_) => Cell::Struct(array.as_struct(), row),
            other => return exec_err!("values of type {other} cannot be rendered as text"),
        };
        Ok(cell)
    }
}

fn nanos_per(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

fn instant(value: i64, nanos_per_unit: i64) -> Result<NaiveDateTime> {
    let per_second = 1_000_000_000 / nanos_per_unit;
    let secs = value.div_euclid(per_second);
    let nanos = value.rem_euclid(per_second) * nanos_per_unit;
    u32::try_from(nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(secs, n))
        .map(|d| d.naive_utc())
        .ok_or_else(|| exec_datafusion_err!("timestamp {value} is out of range"))
}

fn date_from_days(days: i64) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(days)))
        .ok_or_else(|| exec_datafusion_err!("date {days} days from 1970-01-01 is out of range"))
}

fn time_of_day(nanos: i64) -> Result<NaiveTime> {
    let secs = u32::try_from(nanos.div_euclid(1_000_000_000)).ok();
    let frac = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok();
    secs.zip(frac)
        .and_then(|(s, n)| NaiveTime::from_num_seconds_from_midnight_opt(s, n))
        .ok_or_else(|| exec_datafusion_err!("time of day {nanos}ns is out of range"))
}

/// `123.4500` → `123.45`, `7.000` → `7`.
fn trim_decimal(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Seconds with the fewest of 0, 3, 6 or 9 fractional digits that keep the value, as
/// GoogleSQL prints times: `05`, `05.250`, `05.000001`.
pub(crate) fn seconds_with_fraction(time: &impl Timelike) -> String {
    let secs = time.second();
    // A leap second is reported as nanoseconds beyond 1e9; GoogleSQL has none.
    let digits = format!("{:09}", time.nanosecond().min(999_999_999));
    let width = match digits.trim_end_matches('0').len() {
        0 => return format!("{secs:02}"),
        1..=3 => 3,
        4..=6 => 6,
        _ => 9,
    };
    format!("{secs:02}.{}", &digits[..width])
}

/// `HH:MM:SS[.fff]` as GoogleSQL prints the time part of timestamps and times.
pub(crate) fn clock(time: &impl Timelike) -> String {
    format!(
        "{:02}:{:02}:{}",
        time.hour(),
        time.minute(),
        seconds_with_fraction(time)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};

    #[test]
    fn decodes_scalars_and_nulls() {
        let ints = Int64Array::from(vec![Some(7), None]);
        assert!(matches!(Cell::decode(&ints, 0), Ok(Cell::Int(7))));
        assert!(matches!(Cell::decode(&ints, 1), Ok(Cell::Null)));
        let text = StringArray::from(vec!["a"]);
        assert!(matches!(Cell::decode(&text, 0), Ok(Cell::String("a"))));
    }

    #[test]
    fn zoned_timestamps_are_instants_and_unzoned_are_datetimes() {
        let zoned = TimestampMicrosecondArray::from(vec![1_500_000]).with_timezone("UTC");
        let Ok(Cell::Timestamp(at)) = Cell::decode(&zoned, 0) else {
            panic!("a zoned timestamp is a TIMESTAMP");
        };
        assert_eq!(clock(&at), "00:00:01.500");
        let naive = TimestampMicrosecondArray::from(vec![1]);
        let Ok(Cell::Datetime(at)) = Cell::decode(&naive, 0) else {
            panic!("an unzoned timestamp is a DATETIME");
        };
        assert_eq!(clock(&at), "00:00:00.000001");
    }
}
