//! Parameter keys: what types each key's values come in, the column type that holds them
//! all without loss, and the column name a key gets.
//!
//! Typing (coalescing the value fields `string_value`, `int_value`, `double_value`,
//! `float_value`, first non-null wins):
//! - only ints: INT64; only floats/doubles: FLOAT64; ints and doubles: FLOAT64;
//! - any string: STRING, each value as written (`"1"` and `1` both read `"1"`);
//! - no value set yet (the key came with empty values only): NULL, a column of STRING that is
//!   all NULL, typed by the first values that come.
//!
//! A type only widens: NULL to INT64 to FLOAT64 to STRING. A column never narrows once
//! created.
//!
//! Naming: the prefix (`param_`, `user_`) and the key, lower-cased, with every character
//! other than a letter, a digit or `_` replaced by `_`, runs of `_` collapsed and trimmed
//! (`Page Type` and `page-type` both give `param_page_type`; `ページ種別` stays
//! `param_ページ種別`). When that name is taken, by a column of the export (a user property
//! `id` would be `user_id`) or by another key, the key gets the first free `_2`, `_3`, ...
//! suffix. Keys are named in the order they were first seen: by event date, then in byte
//! order of the key for keys first seen on the same day. A name once given is kept. So
//! loading days one at a time or all at once gives the same names, as long as days are loaded
//! in date order; `ga4_flatten` names the same way.

use std::collections::{BTreeMap, HashSet};

use arrow::array::{
    Array, Float64Array, Int64Array, ListArray, StringArray, StringBuilder, StructArray,
};
use arrow::datatypes::DataType;

/// Which array a key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScope {
    Event,
    User,
    Item,
}

impl KeyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Event => "event_params",
            KeyScope::User => "user_properties",
            KeyScope::Item => "item_params",
        }
    }

    pub fn parse(s: &str) -> Option<KeyScope> {
        Some(match s {
            "event_params" => KeyScope::Event,
            "user_properties" => KeyScope::User,
            "item_params" => KeyScope::Item,
            _ => return None,
        })
    }

    /// The column name prefix in the wide tables.
    pub fn prefix(self) -> &'static str {
        match self {
            KeyScope::Event | KeyScope::Item => "param_",
            KeyScope::User => "user_",
        }
    }
}

/// A parameter column's type, in order of generality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParamType {
    /// No value seen yet: any type holds the column's values, which are all NULL.
    Null,
    Int64,
    Float64,
    String,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Null => "NULL",
            ParamType::Int64 => "INT64",
            ParamType::Float64 => "FLOAT64",
            ParamType::String => "STRING",
        }
    }

    pub fn parse(s: &str) -> Option<ParamType> {
        Some(match s {
            "NULL" => ParamType::Null,
            "INT64" => ParamType::Int64,
            "FLOAT64" => ParamType::Float64,
            "STRING" => ParamType::String,
            _ => return None,
        })
    }

    pub fn data_type(self) -> DataType {
        match self {
            ParamType::Int64 => DataType::Int64,
            ParamType::Float64 => DataType::Float64,
            ParamType::String | ParamType::Null => DataType::Utf8,
        }
    }

    /// The type that holds values of both without loss.
    pub fn widen(self, other: ParamType) -> ParamType {
        self.max(other)
    }
}

/// How often a key's values came in each field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyCounts {
    pub string: u64,
    pub int: u64,
    pub double: u64,
    /// Entries with the key but no value in any field.
    pub null: u64,
}

impl KeyCounts {
    pub fn add(&mut self, other: &KeyCounts) {
        self.string += other.string;
        self.int += other.int;
        self.double += other.double;
        self.null += other.null;
    }

    pub fn entries(&self) -> u64 {
        self.string + self.int + self.double + self.null
    }

    /// How many of the value types (string, int, float/double) the values came in; more than
    /// one is a mixed key.
    pub fn value_types(&self) -> usize {
        [self.string, self.int, self.double]
            .iter()
            .filter(|n| **n > 0)
            .count()
    }

    /// The narrowest type that holds every value seen; `None` when no value was set.
    pub fn observed_type(&self) -> Option<ParamType> {
        if self.string > 0 {
            Some(ParamType::String)
        } else if self.double > 0 {
            Some(ParamType::Float64)
        } else if self.int > 0 {
            Some(ParamType::Int64)
        } else {
            None
        }
    }
}

/// Which field of a parameter's value is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueField {
    String,
    Int,
    Double,
    Float,
}

impl ValueField {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueField::String => "string",
            ValueField::Int => "int",
            ValueField::Double => "double",
            ValueField::Float => "float",
        }
    }
}

/// A view of an `ARRAY<STRUCT<key, value STRUCT<string_value, int_value, float_value,
/// double_value[, set_timestamp_micros]>>>` column, found by field name.
pub struct ParamList<'a> {
    pub list: &'a ListArray,
    pub keys: Option<&'a StringArray>,
    value: Option<&'a StructArray>,
    pub string_value: Option<&'a StringArray>,
    pub int_value: Option<&'a Int64Array>,
    pub float_value: Option<&'a Float64Array>,
    pub double_value: Option<&'a Float64Array>,
    pub set_timestamp_micros: Option<&'a Int64Array>,
}

