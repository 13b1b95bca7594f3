//! GoogleSQL `APPROX_QUANTILES([DISTINCT] x, n [{IGNORE | RESPECT} NULLS])`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, RecordBatch, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::compute::kernels::partition::partition;
use arrow::compute::{concat, filter, is_not_null, sort_to_indices, take, SortOptions};
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::{plan_datafusion_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, Documentation, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion_macros::user_doc;

/// GoogleSQL `APPROX_QUANTILES(x, n)`: the boundaries of `n` equal-sized groups of the
/// values, as an array of `n + 1` elements from the minimum to the maximum.
///
/// BigQuery computes them approximately; kura computes them exactly, which is within any
/// approximation bound: element `k` is the value of rank `ceil(k·N/n)` (1-based) among the `N`
/// sorted values, the minimum for `k = 0`. That reproduces the documentation's examples
/// (`APPROX_QUANTILES(x, 2)` over `1, 1, 1, 4, 5, 6, 7, 8, 9, 10` is `[1, 5, 10]`). The cost is
/// memory: every value of a group is held until the group is finished. NULLs are ignored
/// unless `RESPECT NULLS` is given, then they sort first; `DISTINCT` ranks distinct values.
/// kura-sql adds the `IGNORE NULLS` GoogleSQL implies, since DataFusion's own default is to
/// respect them.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "The n-quantile boundaries of the values, as an ARRAY of n + 1 elements from minimum to maximum.",
    syntax_example = "approx_quantiles([DISTINCT] expression, number [IGNORE NULLS | RESPECT NULLS])",
    sql_example = r#"```sql
> SELECT APPROX_QUANTILES(x, 2) FROM UNNEST([1, 1, 1, 4, 5, 6, 7, 8, 9, 10]) AS x;
[1, 5, 10]
> SELECT APPROX_QUANTILES(x, 100)[OFFSET(90)] FROM UNNEST([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) AS x;
9
```"#,
    argument(name = "expression", description = "Values of any orderable type."),
    argument(
        name = "number",
        description = "INT64 literal: the number of quantiles."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ApproxQuantilesFunc {
    signature: Signature,
}

impl Default for ApproxQuantilesFunc {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ApproxQuantilesFunc {
    fn name(&self) -> &str {
        "approx_quantiles"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_), _] => {
                plan_err!("APPROX_QUANTILES does not take ARRAY or STRUCT values")
            }
            [value, n] if n.is_integer() || n.is_null() => Ok(list_of(value)),
            [_, n] => plan_err!("APPROX_QUANTILES needs an INT64 number of quantiles, got {n}"),
            _ => plan_err!("APPROX_QUANTILES takes a value and a number of quantiles"),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[values]", args.name),
            list_of(args.input_fields[0].data_type()),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let ([_, number], [value, _]) = (args.exprs, args.expr_fields) else {
            return plan_err!("APPROX_QUANTILES takes a value and a number of quantiles");
        };
        Ok(Box::new(QuantilesAccumulator {
            data_type: value.data_type().clone(),
            quantiles: quantile_count(number)?,
            ignore_nulls: args.ignore_nulls,
            distinct: args.is_distinct,
            values: Vec::new(),
        }))
    }

    fn supports_null_handling_clause(&self) -> bool {
        true
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn list_of(t: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(t.clone(), true)))
}

/// The `number` argument, which GoogleSQL requires to be a positive INT64 literal.
fn quantile_count(expr: &Arc<dyn PhysicalExpr>) -> Result<usize> {
    let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let value = match expr.evaluate(&empty) {
        Ok(ColumnarValue::Scalar(s)) => s,
        _ => return plan_err!("APPROX_QUANTILES needs a literal number of quantiles, got {expr}"),
    };
    let n = match value.cast_to(&DataType::Int64)? {
        ScalarValue::Int64(Some(n)) => n,
        _ => return plan_err!("APPROX_QUANTILES number of quantiles must not be NULL"),
    };
    usize::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
        plan_datafusion_err!("APPROX_QUANTILES number of quantiles must be positive, got {n}")
    })
}

/// Holds the values of one group until its quantiles are asked for.
#[derive(Debug)]
struct QuantilesAccumulator {
    data_type: DataType,
    quantiles: usize,
    ignore_nulls: bool,
    distinct: bool,
    values: Vec<ArrayRef>,
}

impl QuantilesAccumulator {
    fn keep(&mut self, values: &ArrayRef) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let kept = if self.ignore_nulls && values.null_count() > 0 {
            filter(values.as_ref(), &is_not_null(values.as_ref())?)?
        } else {
            Arc::clone(values)
        };
        if !kept.is_empty() {
            self.values.push(kept);
        }
        Ok(())
    }

    fn all_values(&self) -> Result<ArrayRef> {
        if self.values.is_empty() {
            return Ok(arrow::array::new_empty_array(&self.data_type));
        }
        let parts: Vec<&dyn Array> = self.values.iter().map(|a| a.as_ref()).collect();
        Ok(concat(&parts)?)
    }
}

impl Accumulator for QuantilesAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(v) => self.keep(v),
            None => Ok(()),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first() else {
            return Ok(());
        };
        let lists = lists.as_list::<i32>();
        for row in 0..lists.len() {
            if lists.is_valid(row) {
                let values = lists.value(row);
                self.keep(&values)?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = self.all_values()?;
        self.values = vec![Arc::clone(&values)];
        Ok(vec![ScalarValue::List(Arc::new(single_list(values)))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let values = self.all_values()?;
        // GoogleSQL: NULL when there are no rows or every value is NULL.
        if values.len() == values.null_count() {
            return ScalarValue::try_from(list_of(&self.data_type));
        }
        let options = SortOptions {
            descending: false,
            nulls_first: true,
        };
        let order = sort_to_indices(values.as_ref(), Some(options), None)?;
        let mut sorted = take(values.as_ref(), &order, None)?;
        if self.distinct {
            let firsts: UInt32Array = partition(&[Arc::clone(&sorted)])?
                .ranges()
                .into_iter()
                .map(|r| r.start as u32)
                .collect();
            sorted = take(sorted.as_ref(), &firsts, None)?;
        }
        let count = sorted.len();
        let n = self.quantiles;
        // Element k is rank ceil(k·count/n), 1-based; rank 1 for k = 0.
        let picks: UInt32Array = (0..=n)
            .map(|k| ((k * count).div_ceil(n)).saturating_sub(1) as u32)
            .collect();
        let boundaries = take(sorted.as_ref(), &picks, None)?;
        Ok(ScalarValue::List(Arc::new(single_list(boundaries))))
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self
                .values
                .iter()
                .map(|a| a.get_array_memory_size())
                .sum::<usize>()
    }
}

/// A one-row list array holding `values`.
fn single_list(values: ArrayRef) -> ListArray {
    let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    ListArray::new(
        field,
        OffsetBuffer::from_lengths([values.len()]),
        values,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    /// The boundaries, `None` for a NULL result.
    fn quantiles(
        values: Vec<Option<i64>>,
        n: usize,
        ignore_nulls: bool,
        distinct: bool,
    ) -> Option<Vec<Option<i64>>> {
        let mut acc = QuantilesAccumulator {
            data_type: DataType::Int64,
            quantiles: n,
            ignore_nulls,
            distinct,
            values: Vec::new(),
        };
        let (a, b) = values.split_at(values.len() / 2);
        acc.update_batch(&[Arc::new(Int64Array::from(a.to_vec())) as ArrayRef])
            .expect("update");
        // The second half goes through a partial state, as in a two-phase aggregation.
        let mut other = QuantilesAccumulator {
            values: Vec::new(),
            ..acc.clone_config()
        };
        other
            .update_batch(&[Arc::new(Int64Array::from(b.to_vec())) as ArrayRef])
            .expect("update");
        let state = other.state().expect("state");
        let state = state[0].to_array().expect("state array");
        acc.merge_batch(&[state]).expect("merge");
        match acc.evaluate().expect("evaluate") {
            ScalarValue::List(list) if list.is_valid(0) => Some(
                list.value(0)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .iter()
                    .collect(),
            ),
            _ => None,
        }
    }

    impl QuantilesAccumulator {
        fn clone_config(&self) -> Self {
            Self {
                data_type: self.data_type.clone(),
                quantiles: self.quantiles,
                ignore_nulls: self.ignore_nulls,
                distinct: self.distinct,
                values: Vec::new(),
            }
        }
    }

    #[test]
    fn matches_the_documented_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/approximate_aggregate_functions#approx_quantiles
        let data = || {
            vec![1, 1, 1, 4, 5, 6, 7, 8, 9, 10]
                .into_iter()
                .map(Some)
                .collect::<Vec<_>>()
        };
        let some = |v: &[Option<i64>]| Some(v.to_vec());
        assert_eq!(
            quantiles(data(), 2, true, false),
            some(&[Some(1), Some(5), Some(10)])
        );
        assert_eq!(
            quantiles(data(), 2, true, true),
            some(&[Some(1), Some(6), Some(10)])
        );
        let with_nulls = || {
            let mut v = vec![None, None];
            v.extend(data());
            v
        };
        assert_eq!(
            quantiles(with_nulls(), 2, false, false),
            some(&[None, Some(4), Some(10)])
        );
        assert_eq!(
            quantiles(with_nulls(), 2, false, true),
            some(&[None, Some(6), Some(10)])
        );
        assert_eq!(
            quantiles(with_nulls(), 2, true, false),
            some(&[Some(1), Some(5), Some(10)])
        );
        let one_to_ten = (1..=10).map(Some).collect();
        let hundred = quantiles(one_to_ten, 100, true, false).expect("101 boundaries");
        assert_eq!((hundred.len(), hundred[90]), (101, Some(9)));
        assert_eq!(quantiles(vec![None, None], 2, true, false), None);
    }
}
