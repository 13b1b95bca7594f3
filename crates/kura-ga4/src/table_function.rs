//! `ga4_flatten('dataset.table')`: the flattening as a table function, for any table of the
//! export's shape (`SELECT * FROM ga4_flatten('raw.ga4_events') WHERE ...`).
//!
//! Planning reads the table's `event_params` and `user_properties` keys (one scan of those
//! two columns) to fix the output columns; execution streams the table through the same
//! [`EventsLayout`] that builds `ga4.events`. Column names follow the rules of
//! [`crate::keys`], with keys named in the order of the day they were first seen, so they
//! match `ga4.events` of a project that loaded its days in date order. The parameter arrays
//! are read in the export's types (a table loaded by `kura load` from the export's JSON has
//! `int_value` as text); a value that does not fit is an error, not a NULL.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

use arrow::array::{AsArray, BooleanArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionImpl, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{plan_err, DataFusionError, Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use kura_engine::{TableName, TableStore};

use crate::flatten::EventsLayout;
use crate::keys::{assign_columns, count_keys, KeyCounts, KeyScope, ParamList, ParamType};
use crate::schema::{conform_batch, export_schema, EVENT_PARAMS, ITEMS, USER_PROPERTIES};

/// The table function; register it with [`register`](crate::register).
#[derive(Debug)]
pub struct Ga4Flatten {
    store: TableStore,
}

impl Ga4Flatten {
    pub fn new(store: TableStore) -> Self {
        Self { store }
    }
}

impl TableFunctionImpl for Ga4Flatten {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let name = match args {
            [Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _)] => {
                s.clone()
            }
            _ => {
                return plan_err!(
                    "ga4_flatten takes one argument, the table as a string: ga4_flatten('raw.ga4_events')"
                )
            }
        };
        let table = TableName::parse(&name).map_err(|e| DataFusionError::Plan(e.to_string()))?;
        let store = self.store.clone();
        // Planning is synchronous here; opening the table and reading its keys is not.
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| DataFusionError::Execution(format!("ga4_flatten needs a runtime: {e}")))?;
        tokio::task::block_in_place(|| handle.block_on(flattened_table(store, table)))
    }
}

async fn flattened_table(store: TableStore, table: TableName) -> Result<Arc<dyn TableProvider>> {
    let Some(delta) = store
        .open(&table)
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
    else {
        return plan_err!("ga4_flatten: table `{table}` does not exist");
    };
    let source = delta.table_provider().await?;
    let stored = export_shaped(&kura_engine::load::storable_schema(&source.schema()));
    for needed in [EVENT_PARAMS, "event_date"] {
        if stored.field_with_name(needed).is_err() {
            return plan_err!(
                "ga4_flatten: `{table}` does not have the shape of a GA4 export (no `{needed}` column)"
            );
        }
    }
    // Read the keys of both arrays, with the day each was first seen: keys are named in that
    // order, as `ga4.events` names them.
    let ctx = datafusion::prelude::SessionContext::new();
    ctx.register_table("t", source.clone())?;
    let arrays: Vec<&str> = [EVENT_PARAMS, USER_PROPERTIES]
        .into_iter()
        .filter(|c| stored.field_with_name(c).is_ok())
        .collect();
    let select = arrays
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stream = ctx
        .sql(&format!(
            "SELECT CAST(event_date AS VARCHAR), {select} FROM t"
        ))
        .await?
        .execute_stream()
        .await?;
    let mut counts: BTreeMap<(KeyScope, String), KeyCounts> = BTreeMap::new();
    let mut first_seen: BTreeMap<(KeyScope, String), String> = BTreeMap::new();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let dates = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let dates = dates.as_string::<i32>();
        // A day's rows at a time; a missing date sorts last.
        let days: BTreeSet<Option<&str>> = dates.iter().collect();
        for day in days {
            let mask: BooleanArray = dates.iter().map(|d| Some(d == day)).collect();
            let rows = arrow::compute::filter_record_batch(&batch, &mask)?;
            for (i, name) in arrays.iter().enumerate() {
                let scope = if *name == EVENT_PARAMS {
                    KeyScope::Event
                } else {
                    KeyScope::User
                };
                let target = stored.field_with_name(name)?.data_type().clone();
                let column = conform_column(rows.column(i + 1), &target).map_err(|e| {
                    DataFusionError::Plan(format!(
                        "ga4_flatten: `{table}`.{name} does not have the shape of the export's ({e})"
                    ))
                })?;
                let mut day_counts = BTreeMap::new();
                if let Some(p) = ParamList::new(column.as_ref()) {
                    count_keys(&p, &mut day_counts);
                }
                let day = day.unwrap_or("\u{10FFFF}").to_string();
                for (key, c) in day_counts {
                    let k = (scope, key);
                    counts.entry(k.clone()).or_default().add(&c);
                    let first = first_seen.entry(k).or_insert_with(|| day.clone());
                    if day < *first {
                        *first = day.clone();
                    }
                }
            }
        }
    }
    let observed: BTreeMap<(KeyScope, String), Option<ParamType>> = counts
        .into_iter()
        .map(|(k, c)| (k, c.observed_type()))
        .collect();
    let mut ordered: Vec<_> = observed.iter().collect();
    ordered.sort_by_key(|(k, _)| (first_seen.get(*k), *k));
    let mut taken: HashSet<String> = EventsLayout::fixed_names(&stored).into_iter().collect();
    let mut columns = Vec::new();
    let _ = assign_columns(&mut columns, ordered, &mut taken);
    let layout = EventsLayout::new(&stored, &columns);
    Ok(Arc::new(FlattenedTable {
        source,
        stored,
        layout,
    }))
}

