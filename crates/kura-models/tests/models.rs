//! Models end to end on the embedded warehouse: order, parallelism, failures, plan/apply,
//! incremental builds, dev environments and the errors for bad model files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kura_engine::load::{LoadMode, LoadRequest, NoProgress};
use kura_engine::{Project, QueryContext, TableName, Warehouse};
use kura_models::build::{self, BuildOptions, BuildStatus, Environment};
use kura_models::plan::{self, Action, Impact};
use kura_models::{ModelError, ModelGraph, ModelProject};

struct Fixture {
    dir: tempfile::TempDir,
    wh: Warehouse,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kura_engine::project::config_template("test", "alice")
        .replace("analysts = []", "analysts = [\"bob\"]");
    std::fs::write(dir.path().join("kura.toml"), config).expect("write kura.toml");
    let wh = Warehouse::open(Project::open(dir.path()).expect("open project")).expect("open");
    Fixture { dir, wh }
}

fn options(env: &str) -> BuildOptions {
    BuildOptions {
        env: Environment(env.into()),
        principal: "alice".into(),
        full_refresh: false,
        threads: 4,
        command: "test".into(),
        run_checks: true,
    }
}

impl Fixture {
    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn model(&self, name: &str, sql: &str) -> PathBuf {
        let (dataset, table) = name.split_once('.').expect("dataset.name");
        let dir = self.root().join("models").join(dataset);
        std::fs::create_dir_all(&dir).expect("models dir");
        let path = dir.join(format!("{table}.sql"));
        std::fs::write(&path, sql).expect("write model");
        path
    }

    fn remove_model(&self, name: &str) {
        let (dataset, table) = name.split_once('.').expect("dataset.name");
        std::fs::remove_file(
            self.root()
                .join("models")
                .join(dataset)
                .join(format!("{table}.sql")),
        )
        .expect("remove model");
    }

    async fn load(&self, table: &str, csv: &str, mode: LoadMode) {
        let path = self.root().join(format!("{}-{}.csv", table, uuid()));
        std::fs::write(&path, csv).expect("write csv");
        let mut req = LoadRequest::new(vec![path], TableName::parse(table).expect("name"));
        req.mode = mode;
        self.wh
            .load(&req, "alice", Arc::new(NoProgress))
            .await
            .expect("load");
    }

    fn project(&self) -> Result<(ModelProject, ModelGraph), ModelError> {
        plan::load_project(&self.wh, self.root())
    }

    async fn run(&self, selectors: &[&str], full_refresh: bool) -> build::BuildReport {
        let (project, graph) = self.project().expect("valid project");
        let selectors: Vec<String> = selectors.iter().map(|s| s.to_string()).collect();
        let selected = graph.select(&project, &selectors).expect("selection");
        let mut opts = options("prod");
        opts.full_refresh = full_refresh;
        build::build(&self.wh, &project, &graph, &selected, &opts)
            .await
            .expect("build")
    }

    async fn rows(&self, sql: &str) -> Vec<String> {
        let result = self
            .wh
            .query(sql, &QueryContext::new("alice"))
            .await
            .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"));
        render(&result.batches)
    }

    async fn plan(&self, env: &str) -> kura_models::Plan {
        let (project, graph) = self.project().expect("valid project");
        plan::plan(
            &self.wh,
            &project,
            &graph,
            &Environment(env.into()),
            "alice",
        )
        .await
        .expect("plan")
    }

    async fn apply(
        &self,
        saved: Option<&kura_models::Plan>,
    ) -> Result<(kura_models::Plan, build::BuildReport), ModelError> {
        let (project, graph) = self.project()?;
        plan::apply(&self.wh, &project, &graph, saved, &options("prod")).await
    }
}

fn uuid() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}

fn render(batches: &[arrow::record_batch::RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("cast"))
            .collect();
        for r in 0..b.num_rows() {
            let row: Vec<String> = cols
                .iter()
                .map(|c| {
                    let s = arrow::array::AsArray::as_string::<i32>(c.as_ref());
                    if arrow::array::Array::is_null(s, r) {
                        "NULL".to_string()
                    } else {
                        s.value(r).to_string()
                    }
                })
                .collect();
            out.push(row.join("|"));
        }
    }
    out
}

