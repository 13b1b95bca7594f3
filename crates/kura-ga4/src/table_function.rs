//! `ga4_flatten('dataset.table')`: the flattening as a table function, for any table of the
//! export's shape (`SELECT * FROM ga4_flatten('raw.ga4_events') WHERE ...`).
//!
//! Planning reads the table's `event_params` and `user_properties` keys (one scan of those
//! two columns) to fix the output columns; execution streams the table through the same
//! [`EventsLayout`] that builds `ga4.events`. Column names follow the rules of
//! [`crate::keys`], with keys named in byte order, so they match `ga4.events` unless keys
//! that collide after sanitising arrived on different days.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
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
use crate::schema::{conform_batch, EVENT_PARAMS, USER_PROPERTIES};

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
    let stored = Arc::new(kura_engine::load::storable_schema(&source.schema()));
    for needed in [EVENT_PARAMS, "event_date"] {
        if stored.field_with_name(needed).is_err() {
            return plan_err!(
                "ga4_flatten: `{table}` does not have the shape of a GA4 export (no `{needed}` column)"
            );
        }
    }
    // Read the keys of both arrays.
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
        .sql(&format!("SELECT {select} FROM t"))
        .await?
        .execute_stream()
        .await?;
    let mut counts: [BTreeMap<String, KeyCounts>; 2] = Default::default();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        for (i, name) in arrays.iter().enumerate() {
            let scope = if *name == EVENT_PARAMS { 0 } else { 1 };
            let column = batch.column(i);
            let target = stored.field_with_name(name)?.data_type().clone();
            let column = conform_column(column, &target)?;
            if let Some(p) = ParamList::new(column.as_ref()) {
                count_keys(&p, &mut counts[scope]);
            }
        }
    }
    let mut observed: BTreeMap<(KeyScope, String), Option<ParamType>> = BTreeMap::new();
    for (scope, map) in [KeyScope::Event, KeyScope::User].into_iter().zip(counts) {
        for (key, c) in map {
            observed.insert((scope, key), c.observed_type());
        }
    }
    let mut taken: HashSet<String> = EventsLayout::fixed_names(&stored).into_iter().collect();
    let mut columns = Vec::new();
    let _ = assign_columns(&mut columns, &observed, &mut taken);
    let layout = EventsLayout::new(&stored, &columns);
    Ok(Arc::new(FlattenedTable {
        source,
        stored,
        layout,
    }))
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
