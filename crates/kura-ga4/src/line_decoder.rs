//! NDJSON lines decoded straight into Arrow arrays of a fixed schema, in one pass.
//!
//! The export's lines are large (1-2 KB, about 150 values) and regular: every object lists its
//! fields in the schema's order, and values have the schema's types. arrow-json's decoder
//! first builds a tape of every token, then matches each object's field names against the
//! schema by comparing them in turn; on GA4 exports that matching and the tape were most of a
//! load's time. This decoder reads each value into its column's buffers as it meets it, and
//! looks a field up where the previous one left off.
//!
//! It takes only what it is sure to read exactly as arrow-json would (strict mode, primitives
//! coerced to text) and gives up on a chunk at the first thing it does not handle: a field the
//! schema does not know, a duplicate field, a value of an unexpected JSON type, a number in a
//! form other than JSON's, a control character in a string, text that is not UTF-8, a type
//! outside [`LineDecoder::new`]'s list. The reader then decodes that chunk with arrow-json,
//! which also names the line at fault, so a chunk's result never depends on which decoder
//! read it.

use std::sync::Arc;

use arrow::array::BooleanBufferBuilder;
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, StringArray};
use arrow::array::{NullBufferBuilder, StructArray};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, FieldRef, Fields, SchemaRef};
use arrow::record_batch::RecordBatch;

/// The decoder met something it leaves to arrow-json.
#[derive(Debug)]
struct GiveUp;

type Step<T = ()> = Result<T, GiveUp>;

/// Decodes chunks of NDJSON lines into batches of one schema.
pub struct LineDecoder {
    schema: SchemaRef,
    root: StructColumn,
}

impl LineDecoder {
    /// A decoder for `schema`, or `None` when a column has a type it does not read (it reads
    /// UTF-8 text, INT64, FLOAT64, BOOLEAN, structs and lists of these).
    pub fn new(schema: &SchemaRef) -> Option<Self> {
        Some(Self {
            schema: schema.clone(),
            root: StructColumn::new(schema.fields())?,
        })
    }

    /// Decodes the lines of `text` that start at `starts` (one JSON object each, as
    /// `read_lines` leaves them), or `None` when the chunk is left to arrow-json.
    pub fn decode(&mut self, text: &[u8], starts: &[(u64, usize)]) -> Option<RecordBatch> {
        let columns = self
            .decode_lines(text, starts)
            .and_then(|()| self.root.take_children());
        // Lines are objects, never null: the root's own validity is not kept.
        self.root.nulls = NullBufferBuilder::new(0);
        match columns {
            Ok(columns) => RecordBatch::try_new(self.schema.clone(), columns).ok(),
            Err(GiveUp) => {
                // A chunk given up part way leaves columns of unequal lengths: start afresh.
                self.root = StructColumn::new(self.schema.fields())?;
                None
            }
        }
    }

    fn decode_lines(&mut self, text: &[u8], starts: &[(u64, usize)]) -> Step {
        // Valid UTF-8 as a whole means every string between quotes is too: a quote is ASCII,
        // so it never splits a character. (SIMD validation: the standard library's took 2 % of
        // a load's time.)
        simdutf8::basic::from_utf8(text).map_err(|_| GiveUp)?;
        for (i, (_, start)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(text.len(), |(_, s)| *s);
            let mut cursor = Cursor {
                bytes: &text[*start..end],
                at: 0,
            };
            cursor.skip_space();
            if cursor.peek() != Some(b'{') {
                return Err(GiveUp);
            }
            self.root.read_object(&mut cursor)?;
            cursor.skip_space();
            if cursor.at != cursor.bytes.len() {
                return Err(GiveUp);
            }
        }
        Ok(())
    }
}

