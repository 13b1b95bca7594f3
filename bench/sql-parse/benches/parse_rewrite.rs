//! Parse + rewrite of a 200-line GoogleSQL model, the work `kura sql` and `kura plan` do
//! before the engine sees a statement. Target (issue 3): under 1 ms.
//!
//! Run: `cargo bench --manifest-path bench/sql-parse/Cargo.toml`

use criterion::{black_box, criterion_group, criterion_main, Criterion};

// The allocator the kura binary uses, so the benchmark measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MODEL: &str = include_str!("model_200_lines.sql");

fn tables(dataset: &str) -> Vec<String> {
    match dataset {
        "analytics" => (1..=31).map(|d| format!("events_202401{d:02}")).collect(),
        _ => Vec::new(),
    }
}

fn parse_and_rewrite(c: &mut Criterion) {
    assert!(
        MODEL.lines().count() >= 200,
        "the benchmark model must be at least 200 lines"
    );
    let lister = tables;
    // Fail loudly if the model stops being supported: a benchmark of an error path is no use.
    let stmt = kura_sql::parse_one(MODEL).expect("model parses");
    kura_sql::rewrite_for_datafusion_with_tables(stmt, &lister).expect("model rewrites");

    c.bench_function("parse_200_lines", |b| {
        b.iter(|| kura_sql::parse_one(black_box(MODEL)).expect("parses"))
    });
    c.bench_function("parse_and_rewrite_200_lines", |b| {
        b.iter(|| {
            let stmt = kura_sql::parse_one(black_box(MODEL)).expect("parses");
            kura_sql::rewrite_for_datafusion_with_tables(stmt, &lister).expect("rewrites")
        })
    });
}

criterion_group!(benches, parse_and_rewrite);
criterion_main!(benches);