const ORDERS: &str = "order_id,customer_id,amount,order_date\n1,10,5.0,2024-01-01\n2,10,7.5,2024-01-02\n3,11,2.0,2024-01-03\n";
const CUSTOMERS: &str = "customer_id,name\n10,Ann\n11,Bo\n";

/// A small project: two staging views, two independent marts, one mart over both.
async fn shop(f: &Fixture) {
    f.load("raw.orders", ORDERS, LoadMode::Append).await;
    f.load("raw.customers", CUSTOMERS, LoadMode::Append).await;
    f.model(
        "stg.orders",
        "SELECT order_id, customer_id, amount, order_date FROM raw.orders",
    );
    f.model(
        "stg.customers",
        "SELECT customer_id, name FROM raw.customers",
    );
    f.model(
        "marts.revenue_by_day",
        "/* kura\nmaterialized = \"table\"\ndescription = \"Revenue per day.\"\n*/\nSELECT order_date, SUM(amount) AS revenue FROM stg.orders GROUP BY order_date",
    );
    f.model(
        "marts.customer_names",
        "/* kura\nmaterialized = \"table\"\n*/\nSELECT customer_id, UPPER(name) AS name FROM stg.customers",
    );
    f.model(
        "marts.customers",
        "/* kura\nmaterialized = \"table\"\n*/\nSELECT c.customer_id, c.name, COUNT(o.order_id) AS orders\nFROM marts.customer_names AS c LEFT JOIN stg.orders AS o ON o.customer_id = c.customer_id\nGROUP BY c.customer_id, c.name",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn builds_in_dependency_order_in_parallel_and_labels_queries() {
    let f = fixture();
    shop(&f).await;
    let report = f.run(&[], false).await;
    let order: Vec<&str> = report.results.iter().map(|r| r.model.as_str()).collect();
    let pos = |m: &str| order.iter().position(|x| *x == m).expect("built");
    assert!(pos("stg.customers") < pos("marts.customer_names"));
    assert!(pos("marts.customer_names") < pos("marts.customers"));
    assert!(pos("stg.orders") < pos("marts.customers"));
    assert!(
        report
            .results
            .iter()
            .all(|r| r.status == BuildStatus::Built),
        "{report:?}"
    );
    assert!(
        report.max_parallel >= 2,
        "independent models ran one at a time: {report:?}"
    );
    assert_eq!(
        f.rows("SELECT customer_id, name, orders FROM marts.customers ORDER BY customer_id")
            .await,
        ["10|ANN|2", "11|BO|1"]
    );
    // Views are views, tables are Delta tables.
    assert!(f
        .wh
        .store()
        .view_sql(&TableName::parse("stg.orders").unwrap())
        .is_some());
    assert!(f
        .wh
        .store()
        .exists(&TableName::parse("marts.customers").unwrap()));
    // Every build is in the query log under its model, with the bytes it read.
    let logged = f
        .rows("SELECT l.value, statement_type, bytes_scanned > 0 FROM _kura.query_log, UNNEST(labels) AS l WHERE l.key = 'model' ORDER BY l.value")
        .await;
    assert!(
        logged.contains(&"marts.customers|CREATE TABLE AS|true".to_string()),
        "{logged:?}"
    );
    assert!(
        logged.contains(&"stg.orders|CREATE VIEW|false".to_string()),
        "{logged:?}"
    );
    // Selection: one model and what is downstream of it.
    let report = f.run(&["stg.customers+"], false).await;
    let built: BTreeSet<&str> = report.results.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(
        built,
        BTreeSet::from(["stg.customers", "marts.customer_names", "marts.customers"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_stops_only_its_downstream() {
    let f = fixture();
    shop(&f).await;
    // Planned fine, fails when run: a division by zero on every row.
    f.model(
        "marts.customer_names",
        "/* kura\nmaterialized = \"table\"\n*/\nSELECT customer_id, name, CAST(1 / (customer_id - customer_id) AS INT64) AS boom FROM stg.customers",
    );
    let report = f.run(&[], false).await;
    let status = |m: &str| {
        report
            .results
            .iter()
            .find(|r| r.model == m)
            .map(|r| r.status.clone())
            .expect("listed")
    };
    assert!(
        matches!(status("marts.customer_names"), BuildStatus::Failed(_)),
        "{report:?}"
    );
    assert_eq!(
        status("marts.customers"),
        BuildStatus::Skipped {
            upstream: "marts.customer_names".into()
        }
    );
    assert_eq!(status("marts.revenue_by_day"), BuildStatus::Built);
    assert_eq!(report.failed(), 1);
}

/// A model's checks run right after it is built. An error-severity failure on its own rows
/// fails it and skips what is downstream; a warning does not; a check that reads other tables
/// (here a SQL assertion) runs after the whole build, so it fails the model without skipping.
#[tokio::test(flavor = "multi_thread")]
async fn an_error_severity_check_failure_stops_the_downstream_models() {
    let f = fixture();
    shop(&f).await;
    std::fs::write(
        f.root().join("models/marts/checks.toml"),
        "[customer_names]\n\
         [[customer_names.checks]]\nname = \"known_names\"\ntype = \"accepted_values\"\n\
         column = \"name\"\nvalues = [\"ANN\"]\n\
         [[customer_names.checks]]\nname = \"ids_small\"\ntype = \"accepted_range\"\n\
         column = \"customer_id\"\nmax = 10\nseverity = \"warn\"\n\
         [revenue_by_day]\n\
         [[revenue_by_day.checks]]\nname = \"no_orders_of_customer_11\"\ntype = \"sql\"\n\
         sql = \"SELECT * FROM stg.orders WHERE customer_id = 11\"\n",
    )
    .expect("write checks");
    let report = f.run(&[], false).await;
    let result = |m: &str| {
        report
            .results
            .iter()
            .find(|r| r.model == m)
            .cloned()
            .expect("listed")
    };
    let names = result("marts.customer_names");
    let BuildStatus::Failed(why) = &names.status else {
        panic!("{report:?}");
    };
    assert!(why.contains("known_names"), "{why}");
    let statuses: Vec<(&str, &str)> = names
        .checks
        .iter()
        .map(|c| (c.check_name.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(statuses, [("known_names", "fail"), ("ids_small", "warn")]);
    assert_eq!(
        result("marts.customers").status,
        BuildStatus::Skipped {
            upstream: "marts.customer_names".into()
        }
    );
    let revenue = result("marts.revenue_by_day");
    let BuildStatus::Failed(why) = &revenue.status else {
        panic!("{report:?}");
    };
    assert!(why.contains("no_orders_of_customer_11"), "{why}");
    assert_eq!(report.failed(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn cycles_and_bad_files_are_reported_with_their_place() {
    let f = fixture();
    f.load("raw.orders", ORDERS, LoadMode::Append).await;
    f.model(
        "stg.a",
        "SELECT order_id FROM raw.orders\nUNION ALL\nSELECT order_id FROM stg.b",
    );
    f.model("stg.b", "SELECT order_id\nFROM   stg.a");
    let err = f.project().unwrap_err().to_string();
    // Data flows b -> a -> b; the reference that closes the loop is a's read of b.
    assert!(err.contains("models/stg/a.sql:3:22: models depend on each other in a cycle: stg.b -> stg.a -> stg.b"), "{err}");

    let f = fixture();
    f.load("raw.orders", ORDERS, LoadMode::Append).await;
    f.model("stg.ddl", "CREATE TABLE stg.x AS SELECT 1 AS a");
    f.model("stg.two", "SELECT 1 AS a;\nSELECT 2 AS a");
    f.model(
        "stg.header",
        "/* kura\nmaterialised = \"table\"\n*/\nSELECT 1 AS a",
    );
    f.model(
        "stg.missing",
        "SELECT *\nFROM raw.orders JOIN raw.ordres USING (order_id)",
    );
    f.model("stg.parse", "SELECT order_id FROM raw.orders WHERE");
    let err = f.project().unwrap_err();
    let ModelError::Invalid(problems) = &err else {
        panic!("expected a list of problems, got {err}");
    };
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let find = |needle: &str| {
        text.iter()
            .find(|t| t.contains(needle))
            .unwrap_or_else(|| panic!("no problem mentions {needle}: {text:#?}"))
            .clone()
    };
    assert!(find("ddl.sql")
        .starts_with("models/stg/ddl.sql:1:1: a model is one SELECT, but this is `CREATE TABLE"));
    assert!(find("two.sql").starts_with(
        "models/stg/two.sql:2:1: a model is one SELECT, but this file holds 2 statements"
    ));
    let header = find("header.sql");
    assert!(
        header.starts_with(
            "models/stg/header.sql:2:1: invalid model header: unknown field `materialised`"
        ),
        "{header}"
    );
    assert!(header.contains("did you mean `materialized`?"), "{header}");
    assert!(find("parse.sql").starts_with("models/stg/parse.sql:1:"));
    // Unknown tables are found once the files parse.
    for bad in ["ddl", "two", "header", "parse"] {
        f.remove_model(&format!("stg.{bad}"));
    }
    let err = f.project().unwrap_err().to_string();
    assert!(err.contains("models/stg/missing.sql:2:22: `stg.missing` reads `raw.ordres`, which is neither a model nor a table in the warehouse"), "{err}");
    // Nothing was built or recorded.
    assert!(!f
        .wh
        .store()
        .exists(&TableName::parse("_kura.models").unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_classifies_changes_and_apply_does_exactly_the_plan() {
    let f = fixture();
    shop(&f).await;
    let first = f.plan("prod").await;
    assert_eq!(first.changes.len(), 5);
    assert!(first.changes.iter().all(|c| c.action == Action::Create));
    // A new table's first build reads at most the existing tables underneath it (through
    // views); one reading a table built in the same plan says its estimate leaves that out.
    // A view scans nothing when it is created.
    let raw_orders =
        f.wh.table_info(&TableName::parse("raw.orders").unwrap())
            .await
            .unwrap()
            .unwrap()
            .bytes;
    let raw_customers =
        f.wh.table_info(&TableName::parse("raw.customers").unwrap())
            .await
            .unwrap()
            .unwrap()
            .bytes;
    let created = |m: &str| first.changes.iter().find(|c| c.model == m).unwrap();
    assert_eq!(created("marts.revenue_by_day").bytes, Some(raw_orders));
    assert_eq!(created("marts.customer_names").bytes, Some(raw_customers));
    let customers = created("marts.customers");
    assert_eq!(customers.bytes, Some(raw_orders));
    assert!(
        customers
            .reasons
            .iter()
            .any(|r| r == "scan size excludes upstream tables rebuilt first"),
        "{customers:?}"
    );
    assert_eq!(created("stg.orders").bytes, None);
    let (applied, report) = f.apply(Some(&first)).await.expect("apply");
    assert_eq!(applied, first);
    assert_eq!(report.results.len(), 5);
    assert!(f.plan("prod").await.is_empty());

    // Non-breaking: a column added to a view; a table downstream is rebuilt.
    f.model("stg.orders", "SELECT order_id, customer_id, amount, order_date, amount * 2 AS double_amount FROM raw.orders");
    let plan = f.plan("prod").await;
    let change = plan
        .changes
        .iter()
        .find(|c| c.model == "stg.orders")
        .unwrap();
    assert_eq!(
        (change.action, change.impact),
        (Action::Change, Some(Impact::NonBreaking))
    );
    assert!(
        change
            .reasons
            .iter()
            .any(|r| r == "column `double_amount` FLOAT64 added"),
        "{change:?}"
    );
    let rebuilt: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Rebuild)
        .map(|c| c.model.as_str())
        .collect();
    assert_eq!(
        rebuilt,
        BTreeSet::from(["marts.customers", "marts.revenue_by_day"])
    );
    assert!(!plan.has_breaking());
    // A rebuilt table reports what it would scan; a view scans nothing.
    let revenue = plan
        .changes
        .iter()
        .find(|c| c.model == "marts.revenue_by_day")
        .unwrap();
    assert!(revenue.bytes.unwrap_or(0) > 0, "{revenue:?}");
    assert!(change.bytes.is_none());
    let markdown = plan::render_markdown(&plan);
    assert!(
        markdown.contains("| change | `stg.orders` | view | non-breaking |"),
        "{markdown}"
    );

    // A stale plan is refused: the project changed after it was made.
    f.model("stg.orders", "SELECT order_id, customer_id, CAST(amount AS STRING) AS amount, order_date FROM raw.orders");
    let err = f.apply(Some(&plan)).await.unwrap_err();
    assert!(matches!(err, ModelError::StalePlan { .. }), "{err}");
    // The plan says which downstream model the retyped column would break.
    let plan = f.plan("prod").await;
    let revenue = plan
        .changes
        .iter()
        .find(|c| c.model == "marts.revenue_by_day")
        .expect("listed");
    assert_eq!(revenue.impact, Some(Impact::Breaking));
    assert!(
        revenue
            .reasons
            .iter()
            .any(|r| r.starts_with("will fail to build:") && r.contains("sum")),
        "{revenue:?}"
    );

    // Breaking: a column retyped, one removed; and a dropped model.
    f.model("stg.customers", "SELECT customer_id FROM raw.customers");
    f.model(
        "marts.customer_names",
        "/* kura\nmaterialized = \"table\"\n*/\nSELECT customer_id, 'x' AS name FROM stg.customers",
    );
    f.remove_model("marts.revenue_by_day");
    let plan = f.plan("prod").await;
    let get = |m: &str| {
        plan.changes
            .iter()
            .find(|c| c.model == m)
            .unwrap_or_else(|| panic!("{m} not in {plan:?}"))
    };
    assert_eq!(get("stg.orders").impact, Some(Impact::Breaking));
    assert!(
        get("stg.orders")
            .reasons
            .iter()
            .any(|r| r == "column `amount` FLOAT64 -> STRING"),
        "{plan:?}"
    );
    assert!(get("stg.customers")
        .reasons
        .iter()
        .any(|r| r == "column `name` removed"));
    assert_eq!(get("marts.revenue_by_day").action, Action::Drop);
    assert!(plan.has_breaking());
    let (_, report) = f.apply(Some(&plan)).await.expect("apply");
    assert_eq!(report.failed(), 0, "{report:?}");
    assert!(!f
        .wh
        .store()
        .exists(&TableName::parse("marts.revenue_by_day").unwrap()));
    assert!(f.plan("prod").await.is_empty());
    // Applying the same plan again is stale: the state moved on.
    assert!(matches!(
        f.apply(Some(&plan)).await.unwrap_err(),
        ModelError::StalePlan { .. }
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_by_partition_rebuilds_the_lookback_window_with_late_data() {
    let f = fixture();
    f.load(
        "raw.events",
        "event_id,event_date,value\n1,2024-01-01,1\n2,2024-01-02,1\n3,2024-01-03,1\n4,2024-01-04,1\n5,2024-01-05,1\n",
        LoadMode::Append,
    )
    .await;
    f.model(
        "marts.daily",
        "/* kura\nmaterialized = \"incremental\"\npartition_by = \"event_date\"\nlookback_days = 2\n*/\nSELECT event_date, COUNT(*) AS events, SUM(value) AS value FROM raw.events GROUP BY event_date",
    );
    let report = f.run(&[], false).await;
    assert_eq!(report.results[0].window_start, None);
    assert_eq!(report.results[0].rows, Some(5));
    // Late rows for 01-04 (inside the window) and 01-01 (outside), and a new day.
    f.load(
        "raw.events",
        "event_id,event_date,value\n6,2024-01-04,10\n7,2024-01-01,10\n8,2024-01-06,1\n",
        LoadMode::Append,
    )
    .await;
    let report = f.run(&[], false).await;
    let r = &report.results[0];
    assert_eq!(r.status, BuildStatus::Built, "{r:?}");
    assert_eq!(r.window_start.as_deref(), Some("2024-01-03"));
    assert_eq!(r.rows, Some(4), "days 03..06 rebuilt");
    assert_eq!(
        f.rows("SELECT CAST(event_date AS STRING) AS d, events, value FROM marts.daily ORDER BY d")
            .await,
        [
            "2024-01-01|1|1", // outside the window: the late row waits for a full refresh
            "2024-01-02|1|1",
            "2024-01-03|1|1",
            "2024-01-04|2|11",
            "2024-01-05|1|1",
            "2024-01-06|1|1",
        ]
    );
    let report = f.run(&[], true).await;
    assert_eq!(report.results[0].rows, Some(6));
    assert_eq!(
        f.rows("SELECT value FROM marts.daily WHERE event_date = DATE '2024-01-01'")
            .await,
        ["11"]
    );

    // A new column is refused by default, added when the header says so.
    f.model(
        "marts.daily",
        "/* kura\nmaterialized = \"incremental\"\npartition_by = \"event_date\"\nlookback_days = 2\n*/\nSELECT event_date, COUNT(*) AS events, SUM(value) AS value, MAX(event_id) AS last_id FROM raw.events GROUP BY event_date",
    );
    let report = f.run(&[], false).await;
    let BuildStatus::Failed(e) = &report.results[0].status else {
        panic!("expected a refusal: {report:?}");
    };
    assert!(e.contains("new column `last_id`"), "{e}");
    assert!(e.contains("--full-refresh"), "{e}");
    f.model(
        "marts.daily",
        "/* kura\nmaterialized = \"incremental\"\npartition_by = \"event_date\"\nlookback_days = 2\non_schema_change = \"add_columns\"\n*/\nSELECT event_date, COUNT(*) AS events, SUM(value) AS value, MAX(event_id) AS last_id FROM raw.events GROUP BY event_date",
    );
    let report = f.run(&[], false).await;
    assert_eq!(report.results[0].added_columns, ["last_id"], "{report:?}");
    assert_eq!(
        f.rows("SELECT CAST(event_date AS STRING) AS d, last_id FROM marts.daily WHERE event_date IN (DATE '2024-01-01', DATE '2024-01-06') ORDER BY 1").await,
        ["2024-01-01|NULL", "2024-01-06|8"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_by_key_merges() {
    let f = fixture();
    f.load(
        "raw.customers",
        "customer_id,name,tier\n1,Ann,free\n2,Bo,free\n",
        LoadMode::Append,
    )
    .await;
    f.model(
        "marts.customers",
        "/* kura\nmaterialized = \"incremental\"\nunique_key = \"customer_id\"\n*/\nSELECT customer_id, name, tier FROM raw.customers",
    );
    f.run(&[], false).await;
    // The source changes: Bo upgrades, Cy arrives, Ann is deleted upstream (a merge keeps her).
    f.load(
        "raw.customers",
        "customer_id,name,tier\n2,Bo,pro\n3,Cy,free\n",
        LoadMode::Replace,
    )
    .await;
    let report = f.run(&[], false).await;
    assert_eq!(report.results[0].status, BuildStatus::Built, "{report:?}");
    assert_eq!(report.results[0].rows, Some(2));
    assert_eq!(
        f.rows("SELECT customer_id, name, tier FROM marts.customers ORDER BY customer_id")
            .await,
        ["1|Ann|free", "2|Bo|pro", "3|Cy|free"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_environment_builds_changed_models_beside_prod() {
    let f = fixture();
    shop(&f).await;
    // A view over the changed table: its own SQL and columns do not change.
    f.model(
        "marts.customer_list",
        "SELECT customer_id, name FROM marts.customer_names",
    );
    f.apply(None).await.expect("apply prod");
    f.model("marts.customer_names", "/* kura\nmaterialized = \"table\"\n*/\nSELECT customer_id, LOWER(name) AS name FROM stg.customers");
    let plan = f.plan("dev").await;
    let targets: BTreeSet<&str> = plan.changes.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(
        targets,
        BTreeSet::from([
            "marts__dev.customer_list",
            "marts__dev.customer_names",
            "marts__dev.customers"
        ])
    );
    // In prod the same view needs nothing: it reads the table by name.
    let prod_plan = f.plan("prod").await;
    assert!(
        !prod_plan
            .changes
            .iter()
            .any(|c| c.model == "marts.customer_list"),
        "{prod_plan:?}"
    );
    let (project, graph) = f.project().unwrap();
    let (_, report) = plan::apply(&f.wh, &project, &graph, Some(&plan), &options("dev"))
        .await
        .expect("apply dev");
    assert_eq!(report.failed(), 0, "{report:?}");
    // Dev reads its own changed upstream, prod is untouched.
    assert_eq!(
        f.rows("SELECT name FROM marts__dev.customers ORDER BY customer_id")
            .await,
        ["ann", "bo"]
    );
    assert_eq!(
        f.rows("SELECT name FROM marts.customers ORDER BY customer_id")
            .await,
        ["ANN", "BO"]
    );
    // The view downstream of the change reads dev's table, prod's view prod's.
    assert_eq!(
        f.rows("SELECT name FROM marts__dev.customer_list ORDER BY customer_id")
            .await,
        ["ann", "bo"]
    );
    assert_eq!(
        f.rows("SELECT name FROM marts.customer_list ORDER BY customer_id")
            .await,
        ["ANN", "BO"]
    );
    // The unchanged staging view is read from prod, not copied.
    assert!(!f.wh.store().datasets().contains(&"stg__dev".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn lint_reports_each_convention_with_its_code_and_place() {
    let f = fixture();
    f.load(
        "raw.orders",
        "order_id,ordered_at\n1,2024-01-01T00:00:00Z\n",
        LoadMode::Append,
    )
    .await;
    // Clean: staging reads raw; the mart names its columns and has description and owner.
    f.model("stg.orders", "SELECT order_id, ordered_at, DATETIME(ordered_at, 'Asia/Tokyo') AS ordered_at_local FROM raw.orders");
    f.model(
        "marts.orders",
        "/* kura\ndescription = \"Orders.\"\nowner = \"data\"\n*/\nSELECT order_id, ordered_at_local FROM stg.orders",
    );
    let config = kura_models::lint::config(&f.wh).expect("config");
    let (project, _) = f.project().unwrap();
    let clean = kura_models::lint::lint(&f.wh, &project, &config, "alice")
        .await
        .expect("lint");
    assert!(clean.is_empty(), "{clean:#?}");

    // Each rule broken once.
    f.model(
        "marts.raw_reader",
        "/* kura\ndescription = \"x\"\nowner = \"data\"\n*/\nSELECT order_id AS OrderId,\n       DATETIME(ordered_at) AS ordered_at_dt,\n       TIMESTAMP_ADD(ordered_at, INTERVAL 9 HOUR) AS ordered_at_jst\nFROM raw.orders",
    );
    f.model(
        "marts.star",
        "/* kura\nmaterialized = \"table\"\n*/\nSELECT * FROM stg.orders",
    );
    f.run(&["+marts.star"], false).await;
    f.run(&["marts.star"], false).await;
    let (project, _) = f.project().unwrap();
    let findings = kura_models::lint::lint(&f.wh, &project, &config, "alice")
        .await
        .expect("lint");
    let got: BTreeSet<String> = findings
        .iter()
        .map(|d| format!("{}:{}:{} {}", d.path.display(), d.line, d.column, d.code))
        .collect();
    for expected in [
        "models/marts/raw_reader.sql:8:6 K101",
        "models/marts/raw_reader.sql:5:20 K301", // at the alias
        "models/marts/raw_reader.sql:6:8 K202",
        "models/marts/raw_reader.sql:7:8 K201",
        "models/marts/star.sql:4:8 K302",
    ] {
        assert!(got.contains(expected), "missing {expected} in {got:#?}");
    }
    let codes: BTreeSet<&str> = findings.iter().map(|d| d.code).collect();
    // The star mart has no description or owner, and is rebuilt twice but never read.
    for code in ["K401", "K402", "K501"] {
        assert!(codes.contains(code), "missing {code} in {findings:#?}");
    }
    // Reading it turns K501 off.
    for _ in 0..3 {
        f.rows("SELECT order_id FROM marts.star").await;
    }
    let findings = kura_models::lint::lint(&f.wh, &project, &config, "alice")
        .await
        .expect("lint");
    assert!(!findings.iter().any(|d| d.code == "K501"), "{findings:#?}");
    // A per-model ignore silences a rule for that model only.
    f.model(
        "marts.star",
        "/* kura\nmaterialized = \"table\"\nlint_ignore = [\"K302\"]\n*/\nSELECT * FROM stg.orders",
    );
    let (project, _) = f.project().unwrap();
    let findings = kura_models::lint::lint(&f.wh, &project, &config, "alice")
        .await
        .expect("lint");
    assert!(!findings.iter().any(|d| d.code == "K302"), "{findings:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn model_grants_decide_who_reads_its_relation() {
    let f = fixture();
    shop(&f).await;
    let revenue = |grants: &str| {
        format!(
            "/* kura\nmaterialized = \"table\"\n{grants}\n*/\n\
             SELECT order_date, SUM(amount) AS revenue FROM stg.orders GROUP BY order_date"
        )
    };
    // Only the dashboard service reads this mart (and the engineers, who build it).
    f.model(
        "marts.revenue_by_day",
        &revenue("grants = [\"user:dashboard\"]"),
    );
    f.apply(None).await.expect("apply");
    let read = |who: &str, sql: &str| {
        let ctx = QueryContext::new(who);
        let sql = sql.to_string();
        let wh = &f.wh;
        async move { wh.query(&sql, &ctx).await }
    };
    assert!(read("dashboard", "SELECT * FROM marts.revenue_by_day")
        .await
        .is_ok());
    assert!(read("alice", "SELECT * FROM marts.revenue_by_day")
        .await
        .is_ok());
    // The dataset's grants still decide for its other tables.
    assert!(matches!(
        read("dashboard", "SELECT * FROM marts.customers").await,
        Err(kura_engine::EngineError::AccessDenied(_))
    ));
    assert!(read("bob", "SELECT * FROM marts.customers").await.is_ok());
    let err = read("bob", "SELECT * FROM marts.revenue_by_day")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "principal `bob` may not read table `marts.revenue_by_day`"
    );
    let hint = err.hint().expect("a hint");
    assert!(
        hint.contains("user:dashboard") && hint.contains("`grants`"),
        "{hint}"
    );
    // Not around it: upper-case names, or a wildcard that matches the table.
    let upper = read("bob", "SELECT * FROM MARTS.Revenue_By_Day").await;
    assert!(
        matches!(&upper, Err(kura_engine::EngineError::AccessDenied(d)) if d.table.is_some()),
        "{upper:?}"
    );
    let wildcard = read("bob", "SELECT COUNT(*) FROM `marts.revenue_*`").await;
    assert!(
        matches!(&wildcard, Err(kura_engine::EngineError::AccessDenied(d))
            if d.table.as_deref() == Some("marts.revenue_by_day")),
        "{wildcard:?}"
    );

    // A change of grants is a planned change of settings; without grants the dataset decides.
    f.model("marts.revenue_by_day", &revenue(""));
    let plan = f.plan("prod").await;
    let change = plan
        .changes
        .iter()
        .find(|c| c.model == "marts.revenue_by_day")
        .expect("planned");
    assert!(
        change.reasons.iter().any(|r| r == "settings changed"),
        "{change:?}"
    );
    f.apply(Some(&plan)).await.expect("apply");
    assert!(read("bob", "SELECT * FROM marts.revenue_by_day")
        .await
        .is_ok());

    // A bare group name is ambiguous, an unknown group a typo: errors at the header.
    f.model("marts.revenue_by_day", &revenue("grants = [\"analysts\"]"));
    let Err(ModelError::Invalid(problems)) = f.project() else {
        panic!("a bare group name in grants was accepted");
    };
    assert!(problems[0].path.ends_with("marts/revenue_by_day.sql"));
    assert!(
        problems[0].message.contains("write `group:analysts`"),
        "{}",
        problems[0].message
    );
    f.model(
        "marts.revenue_by_day",
        &revenue("grants = [\"group:finanse\"]"),
    );
    let Err(ModelError::Invalid(problems)) = f.project() else {
        panic!("an unknown group in grants was accepted");
    };
    assert!(
        problems[0].message.contains("names no group"),
        "{}",
        problems[0].message
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn docs_site_lists_every_model_with_columns_and_lineage() {
    let f = fixture();
    shop(&f).await;
    let (project, _) = f.project().unwrap();
    let out = f.root().join("site");
    let summary = kura_models::docs::write(&f.wh, &project, &out, "alice")
        .await
        .expect("docs");
    assert_eq!(summary.pages, 1 + 5 + 2);
    let site: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("site.json")).expect("site.json"))
            .expect("json");
    let customers = site["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "marts.customers")
        .expect("model");
    assert_eq!(
        customers["depends_on"],
        serde_json::json!(["marts.customer_names", "stg.orders"])
    );
    let columns: Vec<&str> = customers["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["customer_id", "name", "orders"]);
    let sources: Vec<&str> = site["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["raw.customers", "raw.orders"]);
}
