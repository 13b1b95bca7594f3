//! A table's profile per time bucket, built in one pass over its rows: the row count, and per
//! monitored column the null count, an approximate distinct count, and for numeric columns sum,
//! min and max. This is the monitor's scan kernel: the engine reads and filters the table, each
//! output partition is folded into its own [`BucketProfile`] on its own thread, and the
//! partitions' profiles are merged.
//!
//! Why not one SQL aggregate: a monitor asks for some forty aggregates over one GROUP BY, and
//! a generic hash aggregate pays per aggregate and per batch for what here is one tight loop
//! per column over a few dozen buckets.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit, UInt64Type};

use crate::distinct_sketch::{hash_value, value_hasher, DistinctSketch};

/// How a monitored column is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// Integers: distinct count, mean, min and max.
    Integer,
    /// Floats and decimals: mean, min and max. No distinct count: a continuous measure has
    /// about as many values as rows, so the count says nothing.
    Continuous,
    /// Strings, dates, booleans, ...: distinct count.
    Other,
}

impl ColumnKind {
    pub(crate) fn numeric(self) -> bool {
        matches!(self, ColumnKind::Integer | ColumnKind::Continuous)
    }

    pub(crate) fn counts_distinct(self) -> bool {
        matches!(self, ColumnKind::Integer | ColumnKind::Other)
    }
}

/// What every partition's profile shares: the buckets of the window and the columns' kinds.
/// Bucket keys are the buckets' local wall-clock starts in microseconds.
#[derive(Debug, Clone)]
pub(crate) struct ProfileLayout {
    /// The key of the window's first bucket.
    pub first_bucket: i64,
    /// A bucket's width in microseconds.
    pub width: i64,
    /// Buckets in the window; rows of later buckets (the current one) get slots of their own.
    pub window: usize,
    /// How the scan's first column is read. `None`: it is each row's bucket key. `Some(offset)`:
    /// it is each row's instant in UTC microseconds, and the bucket is that instant plus the
    /// zone's fixed UTC offset (microseconds), truncated to the width: found here, rather than
    /// by three arithmetic passes over every batch in SQL.
    pub zone_offset: Option<i64>,
    /// The monitored columns, in the scan's order after the bucket and time columns.
    pub kinds: Vec<ColumnKind>,
}

/// The profile of the rows folded so far. The batches folded in hold the bucket key (INT64 or
/// a zone-less timestamp), the time column, then the monitored columns in layout order.
pub(crate) struct BucketProfile {
    layout: Arc<ProfileLayout>,
    /// Each slot's bucket key; slots `0..window` are the window's buckets in order.
    keys: Vec<i64>,
    /// Slots of buckets outside the window, by key.
    outside: HashMap<i64, u32>,
    rows: Vec<u64>,
    columns: Vec<ColumnProfile>,
    /// The time column's newest value: its physical value and the one-row array it came from.
    newest: Option<(i64, ArrayRef)>,
    hasher: ahash::RandomState,
    /// Scratch: each row's slot, for the batch being folded.
    order: BatchOrder,
    /// 1 / the layout's width, to find a key's bucket without dividing.
    inverse_width: f64,
}

/// A batch's rows and their slots.
///
/// Distinct counts go into their rows' sketches in row order: the sketches of a column's
/// buckets in a batch (8 KiB each, 128 KiB for a 16-day window) stay in the core's cache.
/// Grouping the hashes by slot first (a counting sort, then one slot's run at a time) was no
/// faster in interleaved A/Bs of a 10 M-row monitor run, and took a scratch buffer and a pass
/// more.
#[derive(Default)]
struct BatchOrder {
    /// Each row's slot.
    slots: Vec<u32>,
    /// The slots that have rows in the batch.
    present: Vec<usize>,
    /// Scratch: whether a slot has rows in the batch.
    seen: Vec<bool>,
}

impl BatchOrder {
    /// Finds the slots `self.slots` holds.
    fn find_present(&mut self, slot_count: usize) {
        self.seen.clear();
        self.seen.resize(slot_count, false);
        for &slot in &self.slots {
            self.seen[slot as usize] = true;
        }
        self.present.clear();
        self.present
            .extend((0..slot_count).filter(|&slot| self.seen[slot]));
    }
}

#[derive(Debug, Clone, Copy)]
struct NumericStats {
    values: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for NumericStats {
    fn default() -> Self {
        // Orders by `total_cmp`, as the engine's MIN and MAX do: the first value replaces both.
        Self {
            values: 0,
            sum: 0.0,
            min: f64::NAN,
            max: -f64::NAN,
        }
    }
}

impl NumericStats {
    #[inline]
    fn add(&mut self, v: f64) {
        self.values += 1;
        self.sum += v;
        if v.total_cmp(&self.min).is_lt() {
            self.min = v;
        }
        if v.total_cmp(&self.max).is_gt() {
            self.max = v;
        }
    }

