//! `kura demo`: the README's first command. A project with the demo data, a few queries of the
//! kind an analyst runs in the first week, and the cost report they produced.

use std::path::PathBuf;
use std::process::ExitCode;

use kura_engine::{Project, QueryContext, Warehouse};

use super::Globals;
use crate::output::{human_bytes, write_batches, Format};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to put the demo project (default: ./kura-demo). Reused if it exists.
    pub dir: Option<PathBuf>,
}

const QUERIES: [(&str, &str); 4] = [
    (
        "Revenue by month (completed orders, JST months; from the marts.orders model)",
        "SELECT DATE_TRUNC(order_date, MONTH) AS month_jst,
                count(*) AS orders,
                sum(total_jpy) AS revenue_jpy
         FROM marts.orders
         WHERE is_completed
         GROUP BY 1 ORDER BY 1",
    ),
    (
        "Top 5 products by revenue",
        "SELECT i.product_name, sum(i.quantity) AS units, sum(i.quantity * i.unit_price) AS revenue_jpy
         FROM raw.order_items i JOIN raw.orders o ON o.order_id = i.order_id
         WHERE o.status NOT IN ('cancelled', 'returned')
         GROUP BY 1 ORDER BY revenue_jpy DESC LIMIT 5",
    ),
    (
        "Customers and revenue by segment and country (top 8)",
        "SELECT c.segment, c.country, count(DISTINCT c.customer_id) AS customers,
                sum(o.total_jpy) AS revenue_jpy
         FROM raw.customers c JOIN raw.orders o ON o.customer_id = c.customer_id
         GROUP BY 1, 2 ORDER BY revenue_jpy DESC LIMIT 8",
    ),
    (
        "GA4: sessions by source / medium (flattened export, no hand-written UNNEST)",
        "SELECT source, medium, count(*) AS sessions, COUNTIF(engaged) AS engaged,
                sum(purchases) AS purchases, sum(revenue) AS revenue_jpy
         FROM ga4.sessions
         GROUP BY 1, 2 ORDER BY sessions DESC LIMIT 6",
    ),
];

pub async fn run(args: DemoArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("kura-demo"));
    let fresh = !dir.join(kura_engine::project::CONFIG_FILE).exists();
    let project = if fresh {
        super::init::create_project(&dir, Some("kura-demo"), &globals.principal)?
    } else {
        Project::open(&dir)?
    };
    let wh = Warehouse::open(project)?;
    kura_ga4::register(&wh);
    outln!("== kura demo project in {}\n", dir.display());
    super::init::load_demo(&wh, &globals.principal, globals.quiet).await?;
    outln!("-- kura run (the project's models: staging views, then marts)");
    let (project, graph) = kura_models::plan::load_project(&wh, wh.project().root())?;
    let selected = graph.select(&project, &[])?;
    let options = kura_models::BuildOptions {
        env: kura_models::Environment::prod(),
        principal: globals.principal.clone(),
        full_refresh: false,
        threads: 4,
        command: "demo".into(),
        run_checks: true,
    };
    let report = kura_models::build::build(&wh, &project, &graph, &selected, &options).await?;
    super::models::print_report(&report, true);
    if report.failed() > 0 {
        anyhow::bail!("{} demo models failed to build", report.failed());
    }
    outln!("\n-- kura check (model headers' checks, and models/raw/checks.toml)");
    let checks: Vec<kura_quality::TableCheck> = project
        .quality
        .iter()
        .flat_map(|q| q.table_checks())
        .collect();
    let scope = kura_quality::RunScope::for_warehouse(&wh, globals.principal.clone());
    let results = kura_quality::run_checks(&wh, &checks, &scope).await?;
    super::quality::print_check_results(&results);
    for (title, sql) in QUERIES {
        outln!("\n-- {title}");
        let ctx = QueryContext::new(globals.principal.clone()).with_label("source", "demo");
        let result = wh.query(sql, &ctx).await?;
        write_batches(result.schema.clone(), &result.batches, Format::Table, None)?;
        outln!(
            "({} rows, {} scanned)",
            result.rows,
            human_bytes(result.bytes_scanned)
        );
    }
    outln!("\n-- kura cost --since 1d --by table");
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let report =
        kura_engine::cost::cost_report(&wh, since, kura_engine::cost::CostGrouping::Table, 3)
            .await?;
    for row in &report.rows {
        outln!(
            "  {:<20} {:>3} queries {:>12} scanned  {:.8} USD",
            row.key,
            row.queries,
            human_bytes(row.bytes_scanned),
            row.cost_usd
        );
    }
    outln!(
        "\nTry: cd {} && kura sql \"SELECT * FROM raw.customers LIMIT 5\"   |   kura cost --by principal",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
