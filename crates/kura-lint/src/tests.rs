//! Rule tests: each rule failing and passing, settings, and positions.

use std::path::Path;

use crate::{lint_model, Diagnostic, LintConfig, Materialization, ModelFacts, Severity, Usage};

/// Optional facts a test sets; the rest are a documented, owned mart or staging model.
#[derive(Default)]
struct Given<'a> {
    description: Option<&'a str>,
    owner: Option<&'a str>,
    materialized: Option<Materialization>,
    usage: Option<Usage>,
    ignore: Vec<String>,
    output_columns: Option<Vec<(String, String)>>,
    header_lines: usize,
    undocumented: bool,
}

fn lint_in(dataset: &str, sql: &str, given: Given<'_>, config: &LintConfig) -> Vec<Diagnostic> {
    let statement = kura_sql::parse_one(sql).expect("test SQL parses");
    let name = format!("{dataset}.model");
    let path = format!("models/{dataset}/model.sql");
    let mut facts = ModelFacts::new(&name, dataset, Path::new(&path), &statement);
    if !given.undocumented {
        facts.description = Some(given.description.unwrap_or("One row per test."));
        facts.owner = Some(given.owner.unwrap_or("data-team"));
    }
    facts.materialized = given.materialized.unwrap_or_default();
    facts.usage = given.usage;
    facts.ignore = &given.ignore;
    facts.output_columns = given.output_columns.as_deref();
    facts.header_lines = given.header_lines;
    lint_model(&facts, config)
}

fn lint(dataset: &str, sql: &str) -> Vec<Diagnostic> {
    lint_in(dataset, sql, Given::default(), &LintConfig::default())
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.code).collect()
}

/// The diagnostics of one code.
fn only<'d>(diagnostics: &'d [Diagnostic], code: &str) -> Vec<&'d Diagnostic> {
    diagnostics.iter().filter(|d| d.code == code).collect()
}

fn columns(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        list.iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    )
}

/// Lints `SELECT <projection> FROM stg.orders` as a mart and returns the time-zone codes.
fn time_codes(projection: &str) -> Vec<&'static str> {
    time_codes_in(
        &format!("SELECT {projection} FROM stg.orders"),
        None,
        "Asia/Tokyo",
    )
}

fn time_codes_in(
    sql: &str,
    output: Option<Vec<(String, String)>>,
    zone: &str,
) -> Vec<&'static str> {
    let config = LintConfig {
        local_zone: Some(zone.to_string()),
        ..LintConfig::default()
    };
    let given = Given {
        output_columns: output,
        ..Given::default()
    };
    codes(&lint_in("marts", sql, given, &config))
        .into_iter()
        .filter(|c| c.starts_with("K2"))
        .collect()
}

// K101 raw-read-outside-staging

#[test]
fn k101_mart_reading_raw_is_reported_at_the_table() {
    let d = lint(
        "marts",
        "SELECT o.order_id\nFROM stg.customers c\nJOIN raw.orders o USING (customer_id)",
    );
    let k101 = only(&d, "K101");
    assert_eq!(k101.len(), 1, "{d:?}");
    assert_eq!((k101[0].line, k101[0].column), (3, 6));
    assert!(
        k101[0].message.contains("`raw.orders`"),
        "{}",
        k101[0].message
    );
    assert!(k101[0].fix.contains("`stg.orders`"), "{}", k101[0].fix);
    assert_eq!(k101[0].severity, Severity::Error);
}

#[test]
fn k101_raw_named_by_a_table_function_is_reported() {
    let d = lint(
        "analytics",
        "SELECT event_name FROM ga4_flatten('raw.ga4_events')",
    );
    assert_eq!(codes(&d), vec!["K101"]);
}

#[test]
fn k101_staging_and_non_raw_reads_pass() {
    assert!(lint("stg", "SELECT id AS order_id FROM raw.orders").is_empty());
    assert!(lint("staging", "SELECT id AS order_id FROM RAW.orders").is_empty());
    assert!(lint("marts", "WITH raw AS (SELECT 1 AS x) SELECT x FROM raw").is_empty());
    assert!(lint("marts", "SELECT order_id FROM stg.orders").is_empty());
}