/// A position in one line.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Step {
        self.skip_space();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// Consumes `word` (after its first byte has been seen).
    fn literal(&mut self, word: &[u8]) -> Step {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// Reads a string (the cursor on its opening quote). Without escapes it is borrowed from
    /// the line; with escapes it is unescaped into `scratch`.
    #[inline]
    fn string<'s>(&mut self, scratch: &'s mut Vec<u8>) -> Step<&'s [u8]>
    where
        'a: 's,
    {
        self.at += 1;
        let rest = &self.bytes[self.at..];
        let end = memchr::memchr2(b'"', b'\\', rest).ok_or(GiveUp)?;
        let plain = &rest[..end];
        if plain.iter().any(|&b| b < 0x20) {
            return Err(GiveUp);
        }
        if rest[end] == b'"' {
            self.at += end + 1;
            return Ok(plain);
        }
        scratch.clear();
        scratch.extend_from_slice(plain);
        self.at += end;
        self.unescape_rest(scratch)?;
        Ok(scratch.as_slice())
    }

    /// The rest of a string with escapes, from the first backslash to the closing quote.
    fn unescape_rest(&mut self, out: &mut Vec<u8>) -> Step {
        loop {
            match self.peek().ok_or(GiveUp)? {
                b'"' => {
                    self.at += 1;
                    return Ok(());
                }
                b'\\' => {
                    let escaped = *self.bytes.get(self.at + 1).ok_or(GiveUp)?;
                    self.at += 2;
                    let byte = match escaped {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut utf8 = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                            continue;
                        }
                        _ => return Err(GiveUp),
                    };
                    out.push(byte);
                }
                _ => {
                    let rest = &self.bytes[self.at..];
                    let end = memchr::memchr2(b'"', b'\\', rest).ok_or(GiveUp)?;
                    if rest[..end].iter().any(|&b| b < 0x20) {
                        return Err(GiveUp);
                    }
                    out.extend_from_slice(&rest[..end]);
                    self.at += end;
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `\u`), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Step<char> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                    return Err(GiveUp);
                }
                self.at += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(GiveUp);
                }
                0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(GiveUp),
            c => c,
        };
        char::from_u32(code).ok_or(GiveUp)
    }

    fn hex4(&mut self) -> Step<u32> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or(GiveUp)?;
        let mut value = 0;
        for &d in digits {
            value = value * 16 + char::from(d).to_digit(16).ok_or(GiveUp)?;
        }
        self.at += 4;
        Ok(value)
    }

    /// The text of a number given as a JSON number or as a string: BigQuery's exports write
    /// INT64 values as strings.
    #[inline]
    fn number_text<'s>(&mut self, scratch: &'s mut Vec<u8>) -> Step<&'s [u8]>
    where
        'a: 's,
    {
        match self.peek() {
            Some(b'"') => self.string(scratch),
            _ => self.number(),
        }
    }

    /// A number token as written, checked against JSON's grammar.
    #[inline]
    fn number(&mut self) -> Step<&'a [u8]> {
        let start = self.at;
        let len = json_number_len(&self.bytes[start..]).ok_or(GiveUp)?;
        self.at += len;
        Ok(&self.bytes[start..start + len])
    }
}

/// The length of the JSON number at the start of `bytes`, if one is there and ends at a
/// delimiter: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn json_number_len(bytes: &[u8]) -> Option<usize> {
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut at = usize::from(bytes.first() == Some(&b'-'));
    match bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at += digits(at),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        let n = digits(at + 1);
        if n == 0 {
            return None;
        }
        at += 1 + n;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        let n = digits(at);
        if n == 0 {
            return None;
        }
        at += n;
    }
    match bytes.get(at) {
        None | Some(b' ' | b'\n' | b'\r' | b'\t' | b',' | b'}' | b']') => Some(at),
        _ => None,
    }
}

