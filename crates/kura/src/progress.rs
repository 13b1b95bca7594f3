//! Progress bars for long work: drawn on a terminal's stderr only, never when piped or quiet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use kura_engine::load::LoadReporter;

/// A byte-based bar with rows/s, for `kura load`.
pub struct LoadBar {
    bar: Option<ProgressBar>,
    rows: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
}

impl LoadBar {
    pub fn new(quiet: bool) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        Self {
            bar: show.then(ProgressBar::hidden),
            rows: 0.into(),
            started: std::time::Instant::now(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl LoadReporter for LoadBar {
    fn started(&self, total_bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(total_bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} loading [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
    }

    fn progress(&self, rows: u64, bytes: u64) {
        let total = self
            .rows
            .fetch_add(rows, std::sync::atomic::Ordering::Relaxed)
            + rows;
        if let Some(bar) = &self.bar {
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            bar.set_position(bytes);
            bar.set_message(format!(
                "{} rows, {}/s",
                crate::output::human_count(total),
                crate::output::human_count((total as f64 / secs) as u64)
            ));
        }
    }
}