#[test]
fn k101_datasets_are_configurable() {
    let config = LintConfig {
        raw_datasets: vec!["landing".into()],
        staging_datasets: vec!["clean".into()],
        ..LintConfig::default()
    };
    let sql = "SELECT id FROM landing.orders";
    assert_eq!(
        codes(&lint_in("marts", sql, Given::default(), &config)),
        vec!["K101"]
    );
    assert!(lint_in("clean", sql, Given::default(), &config).is_empty());
    assert!(lint_in(
        "marts",
        "SELECT id FROM raw.orders",
        Given::default(),
        &config
    )
    .is_empty());
}

// K201 local-time-as-timestamp

#[test]
fn k201_shifting_an_instant_by_the_local_offset_is_reported() {
    for projection in [
        "TIMESTAMP_ADD(ordered_at, INTERVAL 9 HOUR) AS ordered_at_jst",
        "ordered_at + INTERVAL 9 HOUR AS ordered_local",
        "ordered_at + INTERVAL '9' HOUR AS ordered_local",
        "TIMESTAMP_ADD(ordered_at, INTERVAL 540 MINUTE) AS ordered_local",
        "TIMESTAMP_SUB(ordered_at, INTERVAL -9 HOUR) AS ordered_local",
        "INTERVAL 9 HOUR + ts AS shifted",
        "MIN(TIMESTAMP_ADD(ts, INTERVAL 9 HOUR)) AS first_local",
        "TIMESTAMP_TRUNC(TIMESTAMP_ADD(ts, INTERVAL 9 HOUR), DAY) AS day_start",
        "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 9 HOUR) AS now_local",
    ] {
        assert_eq!(time_codes(projection), vec!["K201"], "{projection}");
    }
}

#[test]
fn k201_reading_a_local_datetime_as_utc_is_reported() {
    for projection in [
        "TIMESTAMP(DATETIME(ts, 'Asia/Tokyo')) AS t",
        "CAST(DATETIME(ts, 'Asia/Tokyo') AS TIMESTAMP) AS t",
        "TIMESTAMP(CURRENT_DATETIME('Asia/Tokyo')) AS t",
        "TIMESTAMP(DATETIME(ts, 'Asia/Tokyo'), 'UTC') AS t",
        "TIMESTAMP(ordered_jst) AS t",
    ] {
        assert_eq!(time_codes(projection), vec!["K201"], "{projection}");
    }
}

#[test]
fn k201_follows_columns_through_ctes() {
    let sql = "WITH local AS (SELECT DATETIME(ordered_at, 'Asia/Tokyo') AS dt FROM stg.orders), \
               shifted AS (SELECT CAST(dt AS TIMESTAMP) AS instant FROM local) \
               SELECT instant FROM shifted";
    assert_eq!(time_codes_in(sql, None, "Asia/Tokyo"), vec!["K201"]);
    let sql = "SELECT TIMESTAMP(dt) AS t FROM (SELECT DATETIME(ts, 'Asia/Tokyo') AS dt FROM stg.e)";
    assert_eq!(time_codes_in(sql, None, "Asia/Tokyo"), vec!["K201"]);
}

#[test]
fn k201_correct_conversions_pass() {
    for projection in [
        "TIMESTAMP(DATETIME(ts, 'Asia/Tokyo'), 'Asia/Tokyo') AS t",
        "TIMESTAMP(DATETIME(ts, 'Asia/Tokyo'), '+09:00') AS t",
        "TIMESTAMP(DATETIME(ts)) AS t",
        "TIMESTAMP_ADD(ts, INTERVAL 1 HOUR) AS an_hour_later",
        "TIMESTAMP_ADD(ts, INTERVAL 9 DAY) AS nine_days_later",
        "TIMESTAMP_SUB(TIMESTAMP_ADD(ts, INTERVAL 9 HOUR), INTERVAL 9 HOUR) AS t",
        "TIMESTAMP(order_date) AS t",
        "ordered_at AS t",
        "CURRENT_TIMESTAMP() AS loaded_at",
        "order_date + INTERVAL 9 HOUR AS t",
    ] {
        assert!(time_codes(projection).is_empty(), "{projection}");
    }
    let sql = "WITH l AS (SELECT DATETIME(ts, 'Asia/Tokyo') AS dt FROM stg.e) \
               SELECT TIMESTAMP(dt, 'Asia/Tokyo') AS t FROM l";
    assert!(time_codes_in(sql, None, "Asia/Tokyo").is_empty());
}