fn child<'a, T: 'static>(s: Option<&'a StructArray>, name: &str) -> Option<&'a T> {
    s?.column_by_name(name)?.as_any().downcast_ref::<T>()
}

impl<'a> ParamList<'a> {
    /// `None` when `array` is not a list of structs.
    pub fn new(array: &'a dyn Array) -> Option<ParamList<'a>> {
        let list = array.as_any().downcast_ref::<ListArray>()?;
        let entries = list.values().as_any().downcast_ref::<StructArray>()?;
        let value = child::<StructArray>(Some(entries), "value");
        Some(ParamList {
            list,
            keys: child::<StringArray>(Some(entries), "key"),
            value,
            string_value: child(value, "string_value"),
            int_value: child(value, "int_value"),
            float_value: child(value, "float_value"),
            double_value: child(value, "double_value"),
            set_timestamp_micros: child(value, "set_timestamp_micros"),
        })
    }

    /// The entry range of row `row`, empty for a NULL array.
    pub fn entries(&self, row: usize) -> std::ops::Range<usize> {
        if self.list.is_null(row) {
            return 0..0;
        }
        let offsets = self.list.value_offsets();
        offsets[row] as usize..offsets[row + 1] as usize
    }

    pub fn key(&self, entry: usize) -> Option<&'a str> {
        let keys = self.keys?;
        keys.is_valid(entry).then(|| keys.value(entry))
    }

    /// The field that holds entry `entry`'s value: string, then int, then double, then float.
    pub fn field(&self, entry: usize) -> Option<ValueField> {
        if self.value.is_some_and(|v| v.is_null(entry)) {
            return None;
        }
        if self.string_value.is_some_and(|a| a.is_valid(entry)) {
            Some(ValueField::String)
        } else if self.int_value.is_some_and(|a| a.is_valid(entry)) {
            Some(ValueField::Int)
        } else if self.double_value.is_some_and(|a| a.is_valid(entry)) {
            Some(ValueField::Double)
        } else if self.float_value.is_some_and(|a| a.is_valid(entry)) {
            Some(ValueField::Float)
        } else {
            None
        }
    }

    pub fn as_i64(&self, entry: usize) -> Option<i64> {
        match self.field(entry)? {
            ValueField::Int => self.int_value.map(|a| a.value(entry)),
            _ => None,
        }
    }

    pub fn as_f64(&self, entry: usize) -> Option<f64> {
        match self.field(entry)? {
            ValueField::Int => self.int_value.map(|a| a.value(entry) as f64),
            ValueField::Double => self.double_value.map(|a| a.value(entry)),
            ValueField::Float => self.float_value.map(|a| a.value(entry)),
            ValueField::String => None,
        }
    }

    /// Appends the value as written, whichever field holds it (floats as
    /// [`format_float`]), to `out`; NULL when the entry has no value.
    pub fn append_string(&self, entry: Option<usize>, out: &mut StringBuilder) {
        use std::fmt::Write;
        let Some((e, field)) = entry.and_then(|e| Some((e, self.field(e)?))) else {
            out.append_null();
            return;
        };
        // Writing into a StringBuilder cannot fail; `append_value("")` ends the value written.
        match field {
            ValueField::String => match self.string_value {
                Some(a) => out.append_value(a.value(e)),
                None => out.append_null(),
            },
            ValueField::Int => match self.int_value {
                Some(a) => {
                    let _ = write!(out, "{}", a.value(e));
                    out.append_value("");
                }
                None => out.append_null(),
            },
            ValueField::Double | ValueField::Float => {
                let array = match field {
                    ValueField::Double => self.double_value,
                    _ => self.float_value,
                };
                match array {
                    Some(a) => {
                        let _ = write_float(out, a.value(e));
                        out.append_value("");
                    }
                    None => out.append_null(),
                }
            }
        }
    }
}

/// A float as BigQuery's `CAST(x AS STRING)` writes it: shortest round-trip digits, no
/// trailing `.0` (`3`, `0.25`), `inf`, `-inf` and `nan`.
pub fn format_float(x: f64) -> String {
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = write_float(&mut text, x);
    text
}

/// [`format_float`] into any writer.
fn write_float(out: &mut impl std::fmt::Write, x: f64) -> std::fmt::Result {
    if x.is_nan() {
        out.write_str("nan")
    } else if x.is_infinite() {
        out.write_str(if x > 0.0 { "inf" } else { "-inf" })
    } else {
        write!(out, "{x}")
    }
}

/// Counts, per key, the fields its values came in, over every row of `params`.
pub fn count_keys(params: &ParamList<'_>, into: &mut BTreeMap<String, KeyCounts>) {
    let Some(keys) = params.keys else { return };
    let range = if params.list.is_empty() {
        0..0
    } else {
        let offsets = params.list.value_offsets();
        offsets[0] as usize..offsets[params.list.len()] as usize
    };
    for entry in range {
        if keys.is_null(entry) {
            continue;
        }
        let key = keys.value(entry);
        let counts = match into.get_mut(key) {
            Some(c) => c,
            None => into.entry(key.to_string()).or_default(),
        };
        match params.field(entry) {
            Some(ValueField::String) => counts.string += 1,
            Some(ValueField::Int) => counts.int += 1,
            Some(ValueField::Double | ValueField::Float) => counts.double += 1,
            None => counts.null += 1,
        }
    }
}

/// A key's column in a wide table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyColumn {
    pub scope: KeyScope,
    pub key: String,
    pub column: String,
    pub param_type: ParamType,
}

