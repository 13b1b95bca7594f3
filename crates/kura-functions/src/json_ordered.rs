//! JSON that keeps its objects' keys in document order, for the functions that return JSON
//! text (`JSON_QUERY`): BigQuery writes an extracted object back with its keys as they were,
//! while `serde_json::Value` (without its `preserve_order` feature, which would change every
//! other user of serde_json in the build) sorts them.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::json_path::Step;

/// A parsed JSON value whose objects are lists of (key, value) in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OrderedJson {
    /// null, a boolean, a number or a string.
    Scalar(Value),
    Array(Vec<OrderedJson>),
    Object(Vec<(String, OrderedJson)>),
}

impl OrderedJson {
    /// Parses JSON text; `None` when it is not JSON.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The value at `steps`, or `None` when the path leads nowhere. Of repeated keys the last
    /// wins, as when the text is read into a map.
    pub(crate) fn select(&self, steps: &[Step]) -> Option<&Self> {
        let mut value = self;
        for step in steps {
            value = match (step, value) {
                (Step::Key(k), OrderedJson::Object(entries)) => entries
                    .iter()
                    .rev()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v)?,
                (Step::Index(n), OrderedJson::Array(items)) => items.get(*n)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

/// Compact JSON text (no spaces), keys in document order.
impl fmt::Display for OrderedJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderedJson::Scalar(v) => write!(f, "{v}"),
            OrderedJson::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            OrderedJson::Object(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{value}", Value::String(key.clone()))?;
                }
                f.write_str("}")
            }
        }
    }
}

impl<'de> Deserialize<'de> for OrderedJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = OrderedJson;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::Null))
    }

    fn visit_none<E>(self) -> Result<OrderedJson, E> {
        Ok(OrderedJson::Scalar(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OrderedJson, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(OrderedJson::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedJson, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, OrderedJson>()? {
            entries.push((key, value));
        }
        Ok(OrderedJson::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_path;

    fn query(doc: &str, path: &str) -> Option<String> {
        let steps = json_path::parse(path).expect("path");
        OrderedJson::parse(doc)?
            .select(&steps)
            .map(ToString::to_string)
    }

    #[test]
    fn keeps_key_order_and_writes_compactly() {
        let doc = r#"{"z": 1, "a": {"y": [true, null, "x\"y"], "b": 2.5}, "m": "é"}"#;
        assert_eq!(
            query(doc, "$").as_deref(),
            Some(r#"{"z":1,"a":{"y":[true,null,"x\"y"],"b":2.5},"m":"é"}"#)
        );
        assert_eq!(
            query(doc, "$.a").as_deref(),
            Some(r#"{"y":[true,null,"x\"y"],"b":2.5}"#)
        );
        assert_eq!(query(doc, "$.a.y[2]").as_deref(), Some(r#""x\"y""#));
        assert_eq!(query(doc, "$.a.y[3]"), None);
        assert_eq!(query(doc, "$.z.q"), None);
        assert_eq!(query("not json", "$"), None);
        // Repeated keys: the last wins, as serde_json's map reads them.
        assert_eq!(query(r#"{"k": 1, "k": 2}"#, "$.k").as_deref(), Some("2"));
    }

    #[test]
    fn scalars_print_as_serde_json_prints_them() {
        for doc in [
            "1",
            "-7",
            "18446744073709551615",
            "1.5e300",
            "0.1",
            "\"\\u00e9\\n\"",
            "null",
        ] {
            let ours = OrderedJson::parse(doc).expect("json").to_string();
            let theirs = serde_json::from_str::<Value>(doc)
                .expect("json")
                .to_string();
            assert_eq!(ours, theirs, "{doc}");
        }
    }
}