#[test]
fn k201_offset_follows_the_configured_zone() {
    let sql = "SELECT ts - INTERVAL 5 HOUR AS t FROM stg.e";
    assert_eq!(time_codes_in(sql, None, "America/New_York"), vec!["K201"]);
    assert!(time_codes_in(sql, None, "Asia/Tokyo").is_empty());
    let sql = "SELECT ts + INTERVAL 9 HOUR AS t FROM stg.e";
    assert!(time_codes_in(sql, None, "America/New_York").is_empty());
}

#[test]
fn k201_uses_declared_types_and_local_names() {
    let sql = "SELECT created_jst FROM stg.e";
    let timestamp = columns(&[("created_jst", "TIMESTAMP")]);
    assert_eq!(time_codes_in(sql, timestamp, "Asia/Tokyo"), vec!["K201"]);
    let datetime = columns(&[("created_jst", "DATETIME")]);
    assert!(time_codes_in(sql, datetime, "Asia/Tokyo").is_empty());
    // An unknown expression under a local name, declared TIMESTAMP.
    let sql = "SELECT some_udf(x) AS created_local FROM stg.e";
    let declared = columns(&[("created_local", "timestamp")]);
    assert_eq!(time_codes_in(sql, declared, "Asia/Tokyo"), vec!["K201"]);
    // A shifted DATETIME is local wall-clock time: right for a DATETIME.
    let sql = "SELECT ts + INTERVAL 9 HOUR AS created FROM stg.e";
    let declared = columns(&[("created", "DATETIME")]);
    assert!(time_codes_in(sql, declared, "Asia/Tokyo").is_empty());
}

#[test]
fn k201_sees_through_select_star_with_declared_columns() {
    let sql = "WITH s AS (SELECT order_id, TIMESTAMP_ADD(ts, INTERVAL 9 HOUR) AS ts_jst \
               FROM stg.orders) SELECT * FROM s";
    let declared = columns(&[("order_id", "INT64"), ("ts_jst", "TIMESTAMP")]);
    let config = LintConfig::default();
    let given = Given {
        output_columns: declared,
        ..Given::default()
    };
    let d = lint_in("analytics", sql, given, &config);
    let k201 = only(&d, "K201");
    assert_eq!(k201.len(), 1, "{d:?}");
    // At the `*`, the 98th character.
    assert_eq!((k201[0].line, k201[0].column), (1, 98), "{}", k201[0]);
}

#[test]
fn k201_message_and_fix_name_the_shift() {
    let d = lint(
        "marts",
        "SELECT TIMESTAMP_ADD(ordered_at, INTERVAL 9 HOUR) AS ordered_jst FROM stg.orders",
    );
    let k201 = only(&d, "K201");
    assert_eq!(k201.len(), 1);
    assert_eq!(
        k201[0].message,
        "column `ordered_jst` is a TIMESTAMP holding Asia/Tokyo wall-clock time: \
         `TIMESTAMP_ADD(ordered_at, INTERVAL 9 HOUR)` shifts a UTC instant by +9 hours, \
         the Asia/Tokyo offset"
    );
    assert!(
        k201[0].fix.contains("DATETIME(ordered_at, 'Asia/Tokyo')"),
        "{}",
        k201[0].fix
    );
}

// K202 foreign-instant-as-datetime

#[test]
fn k202_utc_and_foreign_wall_clocks_are_reported() {
    for projection in [
        "DATETIME(ts) AS d",
        "DATETIME(ordered_at) AS d",
        "CAST(ordered_at AS DATETIME) AS d",
        "SAFE_CAST(created_ts AS DATETIME) AS d",
        "DATETIME(ts, 'America/New_York') AS d",
        "DATETIME(ts, 'UTC') AS d",
        "CURRENT_DATETIME() AS d",
        "CURRENT_DATETIME AS d",
        "CURRENT_DATETIME('Etc/UTC') AS d",
        "CURRENT_DATETIME('Europe/London') AS d",
        "DATETIME(TIMESTAMP_SECONDS(epoch)) AS d",
        "DATETIME_TRUNC(DATETIME(ts), HOUR) AS d",
        "COALESCE(DATETIME(ts), DATETIME(ts2)) AS d",
    ] {
        assert_eq!(time_codes(projection), vec!["K202"], "{projection}");
    }
}

