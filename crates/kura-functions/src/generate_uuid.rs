use arrow::array::StringBuilder;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity};

/// GoogleSQL `GENERATE_UUID()`: a random (version 4) UUID as lower-case text, one per row.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Returns a random universally unique identifier (UUID) as a STRING.",
    syntax_example = "generate_uuid()",
    sql_example = r#"```sql
> SELECT GENERATE_UUID();
4192bff0-e1e0-43ce-a4db-912808c32493
```"#
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GenerateUuidFunc {
    signature: Signature,
}

impl Default for GenerateUuidFunc {
    fn default() -> Self {
        Self {
            signature: Signature::nullary(Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for GenerateUuidFunc {
    fn name(&self) -> &str {
        "generate_uuid"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[0])?;
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut out = StringBuilder::new();
        for _ in 0..args.number_rows {
            out.append_value(uuid::Uuid::new_v4().to_string());
        }
        Ok(ColumnarValue::Array(arc(out.finish())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