/// A change of a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widening {
    pub scope: KeyScope,
    pub key: String,
    pub column: String,
    pub from: ParamType,
    pub to: ParamType,
}

/// Turns a key into the name part of a column name (see the module docs).
pub fn sanitize_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars().flat_map(char::to_lowercase) {
        let c = if c.is_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() {
        "key".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Columns for keys seen for the first time and types widened by what was observed. `taken`
/// holds every column name of the table the keys go to; new names are added to it. New keys
/// are named in the order `observed` gives them: by the day they were first seen, then by
/// key (see the module docs).
pub fn assign_columns<'a>(
    existing: &mut Vec<KeyColumn>,
    observed: impl IntoIterator<Item = (&'a (KeyScope, String), &'a Option<ParamType>)>,
    taken: &mut HashSet<String>,
) -> (Vec<KeyColumn>, Vec<Widening>) {
    let mut added = Vec::new();
    let mut widened = Vec::new();
    for ((scope, key), seen) in observed {
        if let Some(col) = existing
            .iter_mut()
            .find(|c| c.scope == *scope && c.key == *key)
        {
            if let Some(seen) = seen {
                let to = col.param_type.widen(*seen);
                if to != col.param_type {
                    widened.push(Widening {
                        scope: *scope,
                        key: key.clone(),
                        column: col.column.clone(),
                        from: col.param_type,
                        to,
                    });
                    col.param_type = to;
                }
            }
            continue;
        }
        let base = format!("{}{}", scope.prefix(), sanitize_key(key));
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        taken.insert(name.clone());
        let col = KeyColumn {
            scope: *scope,
            key: key.clone(),
            column: name,
            param_type: seen.unwrap_or(ParamType::Null),
        };
        existing.push(col.clone());
        added.push(col);
    }
    (added, widened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sanitised() {
        assert_eq!(sanitize_key("page_location"), "page_location");
        assert_eq!(sanitize_key("Page Type"), "page_type");
        assert_eq!(sanitize_key("page-type"), "page_type");
        assert_eq!(sanitize_key("--a..b--"), "a_b");
        assert_eq!(sanitize_key("ページ種別"), "ページ種別");
        assert_eq!(sanitize_key("!!!"), "key");
    }

    #[test]
    fn types_widen_and_never_narrow() {
        let c = |string, int, double| KeyCounts {
            string,
            int,
            double,
            null: 0,
        };
        assert_eq!(c(0, 3, 0).observed_type(), Some(ParamType::Int64));
        assert_eq!(c(0, 3, 1).observed_type(), Some(ParamType::Float64));
        assert_eq!(c(1, 3, 1).observed_type(), Some(ParamType::String));
        assert_eq!(c(0, 0, 0).observed_type(), None);
        assert_eq!(ParamType::String.widen(ParamType::Int64), ParamType::String);
    }

    #[test]
    fn collisions_get_deterministic_suffixes() {
        let mut existing = Vec::new();
        let mut taken: HashSet<String> = ["user_id".to_string()].into();
        let mut observed = BTreeMap::new();
        for key in ["page-type", "Page Type", "page_type"] {
            observed.insert((KeyScope::Event, key.to_string()), Some(ParamType::String));
        }
        observed.insert((KeyScope::User, "id".to_string()), Some(ParamType::Int64));
        let (added, _) = assign_columns(&mut existing, &observed, &mut taken);
        let names: Vec<(&str, &str)> = added
            .iter()
            .map(|c| (c.key.as_str(), c.column.as_str()))
            .collect();
        // Byte order of the keys: "Page Type" < "page-type" < "page_type".
        assert_eq!(
            names,
            [
                ("Page Type", "param_page_type"),
                ("page-type", "param_page_type_2"),
                ("page_type", "param_page_type_3"),
                ("id", "user_id_2"),
            ]
        );
        // Later: a string value widens an int column; existing names stay.
        let mut later = BTreeMap::new();
        later.insert((KeyScope::User, "id".to_string()), Some(ParamType::String));
        let (added, widened) = assign_columns(&mut existing, &later, &mut taken);
        assert!(added.is_empty());
        assert_eq!(widened.len(), 1);
        assert_eq!(
            (widened[0].from, widened[0].to),
            (ParamType::Int64, ParamType::String)
        );
    }
}