#[test]
fn k202_local_wall_clocks_pass() {
    for projection in [
        "DATETIME(ts, 'Asia/Tokyo') AS d",
        "DATETIME(ts, 'asia/tokyo') AS d",
        "DATETIME(ts, '+09:00') AS d",
        "DATETIME(ts, 'Japan') AS d",
        "CURRENT_DATETIME('Asia/Tokyo') AS d",
        "DATETIME(order_date) AS d",
        "DATETIME(order_date, order_time) AS d",
        "DATETIME(ts) + INTERVAL 9 HOUR AS d",
        "DATETIME(TIMESTAMP_ADD(ts, INTERVAL 9 HOUR)) AS d",
        "DATETIME_ADD(DATETIME(ts, 'Asia/Tokyo'), INTERVAL 1 DAY) AS d",
        "PARSE_DATETIME('%Y', s) AS d",
    ] {
        assert!(time_codes(projection).is_empty(), "{projection}");
    }
}

#[test]
fn k202_fix_adds_the_local_zone() {
    let d = lint(
        "marts",
        "SELECT DATETIME(ts) AS d, CAST(ts AS DATETIME) AS e, CURRENT_DATETIME() AS f FROM stg.x",
    );
    let fixes: Vec<&str> = only(&d, "K202").iter().map(|d| d.fix.as_str()).collect();
    assert_eq!(fixes.len(), 3, "{d:?}");
    assert!(
        fixes[0].contains("`DATETIME(ts, 'Asia/Tokyo')`"),
        "{}",
        fixes[0]
    );
    assert!(
        fixes[1].contains("`DATETIME(ts, 'Asia/Tokyo')`"),
        "{}",
        fixes[1]
    );
    assert!(
        fixes[2].contains("`CURRENT_DATETIME('Asia/Tokyo')`"),
        "{}",
        fixes[2]
    );
    assert!(only(&d, "K202")[0].message.contains("no time zone"));
    let d = lint("marts", "SELECT DATETIME(ts) FROM stg.x");
    assert_eq!(
        only(&d, "K202")[0].message,
        "column `DATETIME(ts)` is a DATETIME in UTC, not the project's zone (Asia/Tokyo): \
         `DATETIME(ts)` has no time zone, so it gives UTC wall-clock time"
    );
}

#[test]
fn k202_uses_declared_types_conservatively() {
    let utc = columns(&[("loaded_utc", "DATETIME")]);
    assert_eq!(
        time_codes_in("SELECT loaded_utc FROM stg.e", utc, "Asia/Tokyo"),
        vec!["K202"]
    );
    let utc = columns(&[("loaded_utc", "DATETIME")]);
    let sql = "SELECT some_udf(x) AS loaded_utc FROM stg.e";
    assert_eq!(time_codes_in(sql, utc, "Asia/Tokyo"), vec!["K202"]);
    // `*_at` suggests an instant, but a DATETIME named so may well be local already.
    let at = columns(&[("ordered_at", "DATETIME")]);
    assert!(time_codes_in("SELECT ordered_at FROM stg.e", at, "Asia/Tokyo").is_empty());
    let ts = columns(&[("loaded_utc", "TIMESTAMP")]);
    assert!(time_codes_in("SELECT loaded_utc FROM stg.e", ts, "Asia/Tokyo").is_empty());
}

#[test]
fn k202_checks_every_union_branch_under_the_first_branch_names() {
    let sql = "SELECT DATETIME(ts, 'Asia/Tokyo') AS at_local FROM stg.a \
               UNION ALL SELECT DATETIME(ts) FROM stg.b";
    let d = lint("marts", sql);
    let k202 = only(&d, "K202");
    assert_eq!(k202.len(), 1, "{d:?}");
    assert!(
        k202[0].message.starts_with("column `at_local`"),
        "{}",
        k202[0].message
    );
}

