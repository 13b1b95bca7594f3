//! Shared setup: a project in a temporary directory with alice (engineer) and bob (analyst).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kura_engine::load::{LoadOutcome, LoadRequest, NoProgress};
use kura_engine::{EngineError, Project, QueryContext, TableName, Warehouse};

pub struct TestProject {
    pub dir: tempfile::TempDir,
    pub wh: Warehouse,
}

pub fn project() -> TestProject {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kura_engine::project::config_template("test", "alice")
        .replace("analysts = []", "analysts = [\"bob\"]");
    std::fs::write(dir.path().join("kura.toml"), config).expect("write kura.toml");
    let wh = Warehouse::open(Project::open(dir.path()).expect("open project")).expect("open");
    TestProject { dir, wh }
}

impl TestProject {
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("write input");
        path
    }

    pub async fn load(&self, paths: &[&Path], table: &str) -> Result<LoadOutcome, EngineError> {
        let req = LoadRequest::new(
            paths.iter().map(|p| p.to_path_buf()).collect(),
            TableName::parse(table).expect("table name"),
        );
        self.load_with(req).await
    }

    pub async fn load_with(&self, req: LoadRequest) -> Result<LoadOutcome, EngineError> {
        self.wh.load(&req, "alice", Arc::new(NoProgress)).await
    }

    /// Runs a query as alice and renders the rows as lines of `a|b|c`.
    pub async fn rows(&self, sql: &str) -> Vec<String> {
        let result = self
            .wh
            .query(sql, &QueryContext::new("alice"))
            .await
            .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"));
        render(&result.batches)
    }
}

pub fn render(batches: &[arrow::record_batch::RecordBatch]) -> Vec<String> {
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
