//! Fixtures and helpers shared by the integration tests.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeSet;

use kura_docs::{DocColumn, DocModel, DocSource, DocsSite};

/// The hostile text put in every user-facing field of the fixture.
pub const HOSTILE: &str = "<script>alert(\"pwned\")</script>";

pub fn column(name: &str, data_type: &str, description: Option<&str>) -> DocColumn {
    DocColumn {
        name: name.into(),
        data_type: data_type.into(),
        description: description.map(Into::into),
    }
}

pub fn model(id: &str, depends_on: &[&str]) -> DocModel {
    let (dataset, name) = id.split_once('.').unwrap_or(("", id));
    let from = depends_on
        .iter()
        .map(|d| format!("FROM {d}"))
        .collect::<Vec<_>>()
        .join("\n  JOIN ");
    DocModel {
        id: id.into(),
        path: format!("models/{dataset}/{name}.sql"),
        sql: format!("/* kura\nmaterialized = \"view\"\n*/\nSELECT *\n{from}\nWHERE 1 = 1"),
        materialized: "view".into(),
        description: Some(format!("The {name} model.")),
        owner: Some("data-team".into()),
        tags: vec!["core".into()],
        columns: vec![column("id", "INT64", Some("The key."))],
        checks: vec!["not_null(id)".into()],
        depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
    }
}

pub fn source(id: &str) -> DocSource {
    DocSource {
        id: id.into(),
        columns: vec![
            column("id", "INT64", None),
            column("payload", "STRING", Some("Raw JSON.")),
        ],
    }
}

/// Six models over two sources, with a diamond (stg.customers -> int.orders_enriched and
/// marts.customer_ltv -> marts.dashboard), a diamond at the bottom, and one edge skipping two
/// layers (stg.orders -> marts.dashboard). Every user-facing field of stg.orders is hostile.
pub fn shop() -> DocsSite {
    let mut orders = model("stg.orders", &["raw.orders"]);
    orders.description = Some(format!("Orders, cleaned.\n{HOSTILE}"));
    orders.owner = Some(HOSTILE.into());
    orders.tags = vec!["finance".into(), HOSTILE.into()];
    orders.columns = vec![
        column("order_id", "INT64", Some(HOSTILE)),
        column(HOSTILE, "STRING", None),
    ];
    orders.checks = vec![format!("accepted_values(status, ['{HOSTILE}'])")];
    orders.sql = format!(
        "-- {HOSTILE}\nSELECT order_id, '</script><script>alert(1)</script>' AS s\nFROM raw.orders"
    );
    DocsSite {
        project: format!("shop {HOSTILE}"),
        generated_at: "2024-05-01T12:00:00Z".into(),
        models: vec![
            model(
                "marts.dashboard",
                &["marts.revenue", "marts.customer_ltv", "stg.orders"],
            ),
            orders,
            model("stg.customers", &["raw.customers"]),
            model("int.orders_enriched", &["stg.orders", "stg.customers"]),
            model("marts.revenue", &["int.orders_enriched"]),
            model(
                "marts.customer_ltv",
                &["int.orders_enriched", "stg.customers"],
            ),
        ],
        sources: vec![source("raw.orders"), source("raw.customers")],
    }
}

/// Every dependency of `site` as (from, to).
pub fn edges(site: &DocsSite) -> BTreeSet<(String, String)> {
    site.models
        .iter()
        .flat_map(|m| m.depends_on.iter().map(|d| (d.clone(), m.id.clone())))
        .collect()
}

/// Every model and source id of `site`.
pub fn ids(site: &DocsSite) -> BTreeSet<String> {
    site.models
        .iter()
        .map(|m| m.id.clone())
        .chain(site.sources.iter().map(|s| s.id.clone()))
        .collect()
}