// K301 column-not-snake-case

#[test]
fn k301_aliases_and_bare_columns_are_checked() {
    let d = lint(
        "stg",
        "SELECT id AS OrderId, CustomerName, t.`Total Amount`, amount FROM raw.t",
    );
    let names: Vec<&str> = only(&d, "K301")
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "column `OrderId` is not snake_case",
            "column `CustomerName` is not snake_case",
            "column `Total Amount` is not snake_case",
        ]
    );
    assert_eq!(only(&d, "K301")[0].fix, "rename it `order_id`");
    assert_eq!(only(&d, "K301")[0].severity, Severity::Warn);
}

#[test]
fn k301_snake_case_and_inner_names_pass() {
    assert!(lint(
        "stg",
        "SELECT order_id, t.amount, COUNT(*) FROM raw.t GROUP BY 1, 2"
    )
    .is_empty());
    let sql = "WITH a AS (SELECT 1 AS BadName) SELECT BadName AS bad_name FROM a";
    assert!(lint("stg", sql).is_empty());
}

#[test]
fn k301_checks_star_output_from_declared_columns() {
    let given = Given {
        output_columns: columns(&[("order_id", "INT64"), ("OrderDate", "DATE")]),
        ..Given::default()
    };
    let d = lint_in(
        "stg",
        "SELECT * FROM raw.orders",
        given,
        &LintConfig::default(),
    );
    let k301 = only(&d, "K301");
    assert_eq!(k301.len(), 1, "{d:?}");
    assert_eq!((k301[0].line, k301[0].column), (1, 8));
    assert_eq!(k301[0].fix, "rename it `order_date`");
}

// K302 select-star-in-mart

#[test]
fn k302_star_in_a_mart_output_is_reported() {
    for sql in [
        "SELECT * FROM stg.orders",
        "SELECT o.* FROM stg.orders o",
        "SELECT * EXCEPT (secret) FROM stg.orders",
        "SELECT order_id FROM stg.a UNION ALL SELECT * FROM stg.b",
    ] {
        assert_eq!(codes(&lint("marts", sql)), vec!["K302"], "{sql}");
    }
    let d = lint("mart", "SELECT id,\n  o.*\nFROM stg.orders o");
    assert_eq!((d[0].line, d[0].column), (2, 3), "{d:?}");
}

#[test]
fn k302_inner_star_and_non_marts_pass() {
    let sql = "WITH o AS (SELECT * FROM stg.orders) SELECT order_id FROM (SELECT * FROM o)";
    assert!(lint("marts", sql).is_empty());
    assert!(lint("analytics", "SELECT * FROM stg.orders").is_empty());
}

// K401 mart-missing-description, K402 mart-missing-owner

#[test]
fn k401_k402_undocumented_marts_are_reported_at_the_file_start() {
    let given = Given {
        undocumented: true,
        ..Given::default()
    };
    let d = lint_in(
        "marts",
        "\n\nSELECT order_id FROM stg.orders",
        given,
        &LintConfig::default(),
    );
    assert_eq!(codes(&d), vec!["K401", "K402"]);
    assert!(d.iter().all(|d| (d.line, d.column) == (1, 1)));
    let blank = Given {
        description: Some("  "),
        owner: Some(""),
        ..Given::default()
    };
    let d = lint_in("marts", "SELECT 1 AS x", blank, &LintConfig::default());
    assert_eq!(codes(&d), vec!["K401", "K402"]);
}

#[test]
fn k401_k402_documented_marts_and_other_models_pass() {
    assert!(lint("marts", "SELECT 1 AS x").is_empty());
    let undocumented = Given {
        undocumented: true,
        ..Given::default()
    };
    assert!(lint_in("stg", "SELECT 1 AS x", undocumented, &LintConfig::default()).is_empty());
    let statement = kura_sql::parse_one("SELECT 1 AS x").expect("parses");
    let mut facts = ModelFacts::new("marts.m", "marts", Path::new("m.sql"), &statement);
    facts.owner = Some("data-team");
    assert_eq!(
        codes(&lint_model(&facts, &LintConfig::default())),
        vec!["K401"]
    );
    facts.owner = None;
    facts.description = Some("One row per x.");
    assert_eq!(
        codes(&lint_model(&facts, &LintConfig::default())),
        vec!["K402"]
    );
}