/// An integer in canonical form (no sign but `-`, no leading zeros, no fraction or exponent)
/// that fits INT64.
fn canonical_int(text: &[u8]) -> Step<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let canonical = match digits {
        [b'0'] => text.len() == 1,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !canonical {
        return Err(GiveUp);
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(GiveUp)
}

/// A float written as a JSON number.
fn json_float(text: &[u8]) -> Step<f64> {
    if json_number_len(text) != Some(text.len()) {
        return Err(GiveUp);
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(GiveUp)
}

/// One column's buffers.
enum Column {
    Text {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
        nulls: NullBufferBuilder,
    },
    Int {
        values: Vec<i64>,
        nulls: NullBufferBuilder,
    },
    Float {
        values: Vec<f64>,
        nulls: NullBufferBuilder,
    },
    Bool {
        values: BooleanBufferBuilder,
        nulls: NullBufferBuilder,
    },
    Struct(StructColumn),
    List {
        field: FieldRef,
        offsets: Vec<i32>,
        values: Box<Column>,
        nulls: NullBufferBuilder,
    },
}

impl Column {
    fn new(data_type: &DataType) -> Option<Self> {
        Some(match data_type {
            DataType::Utf8 => Column::Text {
                offsets: vec![0],
                bytes: Vec::new(),
                nulls: NullBufferBuilder::new(0),
            },
            DataType::Int64 => Column::Int {
                values: Vec::new(),
                nulls: NullBufferBuilder::new(0),
            },
            DataType::Float64 => Column::Float {
                values: Vec::new(),
                nulls: NullBufferBuilder::new(0),
            },
            DataType::Boolean => Column::Bool {
                values: BooleanBufferBuilder::new(0),
                nulls: NullBufferBuilder::new(0),
            },
            DataType::Struct(fields) => Column::Struct(StructColumn::new(fields)?),
            DataType::List(field) => Column::List {
                field: field.clone(),
                offsets: vec![0],
                values: Box::new(Column::new(field.data_type())?),
                nulls: NullBufferBuilder::new(0),
            },
            _ => return None,
        })
    }

    fn push_null(&mut self) {
        self.push_nulls(1);
    }

    /// Appends `n` NULLs.
    fn push_nulls(&mut self, n: usize) {
        match self {
            Column::Text { offsets, nulls, .. } | Column::List { offsets, nulls, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.resize(offsets.len() + n, last);
                nulls.append_n_nulls(n);
            }
            Column::Int { values, nulls } => {
                values.resize(values.len() + n, 0);
                nulls.append_n_nulls(n);
            }
            Column::Float { values, nulls } => {
                values.resize(values.len() + n, 0.0);
                nulls.append_n_nulls(n);
            }
            Column::Bool { values, nulls } => {
                values.append_n(n, false);
                nulls.append_n_nulls(n);
            }
            Column::Struct(s) => s.push_nulls(n),
        }
    }

    /// The number of values in the column.
    fn len(&self) -> usize {
        match self {
            Column::Text { offsets, .. } | Column::List { offsets, .. } => offsets.len() - 1,
            Column::Int { values, .. } => values.len(),
            Column::Float { values, .. } => values.len(),
            Column::Bool { values, .. } => values.len(),
            Column::Struct(s) => s.len,
        }
    }

    /// Appends NULLs up to `len` values: a struct's children catch up on the rows they were
    /// absent from (see [`StructColumn::len`]).
    #[inline]
    fn pad_to(&mut self, len: usize) {
        let behind = len.saturating_sub(self.len());
        if behind > 0 {
            self.push_nulls(behind);
        }
    }

    /// Reads one value (the cursor on its first byte) into the column.
    fn read(&mut self, cursor: &mut Cursor<'_>, scratch: &mut Vec<u8>) -> Step {
        let first = cursor.peek().ok_or(GiveUp)?;
        if first == b'n' {
            cursor.literal(b"null")?;
            self.push_null();
            return Ok(());
        }
        match self {
            Column::Text {
                offsets,
                bytes,
                nulls,
            } => {
                match first {
                    b'"' => bytes.extend_from_slice(cursor.string(scratch)?),
                    // Primitives are kept as written, as arrow-json's coercion does.
                    b't' => {
                        cursor.literal(b"true")?;
                        bytes.extend_from_slice(b"true");
                    }
                    b'f' => {
                        cursor.literal(b"false")?;
                        bytes.extend_from_slice(b"false");
                    }
                    _ => bytes.extend_from_slice(cursor.number()?),
                }
                offsets.push(i32::try_from(bytes.len()).map_err(|_| GiveUp)?);
                nulls.append_non_null();
            }
            Column::Int { values, nulls } => {
                values.push(canonical_int(cursor.number_text(scratch)?)?);
                nulls.append_non_null();
            }
            Column::Float { values, nulls } => {
                values.push(json_float(cursor.number_text(scratch)?)?);
                nulls.append_non_null();
            }
            Column::Bool { values, nulls } => {
                let value = match first {
                    b't' => cursor.literal(b"true").map(|()| true)?,
                    b'f' => cursor.literal(b"false").map(|()| false)?,
                    _ => return Err(GiveUp),
                };
                values.append(value);
                nulls.append_non_null();
            }
            Column::Struct(s) => {
                if first != b'{' {
                    return Err(GiveUp);
                }
                s.read_object(cursor)?;
            }
            Column::List {
                offsets,
                values,
                nulls,
                ..
            } => {
                if first != b'[' {
                    return Err(GiveUp);
                }
                cursor.at += 1;
                cursor.skip_space();
                let mut count = 0i32;
                if cursor.peek() == Some(b']') {
                    cursor.at += 1;
                } else {
                    loop {
                        cursor.skip_space();
                        values.read(cursor, scratch)?;
                        count += 1;
                        cursor.skip_space();
                        match cursor.peek() {
                            Some(b',') => cursor.at += 1,
                            Some(b']') => {
                                cursor.at += 1;
                                break;
                            }
                            _ => return Err(GiveUp),
                        }
                    }
                }
                let end = offsets.last().copied().unwrap_or(0).checked_add(count);
                offsets.push(end.ok_or(GiveUp)?);
                nulls.append_non_null();
            }
        }
        Ok(())
    }

    /// The column's array; the buffers start empty again.
    fn take(&mut self, data_type: &DataType) -> Step<ArrayRef> {
        Ok(match self {
            Column::Text {
                offsets,
                bytes,
                nulls,
            } => {
                let offsets = std::mem::replace(offsets, vec![0]);
                let array = StringArray::try_new(
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Buffer::from_vec(std::mem::take(bytes)),
                    nulls.finish(),
                );
                Arc::new(array.map_err(|_| GiveUp)?)
            }
            Column::Int { values, nulls } => Arc::new(Int64Array::new(
                ScalarBuffer::from(std::mem::take(values)),
                nulls.finish(),
            )),
            Column::Float { values, nulls } => Arc::new(Float64Array::new(
                ScalarBuffer::from(std::mem::take(values)),
                nulls.finish(),
            )),
            Column::Bool { values, nulls } => {
                Arc::new(BooleanArray::new(values.finish(), nulls.finish()))
            }
            Column::Struct(s) => {
                let DataType::Struct(fields) = data_type else {
                    return Err(GiveUp);
                };
                let children = s.take_children()?;
                let nulls = s.nulls.finish();
                Arc::new(StructArray::try_new(fields.clone(), children, nulls).map_err(|_| GiveUp)?)
            }
            Column::List {
                field,
                offsets,
                values,
                nulls,
            } => {
                let offsets = std::mem::replace(offsets, vec![0]);
                let values = values.take(field.data_type())?;
                let list = ListArray::try_new(
                    field.clone(),
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    values,
                    nulls.finish(),
                );
                Arc::new(list.map_err(|_| GiveUp)?)
            }
        })
    }
}

/// A struct's columns, and what finds a field by name.
struct StructColumn {
    fields: Fields,
    names: Vec<Box<[u8]>>,
    children: Vec<Column>,
    nulls: NullBufferBuilder,
    /// The struct's rows so far. A child absent from a row (or every child, when the struct
    /// is NULL) is not filled then: it catches up with NULLs when it next gets a value, or
    /// when the arrays are taken. Most of the export's nested fields are absent from most
    /// events, and filling each of them for every event was a twentieth of a load's time.
    len: usize,
    /// The object each child last got a value from, to refuse a field given twice.
    filled_in: Vec<u64>,
    object: u64,
    scratch: Vec<u8>,
}

impl StructColumn {
    fn new(fields: &Fields) -> Option<Self> {
        Some(Self {
            fields: fields.clone(),
            names: fields
                .iter()
                .map(|f| f.name().as_bytes().to_vec().into_boxed_slice())
                .collect(),
            children: fields
                .iter()
                .map(|f| Column::new(f.data_type()))
                .collect::<Option<Vec<_>>>()?,
            nulls: NullBufferBuilder::new(0),
            len: 0,
            filled_in: vec![0; fields.len()],
            object: 0,
            scratch: Vec::new(),
        })
    }

    fn push_nulls(&mut self, n: usize) {
        self.nulls.append_n_nulls(n);
        self.len += n;
    }

    /// The index of field `name`, trying `guess` (the field after the previous one) first.
    #[inline]
    fn find(&self, name: &[u8], guess: usize) -> Option<usize> {
        let n = self.names.len();
        (guess..n)
            .chain(0..guess.min(n))
            .find(|&i| *self.names[i] == *name)
    }

    /// Reads an object (the cursor on its `{`) as one row.
    fn read_object(&mut self, cursor: &mut Cursor<'_>) -> Step {
        cursor.at += 1;
        self.object += 1;
        let object = self.object;
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut guess = 0;
        cursor.skip_space();
        let result = (|| {
            if cursor.peek() == Some(b'}') {
                cursor.at += 1;
                return Ok(());
            }
            loop {
                cursor.skip_space();
                if cursor.peek() != Some(b'"') {
                    return Err(GiveUp);
                }
                let index = {
                    let name = cursor.string(&mut scratch)?;
                    self.find(name, guess).ok_or(GiveUp)?
                };
                if self.filled_in[index] == object {
                    return Err(GiveUp);
                }
                self.filled_in[index] = object;
                cursor.expect(b':')?;
                cursor.skip_space();
                let child = &mut self.children[index];
                child.pad_to(self.len);
                child.read(cursor, &mut scratch)?;
                guess = index + 1;
                cursor.skip_space();
                match cursor.peek() {
                    Some(b',') => cursor.at += 1,
                    Some(b'}') => {
                        cursor.at += 1;
                        return Ok(());
                    }
                    _ => return Err(GiveUp),
                }
            }
        })();
        self.scratch = scratch;
        result?;
        self.nulls.append_non_null();
        self.len += 1;
        Ok(())
    }

    /// The children's arrays, each as long as the struct; the struct starts empty again.
    fn take_children(&mut self) -> Step<Vec<ArrayRef>> {
        let fields = self.fields.clone();
        let len = std::mem::take(&mut self.len);
        self.children.iter_mut().for_each(|child| child.pad_to(len));
        self.children
            .iter_mut()
            .zip(fields.iter())
            .map(|(child, field)| child.take(field.data_type()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use arrow::json::ReaderBuilder;

    fn schema() -> SchemaRef {
        let value = Field::new(
            "value",
            DataType::Struct(Fields::from(vec![
                Field::new("string_value", DataType::Utf8, true),
                Field::new("int_value", DataType::Int64, true),
                Field::new("double_value", DataType::Float64, true),
            ])),
            true,
        );
        let param = Field::new(
            "element",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Utf8, true),
                value,
            ])),
            true,
        );
        Arc::new(Schema::new(vec![
            Field::new("event_name", DataType::Utf8, true),
            Field::new("event_timestamp", DataType::Int64, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("params", DataType::List(Arc::new(param)), true),
            Field::new(
                "device",
                DataType::Struct(Fields::from(vec![
                    Field::new("category", DataType::Utf8, true),
                    Field::new("time_zone_offset_seconds", DataType::Int64, true),
                ])),
                true,
            ),
        ]))
    }

    fn starts(text: &str) -> Vec<(u64, usize)> {
        let mut at = 0;
        let mut out = Vec::new();
        for (i, line) in text.split_inclusive('\n').enumerate() {
            out.push((i as u64 + 1, at));
            at += line.len();
        }
        out
    }

    /// arrow-json's reading of the same lines (strict, primitives coerced to text).
    fn reference(schema: &SchemaRef, text: &str) -> Option<RecordBatch> {
        let mut decoder = ReaderBuilder::new(schema.clone())
            .with_strict_mode(true)
            .with_coerce_primitive(true)
            .build_decoder()
            .ok()?;
        decoder.decode(text.as_bytes()).ok()?;
        decoder.flush().ok()?
    }

    fn ours(schema: &SchemaRef, text: &str) -> Option<RecordBatch> {
        LineDecoder::new(schema)?.decode(text.as_bytes(), &starts(text))
    }

    #[test]
    fn reads_what_arrow_json_reads() {
        let schema = schema();
        let text = concat!(
            r#"{"event_name":"page_view","event_timestamp":"1714521600000001","flag":true,"params":[{"key":"ga_session_id","value":{"int_value":"17"}},{"key":"page_title","value":{"string_value":"ホーム \"top\" \\ \u00e9\ud83d\ude00"}}],"device":{"category":"mobile","time_zone_offset_seconds":32400}}"#,
            "\n",
            r#"{"event_timestamp":-5,"event_name":null,"params":[],"device":null}"#,
            "\n",
            r#"  { "device" : { "category" : 12.5e3 } , "event_name" : true, "params":null, "flag": false }  "#,
            "\n",
            r#"{"params":[{"key":"v","value":{"double_value":1},"extra_absent":null}]}"#,
            "\n",
        );
        // The fourth line has a field the schema lacks: the whole chunk is left to arrow-json.
        assert!(ours(&schema, text).is_none());
        let good: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        let decoded = ours(&schema, &good).expect("the fast path reads these lines");
        assert_eq!(decoded.num_rows(), 3);
        assert_eq!(Some(decoded), reference(&schema, &good));
    }

    #[test]
    fn numbers_keep_their_meaning() {
        let schema = schema();
        let cases = [
            r#"{"event_timestamp":"9223372036854775807"}"#,
            r#"{"event_timestamp":0}"#,
            r#"{"params":[{"value":{"double_value":"2.5"}},{"value":{"double_value":-0.000123e-7}}]}"#,
            r#"{"params":[{"value":{"string_value":1e400}}]}"#,
            r#"{"event_name":-0.0}"#,
        ];
        for line in cases {
            let text = format!("{line}\n");
            let decoded = ours(&schema, &text).unwrap_or_else(|| panic!("fast path for {line}"));
            assert_eq!(Some(decoded), reference(&schema, &text), "{line}");
        }
    }

    #[test]
    fn gives_up_on_anything_unusual() {
        let schema = schema();
        let cases = [
            r#"{"event_timestamp":"007"}"#,
            r#"{"event_timestamp":1.0}"#,
            r#"{"event_timestamp":"9223372036854775808"}"#,
            r#"{"event_timestamp":"+5"}"#,
            r#"{"flag":"true"}"#,
            r#"{"event_name":"a","event_name":"b"}"#,
            r#"{"unknown":1}"#,
            r#"{"event_name":{"a":1}}"#,
            r#"{"event_name":"tab	inside"}"#,
            r#"{"event_name":"\ud83d"}"#,
            r#"{"event_name":"\x"}"#,
            r#"{"event_name":01}"#,
            r#"{"event_name":1.}"#,
            r#"{"event_name":"a"} trailing"#,
            r#"{"event_name":"a",}"#,
            r#"[1]"#,
            r#"null"#,
        ];
        for line in cases {
            let text = format!("{line}\n");
            assert!(
                ours(&schema, &text).is_none(),
                "{line} should be left to arrow-json"
            );
        }
    }

    #[test]
    fn a_given_up_chunk_leaves_no_trace_in_the_next() {
        let schema = schema();
        let mut decoder = LineDecoder::new(&schema).expect("supported types");
        let bad = "{\"event_name\":\"x\",\"params\":[{\"key\":\"k\"},{\"key\":{}}]}\n";
        assert!(decoder.decode(bad.as_bytes(), &starts(bad)).is_none());
        let good = "{\"event_name\":\"y\",\"params\":[{\"key\":\"k\"}]}\n";
        let decoded = decoder.decode(good.as_bytes(), &starts(good));
        assert_eq!(decoded, reference(&schema, good));
    }

    /// Every line of the bundled demo export (real GA4 shapes, Japanese text, 30- and
    /// 31-column shards, bad lines), one line per chunk: wherever the fast path reads a line it
    /// reads it exactly as arrow-json does, it never accepts a line arrow-json refuses, and it
    /// reads nearly all of them.
    #[test]
    fn demo_export_lines_read_as_arrow_json_reads_them() {
        use std::io::Read;
        let full = crate::schema::read_schema(&[]);
        let schema: SchemaRef = Arc::new(Schema::new(
            full.fields()
                .iter()
                .filter(|f| f.name() != crate::schema::UNKNOWN_FIELDS)
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kura/demo/ga4");
        let mut decoder = LineDecoder::new(&schema).expect("the export's types are supported");
        // Lines read by the fast path, and lines arrow-json reads that it leaves to arrow-json.
        let (mut lines, mut fast, mut left) = (0, 0, 0);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("demo export")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "gz"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        for path in files {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("open"))
                .read_to_string(&mut text)
                .expect("gzip");
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                lines += 1;
                let line = format!("{line}\n");
                let expected = reference(&schema, &line);
                match decoder.decode(line.as_bytes(), &starts(&line)) {
                    Some(batch) => {
                        fast += 1;
                        assert_eq!(Some(batch), expected, "{}: {line}", path.display());
                    }
                    None => left += usize::from(expected.is_some()),
                }
            }
        }
        assert!(lines > 1000, "{lines} lines");
        eprintln!(
            "{fast} of {lines} lines read by the fast path, {left} valid ones left to arrow-json"
        );
        assert!(
            left * 100 <= lines,
            "{left} of {lines} valid lines left to arrow-json"
        );
    }

    #[test]
    fn unsupported_types_are_refused_up_front() {
        let schema = Arc::new(Schema::new(vec![Field::new("d", DataType::Date32, true)]));
        assert!(LineDecoder::new(&schema).is_none());
    }
}