/// `schema` with its parameter and item arrays in the export's types: a table loaded from
/// the export's JSON by `kura load` has `int_value` as text (BigQuery writes INT64 as JSON
/// strings), which the flattening reads as integers.
fn export_shaped(schema: &Schema) -> SchemaRef {
    let export = export_schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match export.field_with_name(f.name()) {
            Ok(e) if [EVENT_PARAMS, USER_PROPERTIES, ITEMS].contains(&f.name().as_str()) => {
                f.as_ref().clone().with_data_type(e.data_type().clone())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn conform_column(
    column: &arrow::array::ArrayRef,
    target: &arrow::datatypes::DataType,
) -> Result<arrow::array::ArrayRef> {
    let schema = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("c", column.data_type().clone(), true),
    ]));
    let batch = arrow::record_batch::RecordBatch::try_new(schema, vec![column.clone()])?;
    let target = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("c", target.clone(), true),
    ]));
    Ok(conform_batch(&batch, &target)?.column(0).clone())
}

/// The flattened view of one table.
#[derive(Debug)]
struct FlattenedTable {
    source: Arc<dyn TableProvider>,
    /// The source's schema in stored types: what each scanned batch is converted to.
    stored: SchemaRef,
    layout: EventsLayout,
}

#[async_trait]
impl TableProvider for FlattenedTable {
    fn schema(&self) -> SchemaRef {
        self.layout.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.source.scan(state, None, &[], None).await?;
        Ok(Arc::new(FlattenExec::new(
            input,
            self.stored.clone(),
            self.layout.clone(),
            projection.cloned(),
        )))
    }
}

/// Flattens each batch of its input into the wide layout.
#[derive(Debug)]
struct FlattenExec {
    input: Arc<dyn ExecutionPlan>,
    stored: SchemaRef,
    layout: EventsLayout,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl FlattenExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        stored: SchemaRef,
        layout: EventsLayout,
        projection: Option<Vec<usize>>,
    ) -> Self {
        let full = layout.schema();
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p).unwrap_or_else(|_| full.as_ref().clone())),
            None => full,
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            input.properties().output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            input,
            stored,
            layout,
            projection,
            schema,
            properties,
        }
    }
}

impl DisplayAs for FlattenExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Ga4FlattenExec: {} columns", self.schema.fields().len())
    }
}

impl ExecutionPlan for FlattenExec {
    fn name(&self) -> &'static str {
        "Ga4FlattenExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return plan_err!("Ga4FlattenExec has one input");
        }
        Ok(Arc::new(FlattenExec::new(
            children.swap_remove(0),
            self.stored.clone(),
            self.layout.clone(),
            self.projection.clone(),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let stored = self.stored.clone();
        let layout = self.layout.clone();
        let projection = self.projection.clone();
        let stream = input.map(move |batch| {
            let batch = conform_batch(&batch?, &stored)?;
            let wide = layout.flatten(&batch)?;
            Ok(match &projection {
                Some(p) => wide.project(p)?,
                None => wide,
            })
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}