// K501 table-rebuilt-more-than-read

fn k501(materialized: Materialization, usage: Option<Usage>) -> Vec<Diagnostic> {
    let given = Given {
        materialized: Some(materialized),
        usage,
        ..Given::default()
    };
    lint_in("marts", "SELECT 1 AS x", given, &LintConfig::default())
}

#[test]
fn k501_tables_rebuilt_more_than_read_are_reported() {
    let usage = Usage {
        rebuilds: 30,
        reads: 2,
        window_days: 30,
    };
    let d = k501(Materialization::Table, Some(usage));
    assert_eq!(codes(&d), vec!["K501"]);
    assert_eq!(
        d[0].message,
        "table `marts.model` was rebuilt 30 times but read 2 times in the last 30 days"
    );
    assert!(d[0].fix.contains("materialized = \"view\""), "{}", d[0].fix);
    let never_read = Usage {
        rebuilds: 1,
        reads: 0,
        window_days: 7,
    };
    let d = k501(Materialization::Incremental, Some(never_read));
    assert_eq!(codes(&d), vec!["K501"]);
    assert!(
        d[0].message.starts_with("incremental table"),
        "{}",
        d[0].message
    );
    assert!(d[0]
        .message
        .contains("rebuilt once but read 0 times in the last 7 days"));
}

#[test]
fn k501_views_well_read_tables_and_unknown_usage_pass() {
    let heavy = Usage {
        rebuilds: 30,
        reads: 2,
        window_days: 30,
    };
    assert!(k501(Materialization::View, Some(heavy)).is_empty());
    assert!(k501(Materialization::Table, None).is_empty());
    let even = Usage {
        rebuilds: 30,
        reads: 30,
        window_days: 30,
    };
    assert!(k501(Materialization::Table, Some(even)).is_empty());
}

// Settings

#[test]
fn project_and_model_ignores_drop_findings() {
    let sql = "SELECT id AS OrderId, DATETIME(ts) AS d FROM stg.x";
    assert_eq!(codes(&lint("marts", sql)), vec!["K301", "K202"]);
    let config = LintConfig {
        ignore: vec!["K301".into()],
        ..LintConfig::default()
    };
    assert_eq!(
        codes(&lint_in("marts", sql, Given::default(), &config)),
        vec!["K202"]
    );
    let given = Given {
        ignore: vec!["K202".into()],
        ..Given::default()
    };
    assert_eq!(
        codes(&lint_in("marts", sql, given, &LintConfig::default())),
        vec!["K301"]
    );
    let given = Given {
        ignore: vec!["K202".into()],
        ..Given::default()
    };
    assert!(lint_in("marts", sql, given, &config).is_empty());
}

#[test]
fn severity_overrides_replace_defaults() {
    let sql = "SELECT id AS OrderId, DATETIME(ts) AS d FROM stg.x";
    let d = lint("marts", sql);
    assert_eq!(d[0].severity, Severity::Warn);
    assert_eq!(d[1].severity, Severity::Error);
    let mut config = LintConfig::default();
    config.severity.insert("K301".into(), Severity::Error);
    config.severity.insert("K202".into(), Severity::Warn);
    let d = lint_in("marts", sql, Given::default(), &config);
    assert_eq!((d[0].code, d[0].severity), ("K301", Severity::Error));
    assert_eq!((d[1].code, d[1].severity), ("K202", Severity::Warn));
}

