//! GoogleSQL through the warehouse: the rewrite and kura's functions are on by default,
//! wildcard tables read only the tables their `_TABLE_SUFFIX` range names, and DataFusion's own
//! dialect stays reachable.

mod common;

use kura_engine::{Dialect, EngineError, QueryContext};

/// Three daily GA4-style tables, `raw.events_20240101` … `raw.events_20240103`.
async fn daily_tables(p: &common::TestProject) {
    for day in 1..=3 {
        let mut ndjson = String::new();
        for i in 0..500 {
            ndjson.push_str(&format!(
                "{{\"user_pseudo_id\": \"u{i}\", \"event_name\": \"{}\", \"n\": {}}}\n",
                if i % 5 == 0 { "purchase" } else { "page_view" },
                i * day
            ));
        }
        let f = p.write(&format!("events_{day}.ndjson"), &ndjson);
        p.load(&[&f], &format!("raw.events_2024010{day}"))
            .await
            .expect("load");
    }
}

#[tokio::test]
async fn wildcard_tables_read_only_the_tables_in_the_suffix_range() {
    let p = common::project();
    daily_tables(&p).await;
    let ctx = QueryContext::new("alice");
    let all =
        p.wh.query(
            "SELECT COUNT(*) AS n, COUNTIF(event_name = 'purchase') AS purchases FROM `raw.events_*`",
            &ctx,
        )
        .await
        .expect("whole wildcard");
    assert_eq!(common::render(&all.batches), ["1500|300"]);
    assert_eq!(all.tables.len(), 3, "{:?}", all.tables);

    let pruned =
        p.wh.query(
            "SELECT _TABLE_SUFFIX AS day, COUNT(DISTINCT user_pseudo_id) AS n FROM `raw.events_*` \
             WHERE _TABLE_SUFFIX BETWEEN '20240102' AND '20240103' GROUP BY day ORDER BY day",
            &ctx,
        )
        .await
        .expect("pruned wildcard");
    assert_eq!(
        common::render(&pruned.batches),
        ["20240102|500", "20240103|500"]
    );
    let read: Vec<&str> = pruned.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(read, ["raw.events_20240102", "raw.events_20240103"]);
    assert!(pruned.bytes_scanned > 0);
    let logged = p
        .rows(&format!(
            "SELECT bytes_scanned FROM _kura.query_log WHERE query_id = '{}'",
            pruned.query_id
        ))
        .await;
    assert_eq!(logged, [pruned.bytes_scanned.to_string()]);
}

#[tokio::test]
async fn googlesql_functions_and_clauses_run_on_the_warehouse() {
    let p = common::project();
    daily_tables(&p).await;
    let rows = p
        .rows(
            "SELECT event_name, COUNTIF(n > 100) AS big, SAFE_DIVIDE(SUM(n), 0) AS none, \
                    FORMAT_DATE('%Y/%m', DATE_TRUNC(DATE '2024-03-17', MONTH)) AS month \
             FROM raw.events_20240102 GROUP BY event_name \
             QUALIFY ROW_NUMBER() OVER (ORDER BY event_name) = 1",
        )
        .await;
    // n = 2i for the 400 page views (i % 5 != 0); 360 of them have i > 50.
    assert_eq!(rows, ["page_view|360|NULL|2024/03"]);
}

#[tokio::test]
async fn datafusion_dialect_bypasses_the_rewrite() {
    let p = common::project();
    daily_tables(&p).await;
    let ctx = QueryContext::new("alice").with_dialect(Dialect::DataFusion);
    let result =
        p.wh.query(
            "SELECT date_trunc('month', DATE '2024-03-17')::DATE AS m",
            &ctx,
        )
        .await
        .expect("DataFusion SQL runs as written");
    assert_eq!(common::render(&result.batches), ["2024-03-01"]);
    // GoogleSQL type names are kura's rewrite, not DataFusion's: bypassed, they do not plan.
    let googlesql = "SELECT CAST('7' AS INT64) + 1 AS n";
    p.wh.query(googlesql, &ctx)
        .await
        .expect_err("INT64 is not a DataFusion type name");
    let rewritten =
        p.wh.query(googlesql, &QueryContext::new("alice"))
            .await
            .expect("GoogleSQL by default");
    assert_eq!(common::render(&rewritten.batches), ["8"]);
}

#[tokio::test]
async fn unsupported_googlesql_names_the_construct_and_its_place() {
    let p = common::project();
    daily_tables(&p).await;
    let err =
        p.wh.query(
            "SELECT\n  DATE_TRUNC(DATE '2024-03-17', ISOYEAR)\nFROM raw.events_20240101",
            &QueryContext::new("alice"),
        )
        .await
        .expect_err("ISOYEAR truncation is not supported");
    let EngineError::Sql { source: sql } = &err else {
        panic!("expected a SQL error, got {err:?}");
    };
    assert!(sql.to_string().contains("ISOYEAR"), "{sql}");
    assert_eq!(sql.location().map(|l| l.line), Some(2), "{sql}");
}

#[tokio::test]
async fn fields_of_an_unnested_struct_array_read_unqualified_on_the_warehouse() {
    let p = common::project();
    let ndjson = "{\"event_id\": 1, \"params\": [{\"key\": \"page\", \"value\": \"/a\"}, {\"key\": \"ms\", \"value\": \"30\"}]}\n\
                  {\"event_id\": 2, \"params\": [{\"key\": \"page\", \"value\": \"/b\"}]}\n";
    let f = p.write("events.ndjson", ndjson);
    p.load(&[&f], "raw.events").await.expect("load");
    // GoogleSQL takes `key` and `value` from the UNNEST: the table has no such columns.
    let rows = p
        .rows(
            "SELECT event_id, value FROM raw.events, UNNEST(params) \
             WHERE key = 'page' ORDER BY event_id",
        )
        .await;
    assert_eq!(rows, ["1|/a", "2|/b"]);
}
