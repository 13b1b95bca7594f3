//! Loads: formats, idempotency, rejected rows, schema drift, atomic replace.

mod common;

use kura_engine::load::{FileStatus, LoadMode, LoadRequest};
use kura_engine::{EngineError, TableName};

#[tokio::test(flavor = "multi_thread")]
async fn csv_load_infers_types_and_is_queryable() {
    let p = common::project();
    let f = p.write(
        "orders.csv",
        "order_id,customer,ordered_at,amount,paid,day\n\
         1,ann,2024-05-01T00:00:00Z,10.5,true,2024-05-01\n\
         2,bob,2024-05-01T09:00:00+09:00,7,false,2024-05-02\n\
         3,,2024-05-02 12:00:00Z,,true,\n",
    );
    let out = p.load(&[&f], "raw.orders").await.unwrap();
    assert_eq!(out.rows, 3);
    let schema =
        p.wh.table_schema(&TableName::parse("raw.orders").unwrap())
            .await
            .unwrap();
    let types: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| kura_engine::load::bigquery_type_name(f.data_type()))
        .collect();
    assert_eq!(
        types,
        ["INT64", "STRING", "TIMESTAMP", "FLOAT64", "BOOL", "DATE"]
    );
    // 09:00+09:00 is the same instant as 00:00Z.
    assert_eq!(
        p.rows(
            "SELECT count(*) FROM raw.orders WHERE ordered_at = TIMESTAMP '2024-05-01T00:00:00Z'"
        )
        .await,
        ["2"]
    );
    assert_eq!(
        p.rows("SELECT customer, amount FROM raw.orders WHERE order_id = 3")
            .await,
        ["NULL|NULL"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_gz_and_parquet_load() {
    let p = common::project();
    let json = "{\"id\": 1, \"tags\": [\"a\", \"b\"], \"geo\": {\"country\": \"JP\"}}\n\
                {\"id\": 2, \"tags\": [], \"geo\": {\"country\": \"US\", \"city\": \"NYC\"}, \"score\": 1.5}\n";
    let gz_path = p.dir.path().join("events.json.gz");
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz_path).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(json.as_bytes()).unwrap();
        enc.finish().unwrap();
    }
    p.load(&[&gz_path], "raw.events").await.unwrap();
    assert_eq!(
        p.rows("SELECT id, array_length(tags), geo['country'], geo['city'], score FROM raw.events ORDER BY id")
            .await,
        ["1|2|JP|NULL|NULL", "2|0|US|NYC|1.5"]
    );

    // Parquet written by another tool: unsigned ints and nanosecond timestamps are normalised.
    let path = p.dir.path().join("p.parquet");
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("n", arrow::datatypes::DataType::UInt32, false),
        arrow::datatypes::Field::new("s", arrow::datatypes::DataType::Utf8, true),
    ]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(arrow::array::UInt32Array::from(vec![1, 2, 3])),
            std::sync::Arc::new(arrow::array::StringArray::from(vec![
                Some("x"),
                None,
                Some("z"),
            ])),
        ],
    )
    .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    p.load(&[&path], "raw.p").await.unwrap();
    assert_eq!(p.rows("SELECT sum(n), count(s) FROM raw.p").await, ["6|2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn reloading_the_same_file_does_nothing_and_force_reloads() {
    let p = common::project();
    let f = p.write("a.csv", "id\n1\n2\n");
    let first = p.load(&[&f], "raw.t").await.unwrap();
    assert_eq!(first.version, Some(0));
    let again = p.load(&[&f], "raw.t").await.unwrap();
    assert_eq!(again.version, None);
    assert!(matches!(
        again.files[0].status,
        FileStatus::Skipped { table_version: 0 }
    ));
    assert_eq!(p.rows("SELECT count(*) FROM raw.t").await, ["2"]);

    // The same content under another name is the same file.
    let copy = p.write("copy.csv", "id\n1\n2\n");
    assert_eq!(p.load(&[&copy], "raw.t").await.unwrap().version, None);

    let mut req = LoadRequest::new(vec![f.clone()], TableName::parse("raw.t").unwrap());
    req.force = true;
    p.load_with(req).await.unwrap();
    assert_eq!(p.rows("SELECT count(*) FROM raw.t").await, ["4"]);
    assert_eq!(
        p.rows("SELECT count(*), sum(rows) FROM _kura.load_log WHERE table_name = 'raw.t'")
            .await,
        ["2|4"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_fail_the_load_with_file_and_line() {
    let p = common::project();
    let f = p.write("bad.csv", "id,amount\n1,10\n2,ten\n3,30\n");
    // Types come from the whole file: `ten` makes amount a STRING, so give a schema.
    let schema = p.write(
        "schema.json",
        r#"[{"name":"id","type":"INT64"},{"name":"amount","type":"NUMERIC"}]"#,
    );
    let mut req = LoadRequest::new(vec![f.clone()], TableName::parse("raw.pay").unwrap());
    req.schema = Some(kura_engine::load::read_schema_file(&schema).unwrap());
    let err = p.load_with(req.clone()).await.unwrap_err();
    match &err {
        EngineError::BadRow { file, line, reason } => {
            assert_eq!(file, &f);
            assert_eq!(*line, 3);
            assert!(
                reason.contains("amount") && reason.contains("ten"),
                "{reason}"
            );
        }
        other => panic!("expected a bad row error, got {other}"),
    }
    assert!(err.hint().unwrap().contains("--max-bad-rows"));
    // Nothing was written.
    assert!(!p.wh.store().exists(&TableName::parse("raw.pay").unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_rows_are_kept_with_their_reason() {
    let p = common::project();
    let f = p.write(
        "bad.csv",
        "id,amount\n1,10\n2,ten\n3,30\n4,40,extra\n5,50\n",
    );
    let schema = p.write(
        "schema.json",
        r#"[{"name":"id","type":"INT64"},{"name":"amount","type":"INT64"}]"#,
    );
    let mut req = LoadRequest::new(vec![f.clone()], TableName::parse("raw.pay").unwrap());
    req.schema = Some(kura_engine::load::read_schema_file(&schema).unwrap());
    req.max_bad_rows = 1;
    let err = p.load_with(req.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::TooManyBadRows {
                count: 2,
                max: 1,
                ..
            }
        ),
        "{err}"
    );

    req.max_bad_rows = 5;
    let out = p.load_with(req).await.unwrap();
    assert_eq!((out.rows, out.rejected), (3, 2));
    assert_eq!(p.rows("SELECT sum(amount) FROM raw.pay").await, ["90"]);
    let rejected = p
        .rows("SELECT line, raw, reason FROM raw.pay__rejected ORDER BY line")
        .await;
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected[0].starts_with("3|2,ten|column `amount`: `ten` is not an INT64"),
        "{rejected:?}"
    );
    assert!(
        rejected[1].starts_with("5|4,40,extra|expected 2 fields"),
        "{rejected:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_bad_lines_are_rejected_individually() {
    let p = common::project();
    let f = p.write(
        "e.ndjson",
        "{\"id\": 1, \"n\": 5}\n{\"id\": 2, \"n\": \n{\"id\": 3, \"n\": 7}\n[1,2]\n",
    );
    let mut req = LoadRequest::new(vec![f], TableName::parse("raw.e").unwrap());
    req.max_bad_rows = 10;
    let out = p.load_with(req).await.unwrap();
    assert_eq!((out.rows, out.rejected), (2, 2));
    let rejected = p
        .rows("SELECT line FROM raw.e__rejected ORDER BY line")
        .await;
    assert_eq!(rejected, ["2", "4"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_column_is_added_and_reported() {
    let p = common::project();
    let a = p.write("a.csv", "id,name\n1,x\n");
    let b = p.write("b.csv", "id,name,email\n2,y,y@example.com\n");
    p.load(&[&a], "raw.users").await.unwrap();
    let out = p.load(&[&b], "raw.users").await.unwrap();
    assert_eq!(
        out.new_columns,
        [("email".to_string(), "STRING".to_string())]
    );
    assert_eq!(
        p.rows("SELECT id, email FROM raw.users ORDER BY id").await,
        ["1|NULL", "2|y@example.com"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_type_conflict_names_the_column_and_both_types() {
    let p = common::project();
    let a = p.write("a.csv", "id,amount\n1,10\n");
    let b = p.write("b.csv", "id,amount\n2,2024-01-01\n");
    p.load(&[&a], "raw.pay").await.unwrap();
    let err = p.load(&[&b], "raw.pay").await.unwrap_err();
    match err {
        EngineError::TypeConflict {
            column,
            existing,
            incoming,
            ..
        } => {
            assert_eq!(column, "amount");
            assert_eq!(existing, "INT64");
            assert_eq!(incoming, "DATE");
        }
        other => panic!("expected a type conflict, got {other}"),
    }
    // Widening that loses nothing is fine: an INT64 file into a FLOAT64 column.
    let c = p.write("c.csv", "id,score\n1,1.5\n");
    let d = p.write("d.csv", "id,score\n2,3\n");
    p.load(&[&c], "raw.s").await.unwrap();
    p.load(&[&d], "raw.s").await.unwrap();
    assert_eq!(p.rows("SELECT sum(score) FROM raw.s").await, ["4.5"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_swaps_contents_in_one_commit() {
    let p = common::project();
    let a = p.write("a.csv", "id\n1\n2\n3\n");
    let b = p.write("b.csv", "id\n9\n");
    p.load(&[&a], "raw.t").await.unwrap();
    let mut req = LoadRequest::new(vec![b.clone()], TableName::parse("raw.t").unwrap());
    req.mode = LoadMode::Replace;
    let out = p.load_with(req.clone()).await.unwrap();
    assert_eq!(out.version, Some(1));
    assert_eq!(p.rows("SELECT id FROM raw.t").await, ["9"]);
    // Replacing with what is already there is a no-op ...
    assert_eq!(p.load_with(req).await.unwrap().version, None);
    // ... but `a` is no longer in the table, so appending it loads it again.
    assert_eq!(p.load(&[&a], "raw.t").await.unwrap().version, Some(2));
    assert_eq!(p.rows("SELECT count(*) FROM raw.t").await, ["4"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn partitioned_load_and_mismatch() {
    let p = common::project();
    let a = p.write("a.csv", "day,v\n2024-01-01,1\n2024-01-02,2\n");
    let mut req = LoadRequest::new(vec![a], TableName::parse("raw.daily").unwrap());
    req.partition_by = vec!["day".into()];
    p.load_with(req).await.unwrap();
    let info =
        p.wh.table_info(&TableName::parse("raw.daily").unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(info.partition_columns, ["day"]);
    assert_eq!(info.files, 2);
    let b = p.write("b.csv", "day,v\n2024-01-03,3\n");
    let mut req = LoadRequest::new(vec![b], TableName::parse("raw.daily").unwrap());
    req.partition_by = vec!["v".into()];
    let err = p.load_with(req).await.unwrap_err();
    assert!(
        matches!(err, EngineError::PartitionMismatch { .. }),
        "{err}"
    );
}

/// The codec of every column chunk in a table's Parquet files.
fn codecs(p: &common::TestProject, table: &str) -> std::collections::BTreeSet<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let (dataset, name) = table.split_once('.').expect("dataset.table");
    let dir = p
        .dir
        .path()
        .join(".kura/warehouse")
        .join(dataset)
        .join(name);
    let mut codecs = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("table dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "parquet") {
            let reader = SerializedFileReader::new(std::fs::File::open(&path).expect("open"))
                .expect("parquet footer");
            for group in reader.metadata().row_groups() {
                for column in group.columns() {
                    codecs.insert(format!("{:?}", column.compression()));
                }
            }
        }
    }
    codecs
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_are_written_with_the_projects_codec() {
    let csv = "id,name\n1,ann\n2,bob\n";
    let p = common::project();
    let f = p.write("people.csv", csv);
    p.load(&[&f], "raw.people").await.unwrap();
    assert_eq!(codecs(&p, "raw.people"), ["LZ4_RAW".to_string()].into());
    // Read back through the engine's scan (memory-mapped column chunks).
    assert_eq!(
        p.rows("SELECT id, name FROM raw.people ORDER BY id").await,
        ["1|ann", "2|bob"]
    );

    let config = std::fs::read_to_string(p.dir.path().join("kura.toml")).unwrap();
    for (setting, codec) in [
        ("snappy", "SNAPPY"),
        ("zstd", "ZSTD"),
        ("none", "UNCOMPRESSED"),
    ] {
        std::fs::write(
            p.dir.path().join("kura.toml"),
            format!("{config}\n[storage]\ncompression = \"{setting}\"\n"),
        )
        .unwrap();
        let wh = kura_engine::Warehouse::open(kura_engine::Project::open(p.dir.path()).unwrap())
            .unwrap();
        let table = format!("raw.people_{setting}");
        let req = LoadRequest::new(vec![f.clone()], TableName::parse(&table).unwrap());
        wh.load(
            &req,
            "alice",
            std::sync::Arc::new(kura_engine::load::NoProgress),
        )
        .await
        .unwrap();
        let found = codecs(&p, &table);
        assert_eq!(found.len(), 1, "{setting}: {found:?}");
        assert!(
            found.iter().all(|c| c.starts_with(codec)),
            "{setting}: {found:?}"
        );
    }

    std::fs::write(
        p.dir.path().join("kura.toml"),
        format!("{config}\n[storage]\ncompression = \"lz4\"\n"),
    )
    .unwrap();
    let err = kura_engine::Project::open(p.dir.path()).expect_err("unknown codec");
    let message = err.to_string();
    assert!(
        message.contains("kura.toml") && message.contains("lz4_raw"),
        "{message}"
    );
}