#[test]
fn config_reads_from_a_toml_lint_table() {
    #[derive(serde::Deserialize)]
    struct Project {
        lint: LintConfig,
    }
    let text = r#"
        [lint]
        ignore = ["K302"]
        severity = { K301 = "error", K501 = "warning" }
        raw_datasets = ["landing"]
        mart_datasets = ["gold"]
        local_zone = "America/New_York"
        rebuild_window_days = 7
    "#;
    let config = toml::from_str::<Project>(text).expect("valid [lint]").lint;
    assert_eq!(config.ignore, vec!["K302"]);
    assert_eq!(config.severity.get("K301"), Some(&Severity::Error));
    assert_eq!(config.severity.get("K501"), Some(&Severity::Warn));
    assert_eq!(config.raw_datasets, vec!["landing"]);
    assert_eq!(config.staging_datasets, vec!["stg", "staging"]);
    assert_eq!(config.mart_datasets, vec!["gold"]);
    assert_eq!(config.local_zone(), "America/New_York");
    assert_eq!(config.rebuild_window_days, 7);
    assert_eq!(config.validate(), Ok(()));

    let empty: LintConfig = toml::from_str("").expect("empty [lint]");
    assert_eq!(empty, LintConfig::default());
    assert_eq!(empty.local_zone(), "Asia/Tokyo");

    let err = toml::from_str::<LintConfig>("ignores = [\"K301\"]").expect_err("typo");
    assert!(err.to_string().contains("unknown field `ignores`"), "{err}");
    let err = toml::from_str::<LintConfig>("severity = { K301 = \"fatal\" }").expect_err("bad");
    assert!(err.to_string().contains("fatal"), "{err}");
}

#[test]
fn unknown_codes_are_errors_with_a_hint() {
    let config = LintConfig {
        ignore: vec!["K999".into()],
        ..LintConfig::default()
    };
    let err = config.validate().expect_err("K999 is no rule");
    assert_eq!(err.to_string(), "unknown lint code `K999` in [lint] ignore");
    assert!(err.hint().contains("K101, K201"), "{}", err.hint());

    let mut config = LintConfig::default();
    config
        .severity
        .insert("select-star-in-mart".into(), Severity::Error);
    let err = config.validate().expect_err("a name, not a code");
    assert_eq!(
        err.hint(),
        "write the rule's code: `K302` instead of `select-star-in-mart`"
    );

    let header = vec!["K302".to_string(), "K3O1".to_string()];
    let err = crate::validate_codes(&header, "models/marts/orders.sql header").expect_err("typo");
    assert_eq!(
        err.to_string(),
        "unknown lint code `K3O1` in models/marts/orders.sql header"
    );
    assert_eq!(crate::validate_codes(&header[..1], "x"), Ok(()));
}

// Positions and output

#[test]
fn positions_add_the_header_lines() {
    let sql = "SELECT\n  id AS OrderId\nFROM stg.orders";
    let given = Given {
        header_lines: 4,
        ..Given::default()
    };
    let d = lint_in("marts", sql, given, &LintConfig::default());
    assert_eq!(codes(&d), vec!["K301"]);
    assert_eq!((d[0].line, d[0].column), (6, 9));
    assert_eq!(d[0].path, Path::new("models/marts/model.sql"));
    assert_eq!(d[0].model, "marts.model");

    // Parsing the whole file, header comment included, gives the same place with no offset.
    let file =
        "/* kura\nowner = \"x\"\ndescription = \"y\"\n*/\nSELECT\n  id AS OrderId\nFROM stg.orders";
    let d = lint_in("marts", file, Given::default(), &LintConfig::default());
    assert_eq!((d[0].line, d[0].column), (6, 9));
}

#[test]
fn diagnostics_display_like_ruff_with_a_help_line() {
    let d = lint("marts", "SELECT id AS OrderId FROM stg.orders");
    assert_eq!(
        d[0].to_string(),
        "models/marts/model.sql:1:14: K301 column `OrderId` is not snake_case\n  help: rename it `order_id`"
    );
}

#[test]
fn diagnostics_are_sorted_by_position() {
    let sql = "SELECT DATETIME(ts) AS d,\n  x AS BadName\nFROM raw.orders";
    let given = Given {
        undocumented: true,
        ..Given::default()
    };
    let d = lint_in("marts", sql, given, &LintConfig::default());
    let placed: Vec<(u64, u64, &str)> = d.iter().map(|d| (d.line, d.column, d.code)).collect();
    assert_eq!(
        placed,
        vec![
            (1, 1, "K401"),
            (1, 1, "K402"),
            (1, 8, "K202"),
            (2, 8, "K301"),
            (3, 6, "K101"),
        ]
    );
}