    fn merge(&mut self, other: &NumericStats) {
        if other.values == 0 {
            return;
        }
        self.values += other.values;
        self.sum += other.sum;
        if other.min.total_cmp(&self.min).is_lt() {
            self.min = other.min;
        }
        if other.max.total_cmp(&self.max).is_gt() {
            self.max = other.max;
        }
    }
}

#[derive(Default)]
struct ColumnProfile {
    nulls: Vec<u64>,
    /// Per slot; empty for columns that are not numeric.
    numeric: Vec<NumericStats>,
    /// Per slot, created at the slot's first value; empty for columns without a distinct count.
    sketches: Vec<Option<DistinctSketch>>,
}

/// One bucket's figures, as the monitor reads them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BucketFigures {
    /// The bucket's key: its local start in microseconds.
    pub key: i64,
    pub rows: u64,
    pub columns: Vec<ColumnFigures>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnFigures {
    pub nulls: u64,
    pub distinct: Option<f64>,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl BucketProfile {
    pub(crate) fn new(layout: Arc<ProfileLayout>) -> Self {
        let columns = layout
            .kinds
            .iter()
            .map(|_| ColumnProfile::default())
            .collect();
        let mut profile = Self {
            keys: Vec::new(),
            outside: HashMap::new(),
            rows: Vec::new(),
            columns,
            newest: None,
            hasher: value_hasher(),
            order: BatchOrder::default(),
            inverse_width: 1.0 / layout.width as f64,
            layout,
        };
        for i in 0..profile.layout.window {
            let key = profile.layout.first_bucket + profile.layout.width * i as i64;
            profile.push_slot(key);
        }
        profile
    }

    fn push_slot(&mut self, key: i64) -> u32 {
        let slot = self.keys.len() as u32;
        self.keys.push(key);
        self.rows.push(0);
        for (column, kind) in self.columns.iter_mut().zip(&self.layout.kinds) {
            column.nulls.push(0);
            if kind.numeric() {
                column.numeric.push(NumericStats::default());
            }
            if kind.counts_distinct() {
                column.sketches.push(None);
            }
        }
        slot
    }

    #[inline]
    fn slot_of(&mut self, key: i64) -> u32 {
        // A window bucket's index: a multiplication by the width's inverse, confirmed exactly.
        // An integer division per row was a visible share of the fold.
        let offset = key.wrapping_sub(self.layout.first_bucket);
        // `+ 0.5` and truncation rather than `round()`, a library call on baseline x86-64; the
        // exact check below decides either way.
        let index = (offset as f64 * self.inverse_width + 0.5) as i64;
        if (0..self.layout.window as i64).contains(&index) && index * self.layout.width == offset {
            return index as u32;
        }
        self.outside_slot(key)
    }

    /// The slot of the bucket holding a local wall-clock time (microseconds).
    #[inline]
    fn slot_of_local(&mut self, local: i64) -> u32 {
        let width = self.layout.width;
        let offset = local.wrapping_sub(self.layout.first_bucket);
        // The multiplication may land one bucket off near an edge; the exact check decides,
        // and anything else takes the exact (slower) way.
        let index = (offset as f64 * self.inverse_width) as i64;
        if (0..self.layout.window as i64).contains(&index) {
            let start = index * width;
            if offset >= start && offset - start < width {
                return index as u32;
            }
        }
        self.slot_of(local.wrapping_sub(local.rem_euclid(width)))
    }

    /// The slot of a bucket outside the window, made at its first row.
    #[inline(never)]
    fn outside_slot(&mut self, key: i64) -> u32 {
        match self.outside.get(&key) {
            Some(slot) => *slot,
            None => {
                let slot = self.push_slot(key);
                self.outside.insert(key, slot);
                slot
            }
        }
    }

    /// Folds one batch in.
    ///
    /// # Errors
    /// A message when the batch does not have the layout's columns or a column's type cannot
    /// be summarised.
    pub(crate) fn fold(&mut self, batch: &RecordBatch) -> Result<(), String> {
        let expected = 2 + self.layout.kinds.len();
        if batch.num_columns() != expected {
            return Err(format!(
                "the monitor's scan returned {} columns, expected {expected}",
                batch.num_columns()
            ));
        }
        let keys = bucket_keys(batch.column(0))?;
        let keys = keys.as_primitive::<Int64Type>();
        let mut slots = std::mem::take(&mut self.order.slots);
        slots.clear();
        let zone_offset = self.layout.zone_offset;
        // A row whose bucket is NULL (its time is NULL) belongs to no bucket; the scan's window
        // filter already drops those.
        if let Some(row) = keys.nulls().and_then(|n| (!n.inner()).set_indices().next()) {
            return Err(format!("row {row} of the monitor's scan has no bucket"));
        }
        for &key in keys.values() {
            let slot = match zone_offset {
                Some(offset) => self.slot_of_local(key.wrapping_add(offset)),
                None => self.slot_of(key),
            };
            self.rows[slot as usize] += 1;
            slots.push(slot);
        }
        self.fold_newest(batch.column(1))?;
        self.order.slots = slots;
        self.order.find_present(self.keys.len());
        for (index, kind) in self.layout.kinds.iter().enumerate() {
            let array = batch.column(2 + index);
            self.columns[index]
                .add(array, *kind, &self.order, &self.hasher)
                .map_err(|e| format!("column {}: {e}", batch.schema().field(2 + index).name()))?;
        }
        Ok(())
    }

    fn fold_newest(&mut self, time: &ArrayRef) -> Result<(), String> {
        let physical = cast(time, &DataType::Int64)
            .map_err(|e| format!("the time column cannot be read as a number: {e}"))?;
        let physical = physical.as_primitive::<Int64Type>();
        // The batch's maximum by the vectorised kernel; its row is looked for only when it is
        // newer than what earlier batches had, which after the first few batches is rare.
        let Some(v) = arrow::compute::max(physical) else {
            return Ok(());
        };
        if self.newest.as_ref().is_none_or(|(n, _)| v > *n) {
            let row = physical
                .iter()
                .position(|x| x == Some(v))
                .ok_or("the time column's maximum is in no row")?;
            self.newest = Some((v, time.slice(row, 1)));
        }
        Ok(())
    }

    /// Takes in another partition's profile of the same layout.
    pub(crate) fn merge(&mut self, mut other: BucketProfile) {
        for (theirs, &key) in other.keys.iter().enumerate() {
            let mine = self.slot_of(key) as usize;
            self.rows[mine] += other.rows[theirs];
            for (column, their_column) in self.columns.iter_mut().zip(&mut other.columns) {
                column.nulls[mine] += their_column.nulls[theirs];
                if let Some(stats) = their_column.numeric.get(theirs) {
                    column.numeric[mine].merge(stats);
                }
                if let Some(Some(sketch)) = their_column.sketches.get_mut(theirs).map(Option::take)
                {
                    match &mut column.sketches[mine] {
                        Some(s) => s.merge(&sketch),
                        empty => *empty = Some(sketch),
                    }
                }
            }
        }
        if let Some((v, array)) = other.newest {
            if self.newest.as_ref().is_none_or(|(n, _)| v > *n) {
                self.newest = Some((v, array));
            }
        }
    }

    /// The newest value of the time column, as a one-row array of its type.
    pub(crate) fn newest(&self) -> Option<&ArrayRef> {
        self.newest.as_ref().map(|(_, a)| a)
    }

    /// Every bucket that has rows, with its figures, in key order.
    pub(crate) fn figures(&self) -> Vec<BucketFigures> {
        let mut out: Vec<BucketFigures> = (0..self.keys.len())
            .filter(|&slot| self.rows[slot] > 0)
            .map(|slot| BucketFigures {
                key: self.keys[slot],
                rows: self.rows[slot],
                columns: self
                    .columns
                    .iter()
                    .zip(&self.layout.kinds)
                    .map(|(column, kind)| column.figures(slot, *kind))
                    .collect(),
            })
            .collect();
        out.sort_by_key(|b| b.key);
        out
    }
}

impl ColumnProfile {
    fn figures(&self, slot: usize, kind: ColumnKind) -> ColumnFigures {
        let stats = self.numeric.get(slot).filter(|s| s.values > 0);
        let finite = |v: f64| Some(v).filter(|v| v.is_finite());
        ColumnFigures {
            nulls: self.nulls[slot],
            distinct: kind.counts_distinct().then(|| {
                self.sketches[slot]
                    .as_ref()
                    .map_or(0.0, |s| s.estimate().round())
            }),
            mean: stats.and_then(|s| finite(s.sum / s.values as f64)),
            min: stats.and_then(|s| finite(s.min)),
            max: stats.and_then(|s| finite(s.max)),
        }
    }

    fn add(
        &mut self,
        array: &ArrayRef,
        kind: ColumnKind,
        order: &BatchOrder,
        hasher: &ahash::RandomState,
    ) -> Result<(), String> {
        let nulls = array.logical_nulls();
        let nulls = nulls.as_ref().filter(|n| n.null_count() > 0);
        if let Some(nulls) = nulls {
            // Nulls are few: visit only them, not every row.
            for row in (!nulls.inner()).set_indices() {
                self.nulls[order.slots[row] as usize] += 1;
            }
        }
        match kind {
            ColumnKind::Integer if array.data_type() == &DataType::UInt64 => {
                let values = array.as_primitive::<UInt64Type>();
                self.add_numbers(nulls, order, |row| values.value(row) as f64);
                self.add_hashes(nulls, order, |row| hash_value(hasher, &values.value(row)));
            }
            ColumnKind::Integer => {
                let values = cast(array, &DataType::Int64).map_err(|e| e.to_string())?;
                let values = values.as_primitive::<Int64Type>();
                self.add_numbers(nulls, order, |row| values.value(row) as f64);
                self.add_hashes(nulls, order, |row| hash_value(hasher, &values.value(row)));
            }
            ColumnKind::Continuous => {
                let values = cast(array, &DataType::Float64).map_err(|e| e.to_string())?;
                let values = values.as_primitive::<Float64Type>();
                self.add_numbers(nulls, order, |row| values.value(row));
            }
            ColumnKind::Other => self.add_distinct(array, nulls, order, hasher)?,
        }
        Ok(())
    }

    /// Adds the non-null rows' numbers to their slots' figures, in row order: the figures of
    /// a few dozen slots stay in cache, and the column is read front to back.
    #[inline(always)]
    fn add_numbers(
        &mut self,
        nulls: Option<&NullBuffer>,
        order: &BatchOrder,
        value: impl Fn(usize) -> f64,
    ) {
        let numeric = &mut self.numeric;
        match nulls {
            None => {
                for (row, &slot) in order.slots.iter().enumerate() {
                    numeric[slot as usize].add(value(row));
                }
            }
            Some(nulls) => {
                for (row, &slot) in order.slots.iter().enumerate() {
                    if nulls.is_valid(row) {
                        numeric[slot as usize].add(value(row));
                    }
                }
            }
        }
    }

    /// Adds the non-null rows' hashes to their slots' sketches (see [`BatchOrder`]).
    // Inlined into each caller (as is `add_numbers`), so that the per-row closure is too: as a
    // call per row, the hash closures took 7 % of a monitor scan's CPU samples.
    #[inline(always)]
    fn add_hashes(
        &mut self,
        nulls: Option<&NullBuffer>,
        order: &BatchOrder,
        hash: impl Fn(usize) -> u64,
    ) {
        for &slot in &order.present {
            self.sketches[slot].get_or_insert_with(DistinctSketch::default);
        }
        // Every slot a row of the batch has holds a sketch now.
        let mut sketches: Vec<Option<&mut DistinctSketch>> =
            self.sketches.iter_mut().map(Option::as_mut).collect();
        match nulls {
            None => {
                for (row, &slot) in order.slots.iter().enumerate() {
                    if let Some(sketch) = sketches[slot as usize].as_deref_mut() {
                        sketch.insert_hash(hash(row));
                    }
                }
            }
            Some(nulls) => {
                for (row, &slot) in order.slots.iter().enumerate() {
                    if nulls.is_valid(row) {
                        if let Some(sketch) = sketches[slot as usize].as_deref_mut() {
                            sketch.insert_hash(hash(row));
                        }
                    }
                }
            }
        }
    }

    /// Distinct counts of any scalar type, hashing each value's bytes.
    fn add_distinct(
        &mut self,
        array: &ArrayRef,
        nulls: Option<&NullBuffer>,
        order: &BatchOrder,
        hasher: &ahash::RandomState,
    ) -> Result<(), String> {
        match array.data_type() {
            DataType::Utf8 => {
                let a = array.as_string::<i32>();
                self.add_hashes(nulls, order, |row| {
                    hash_bytes(hasher, a.value(row).as_bytes())
                });
            }
            DataType::LargeUtf8 => {
                let a = array.as_string::<i64>();
                self.add_hashes(nulls, order, |row| {
                    hash_bytes(hasher, a.value(row).as_bytes())
                });
            }
            DataType::Utf8View => {
                let a = array.as_string_view();
                let views = a.views();
                self.add_hashes(nulls, order, |row| {
                    hash_view(hasher, views[row], || a.value(row).as_bytes())
                });
            }
            DataType::Binary => {
                let a = array.as_binary::<i32>();
                self.add_hashes(nulls, order, |row| hash_bytes(hasher, a.value(row)));
            }
            DataType::LargeBinary => {
                let a = array.as_binary::<i64>();
                self.add_hashes(nulls, order, |row| hash_bytes(hasher, a.value(row)));
            }
            DataType::BinaryView => {
                let a = array.as_binary_view();
                let views = a.views();
                self.add_hashes(nulls, order, |row| {
                    hash_view(hasher, views[row], || a.value(row))
                });
            }
            DataType::FixedSizeBinary(_) => {
                let a = array.as_fixed_size_binary();
                self.add_hashes(nulls, order, |row| hash_bytes(hasher, a.value(row)));
            }
            DataType::Boolean => {
                let a = array.as_boolean();
                self.add_hashes(nulls, order, |row| {
                    hash_bytes(hasher, &[u8::from(a.value(row))])
                });
            }
            DataType::Dictionary(_, value_type) => {
                let values = cast(array, value_type).map_err(|e| e.to_string())?;
                self.add_distinct(&values, nulls, order, hasher)?;
            }
            other => match other.primitive_width() {
                // Dates, times, timestamps, decimals, intervals: the value's own bytes.
                Some(width) => {
                    let data = array.to_data();
                    let buffer = data.buffers()[0].as_slice();
                    let first = data.offset();
                    self.add_hashes(nulls, order, |row| {
                        let at = (first + row) * width;
                        hash_bytes(hasher, &buffer[at..at + width])
                    });
                }
                None => {
                    let text = cast(array, &DataType::Utf8).map_err(|_| {
                        format!("{other} values cannot be counted; monitor another column")
                    })?;
                    self.add_distinct(&text, nulls, order, hasher)?;
                }
            },
        }
        Ok(())
    }
}

/// The hash of a value in an Arrow view array: a short value (up to 12 bytes) is whole in its
/// 16-byte view and is hashed from it, as [`hash_bytes`] would, without reading it out.
#[inline(always)]
fn hash_view<'a>(hasher: &ahash::RandomState, view: u128, long: impl Fn() -> &'a [u8]) -> u64 {
    let len = view as u32;
    if len <= 12 {
        let used = 32 + 8 * len;
        hash_value(hasher, &(view & (u128::MAX >> (128 - used))))
    } else {
        hash_value(hasher, long())
    }
}

/// The hash of a string or binary value. Values of up to 12 bytes are hashed as the 16 bytes
/// of their Arrow view (length, then the bytes, zero-padded), so that plain and view arrays of
/// the same values fill a sketch alike.
#[inline]
fn hash_bytes(hasher: &ahash::RandomState, value: &[u8]) -> u64 {
    if value.len() <= 12 {
        let mut view = [0u8; 16];
        view[..4].copy_from_slice(&(value.len() as u32).to_le_bytes());
        view[4..4 + value.len()].copy_from_slice(value);
        hash_value(hasher, &u128::from_le_bytes(view))
    } else {
        hash_value(hasher, value)
    }
}

/// The bucket column as INT64 microseconds: integer arithmetic already gives that; a zone-less
/// timestamp (a truncated DATETIME) is read in microseconds.
fn bucket_keys(array: &ArrayRef) -> Result<ArrayRef, String> {
    let micros = match array.data_type() {
        DataType::Int64 => return Ok(array.clone()),
        DataType::Timestamp(TimeUnit::Microsecond, None) => array.clone(),
        _ => cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))
            .map_err(|e| format!("the bucket column cannot be read as a time: {e}"))?,
    };
    cast(&micros, &DataType::Int64).map_err(|e| format!("the bucket column: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
        StringViewArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Schema};

    const DAY: i64 = 86_400_000_000;

    fn layout(kinds: Vec<ColumnKind>) -> Arc<ProfileLayout> {
        Arc::new(ProfileLayout {
            first_bucket: 10 * DAY,
            width: DAY,
            window: 3,
            zone_offset: None,
            kinds,
        })
    }

    fn batch(columns: Vec<ArrayRef>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
    }

    /// The same buckets with the same figures; means to 1e-9 (float sums in another order).
    fn assert_same_figures(a: &[BucketFigures], b: &[BucketFigures]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!((x.key, x.rows), (y.key, y.rows));
            for (cx, cy) in x.columns.iter().zip(&y.columns) {
                assert_eq!(
                    (cx.nulls, cx.distinct, cx.min, cx.max),
                    (cy.nulls, cy.distinct, cy.min, cy.max)
                );
                let (mx, my) = (cx.mean.unwrap_or(0.0), cy.mean.unwrap_or(0.0));
                assert!((mx - my).abs() <= 1e-9 * my.abs().max(1.0));
            }
        }
    }

    #[test]
    fn buckets_count_rows_nulls_and_numeric_figures() {
        let kinds = vec![
            ColumnKind::Integer,
            ColumnKind::Continuous,
            ColumnKind::Other,
        ];
        let mut p = BucketProfile::new(layout(kinds));
        let keys = Int64Array::from(vec![10 * DAY, 11 * DAY, 10 * DAY, 14 * DAY, 11 * DAY]);
        let times = TimestampMicrosecondArray::from(vec![5, 9, 7, 20, 3]).with_timezone("UTC");
        let ints = Int32Array::from(vec![Some(3), None, Some(-4), Some(8), Some(3)]);
        let floats = Float64Array::from(vec![Some(1.5), Some(2.5), None, None, Some(f64::NAN)]);
        let text = StringArray::from(vec![Some("a"), Some("b"), Some("a"), None, Some("b")]);
        p.fold(&batch(vec![
            Arc::new(keys),
            Arc::new(times),
            Arc::new(ints),
            Arc::new(floats),
            Arc::new(text),
        ]))
        .expect("fold");
        let f = p.figures();
        assert_eq!(
            f.iter().map(|b| (b.key, b.rows)).collect::<Vec<_>>(),
            vec![(10 * DAY, 2), (11 * DAY, 2), (14 * DAY, 1)]
        );
        let day10 = &f[0].columns;
        assert_eq!(day10[0].nulls, 0);
        assert_eq!(day10[0].distinct, Some(2.0));
        assert_eq!(day10[0].mean, Some(-0.5));
        assert_eq!((day10[0].min, day10[0].max), (Some(-4.0), Some(3.0)));
        assert_eq!(day10[1].nulls, 1);
        assert_eq!(day10[1].distinct, None);
        assert_eq!(day10[1].mean, Some(1.5));
        assert_eq!(day10[2].distinct, Some(1.0));
        // NaN orders above every number, as the engine's MAX does, and is not a figure.
        let day11 = &f[1].columns;
        assert_eq!(day11[1].min, Some(2.5));
        assert_eq!(day11[1].max, None);
        assert_eq!(day11[1].mean, None);
        assert_eq!(day11[0].nulls, 1);
        assert_eq!(day11[0].distinct, Some(1.0));
        // A bucket after the window has figures of its own.
        assert_eq!(f[2].columns[2].nulls, 1);
        assert_eq!(f[2].columns[2].distinct, Some(0.0));
        assert_eq!(f[2].columns[1].mean, None);
        let newest = p.newest().expect("newest");
        assert_eq!(
            newest
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            20
        );
    }

    #[test]
    fn plain_and_view_strings_count_alike() {
        let values: Vec<Option<String>> = (0..3_000)
            .map(|i| (i % 9 != 0).then(|| "x".repeat(i % 20) + &(i % 700).to_string()))
            .collect();
        let profile_of = |text: ArrayRef| {
            let n = text.len();
            let mut p = BucketProfile::new(layout(vec![ColumnKind::Other]));
            p.fold(&batch(vec![
                Arc::new(Int64Array::from(vec![10 * DAY; n])),
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
                text,
            ]))
            .expect("fold");
            p.figures()
        };
        let plain = profile_of(Arc::new(StringArray::from(values.clone())));
        let view = profile_of(Arc::new(StringViewArray::from(values)));
        assert_eq!(plain, view);
        assert_eq!(plain[0].columns[0].nulls, 334);
        let distinct = plain[0].columns[0].distinct.expect("distinct");
        assert!((distinct - 700.0).abs() < 17.0, "{distinct}");
    }

    #[test]
    fn keys_off_the_window_grid_get_buckets_of_their_own() {
        // Before the window, between two window buckets, just after it, and far away.
        let keys = [
            9 * DAY,
            10 * DAY + DAY / 2,
            10 * DAY,
            12 * DAY,
            13 * DAY,
            10 * DAY + 1,
            i64::MIN,
            i64::MAX,
            10 * DAY,
        ];
        let mut p = BucketProfile::new(layout(vec![]));
        p.fold(&batch(vec![
            Arc::new(Int64Array::from(keys.to_vec())),
            Arc::new(Int64Array::from_iter_values(0..keys.len() as i64)),
        ]))
        .expect("fold");
        let mut expected: Vec<(i64, u64)> = vec![
            (i64::MIN, 1),
            (9 * DAY, 1),
            (10 * DAY, 2),
            (10 * DAY + 1, 1),
            (10 * DAY + DAY / 2, 1),
            (12 * DAY, 1),
            (13 * DAY, 1),
            (i64::MAX, 1),
        ];
        expected.sort();
        let got: Vec<(i64, u64)> = p.figures().iter().map(|b| (b.key, b.rows)).collect();
        assert_eq!(got, expected);
        // The window's own buckets are its first slots.
        assert_eq!(p.slot_of(12 * DAY), 2);
        assert_eq!(p.slot_of(10 * DAY), 0);
        assert!(p.slot_of(13 * DAY) >= 3);
    }

    #[test]
    fn instants_fall_in_the_buckets_of_their_local_time() {
        // Instants (UTC microseconds) with a +09:00 zone: each lands in the bucket of its local
        // time, as the keys `DIV(t + offset, width) * width` computed by hand would, and on
        // either side of every bucket edge. Instants before 1970 are floored, not truncated.
        let offset = 9 * 3_600_000_000;
        let instants: Vec<i64> = [9, 10, 11, 12, 13, 14, 40]
            .iter()
            .flat_map(|day| {
                let edge = day * DAY - offset;
                [edge - 1, edge, edge + 1, edge + DAY / 3]
            })
            .chain([-1, -DAY - 5, i64::MIN / 2, i64::MAX / 2])
            .collect();
        let keys: Vec<i64> = instants
            .iter()
            .map(|t| (t + offset).div_euclid(DAY) * DAY)
            .collect();
        let by_instant = {
            let mut l = (*layout(vec![ColumnKind::Integer])).clone();
            l.zone_offset = Some(offset);
            let mut p = BucketProfile::new(Arc::new(l));
            p.fold(&batch(vec![
                Arc::new(Int64Array::from(instants.clone())),
                Arc::new(Int64Array::from(instants.clone())),
                Arc::new(Int64Array::from(instants.clone())),
            ]))
            .expect("fold");
            p.figures()
        };
        let mut p = BucketProfile::new(layout(vec![ColumnKind::Integer]));
        p.fold(&batch(vec![
            Arc::new(Int64Array::from(keys)),
            Arc::new(Int64Array::from(instants.clone())),
            Arc::new(Int64Array::from(instants.clone())),
        ]))
        .expect("fold");
        let by_key = p.figures();
        assert_same_figures(&by_instant, &by_key);
        assert_eq!(by_instant.len(), 13);
        let day10 = by_instant
            .iter()
            .find(|b| b.key == 10 * DAY)
            .expect("day 10");
        assert_eq!(day10.rows, 4);
        assert_eq!(day10.columns[0].min, Some((10 * DAY - offset) as f64));
    }

    #[test]
    fn batches_of_any_length_fold_like_one() {
        // The scratch space is reused batch after batch; UInt64, dictionary strings (null keys
        // and null values) and numbers without nulls go through their own paths.
        use arrow::array::{DictionaryArray, UInt64Array};
        use arrow::datatypes::Int32Type;
        let kinds = vec![
            ColumnKind::Integer,
            ColumnKind::Integer,
            ColumnKind::Other,
            ColumnKind::Continuous,
        ];
        let rows = 3_000usize;
        let make = |range: std::ops::Range<usize>| {
            let words = StringArray::from(vec![Some("jp"), None, Some("us"), Some("de")]);
            let keys = arrow::array::Int32Array::from_iter(
                range
                    .clone()
                    .map(|i| (!i.is_multiple_of(17)).then_some((i % 4) as i32)),
            );
            let dictionary =
                DictionaryArray::<Int32Type>::try_new(keys, Arc::new(words)).expect("dictionary");
            batch(vec![
                Arc::new(Int64Array::from_iter_values(
                    range.clone().map(|i| (10 + (i * 5 % 3) as i64) * DAY),
                )),
                Arc::new(Int64Array::from_iter_values(
                    range.clone().map(|i| i as i64),
                )),
                Arc::new(Int64Array::from_iter_values(
                    range.clone().map(|i| (i % 300) as i64),
                )),
                Arc::new(UInt64Array::from_iter(
                    range
                        .clone()
                        .map(|i| (!i.is_multiple_of(6)).then_some((i % 250) as u64)),
                )),
                Arc::new(dictionary),
                Arc::new(Float64Array::from_iter_values(
                    range.map(|i| (i % 1_000) as f64 / 8.0),
                )),
            ])
        };
        let mut whole = BucketProfile::new(layout(kinds.clone()));
        whole.fold(&make(0..rows)).expect("fold");
        let mut pieces = BucketProfile::new(layout(kinds));
        for range in [0..1, 1..8, 8..8, 8..1_000, 1_000..1_003, 1_003..rows] {
            pieces.fold(&make(range)).expect("fold");
        }
        let fw = whole.figures();
        assert_eq!(fw.len(), 3);
        assert_same_figures(&fw, &pieces.figures());
        // Day 10 holds i with i * 5 % 3 == 0, i.e. every third i from 0: 1,000 rows.
        let day10 = &fw[0];
        let mine: Vec<usize> = (0..rows).step_by(3).collect();
        assert_eq!(day10.rows, 1_000);
        assert_eq!(day10.columns[0].nulls, 0);
        assert_eq!(day10.columns[0].min, Some(0.0));
        assert_eq!(day10.columns[0].max, Some(297.0));
        let count = |f: &dyn Fn(usize) -> bool| mine.iter().filter(|&&i| f(i)).count() as u64;
        assert_eq!(day10.columns[1].nulls, count(&|i| i.is_multiple_of(6)));
        // Null keys (every 17th row) and the null value (key 1) are both nulls.
        assert_eq!(
            day10.columns[2].nulls,
            count(&|i| i.is_multiple_of(17) || i % 4 == 1)
        );
        assert_eq!(day10.columns[2].distinct, Some(3.0));
        assert_eq!(day10.columns[3].nulls, 0);
        let sum: f64 = mine.iter().map(|&i| (i % 1_000) as f64 / 8.0).sum();
        assert_eq!(day10.columns[3].mean, Some(sum / 1_000.0));
    }

    #[test]
    fn interleaved_buckets_count_each_bucket_own_values() {
        // Rows of three buckets interleaved, each bucket with values of its own range, nulls
        // among them: every sketch must hold exactly its bucket's non-null values.
        let rows = 9_000usize;
        let key = |i: usize| (10 + (i * 7 % 3) as i64) * DAY;
        let text =
            |i: usize| (!i.is_multiple_of(11)).then(|| format!("b{}-{}", i * 7 % 3, i % 1_000));
        let number =
            |i: usize| (!i.is_multiple_of(13)).then_some((i * 7 % 3 * 100_000 + i % 2_000) as i64);
        let mut p = BucketProfile::new(layout(vec![ColumnKind::Other, ColumnKind::Integer]));
        p.fold(&batch(vec![
            Arc::new(Int64Array::from_iter_values((0..rows).map(key))),
            Arc::new(Int64Array::from_iter_values(0..rows as i64)),
            Arc::new(StringViewArray::from_iter((0..rows).map(text))),
            Arc::new(Int64Array::from_iter((0..rows).map(number))),
        ]))
        .expect("fold");
        let hasher = value_hasher();
        let figures = p.figures();
        assert_eq!(figures.len(), 3);
        for (bucket, figures) in figures.iter().enumerate() {
            let mine: Vec<usize> = (0..rows).filter(|&i| i * 7 % 3 == bucket).collect();
            let (mut texts, mut numbers) = (DistinctSketch::default(), DistinctSketch::default());
            for &i in &mine {
                if let Some(t) = text(i) {
                    texts.insert_hash(hash_bytes(&hasher, t.as_bytes()));
                }
                if let Some(n) = number(i) {
                    numbers.insert_hash(hash_value(&hasher, &n));
                }
            }
            let nulls = |f: fn(usize) -> bool| mine.iter().filter(|&&i| f(i)).count() as u64;
            let columns = &figures.columns;
            assert_eq!(columns[0].nulls, nulls(|i| i.is_multiple_of(11)));
            assert_eq!(columns[1].nulls, nulls(|i| i.is_multiple_of(13)));
            assert_eq!(columns[0].distinct, Some(texts.estimate().round()));
            assert_eq!(columns[1].distinct, Some(numbers.estimate().round()));
            let sum: i64 = mine.iter().filter_map(|&i| number(i)).sum();
            let count = mine.iter().filter(|&&i| number(i).is_some()).count();
            assert_eq!(columns[1].mean, Some(sum as f64 / count as f64));
        }
    }

    #[test]
    fn merged_partitions_equal_one_pass() {
        let kinds = vec![ColumnKind::Integer, ColumnKind::Other, ColumnKind::Other];
        let rows = 5_000usize;
        let key = |i: usize| (10 + (i % 4) as i64) * DAY;
        let make = |range: std::ops::Range<usize>| {
            batch(vec![
                Arc::new(Int64Array::from_iter_values(range.clone().map(key))),
                Arc::new(Date32Array::from_iter_values(
                    range.clone().map(|i| i as i32),
                )),
                Arc::new(Int64Array::from_iter(
                    range
                        .clone()
                        .map(|i| (i % 7 != 0).then_some((i % 500) as i64)),
                )),
                Arc::new(StringViewArray::from_iter(
                    range
                        .clone()
                        .map(|i| (i % 5 != 0).then(|| format!("s-{}", i % 900))),
                )),
                Arc::new(BooleanArray::from_iter(range.map(|i| Some(i % 3 == 0)))),
            ])
        };
        let mut whole = BucketProfile::new(layout(kinds.clone()));
        whole.fold(&make(0..rows)).expect("fold");
        let mut a = BucketProfile::new(layout(kinds.clone()));
        a.fold(&make(0..1_234)).expect("fold");
        let mut b = BucketProfile::new(layout(kinds));
        b.fold(&make(1_234..rows)).expect("fold");
        a.merge(b);
        assert_eq!(a.figures().len(), 4);
        let fw = whole.figures();
        assert_same_figures(&a.figures(), &fw);
        // Day 10 holds i = 0, 4, 8, ...: 1,250 rows, and its booleans are both values.
        assert_eq!(fw[0].rows, 1_250);
        assert_eq!(fw[0].columns[2].distinct, Some(2.0));
        let newest = a.newest().expect("newest");
        assert_eq!(
            newest
                .as_primitive::<arrow::datatypes::Date32Type>()
                .value(0),
            4_999
        );
    }
}
