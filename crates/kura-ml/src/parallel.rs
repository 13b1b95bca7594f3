//! Row-parallel loops over an output buffer with scoped std threads.
//!
//! Prediction and TreeSHAP are independent per row, so splitting the rows into one contiguous
//! chunk per core is all the scheduling needed; std's scoped threads avoid a thread-pool
//! dependency for this one pattern.

/// Calls `f(first_row, chunk)` on disjoint chunks of `out`, where each row owns `stride`
/// consecutive values, using up to `available_parallelism()` threads.
pub(crate) fn for_each_row_chunk<F>(out: &mut [f64], stride: usize, f: F)
where
    F: Fn(usize, &mut [f64]) + Sync,
{
    let rows = out.len().checked_div(stride).unwrap_or(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(rows.div_ceil(64).max(1));
    if threads <= 1 {
        f(0, out);
        return;
    }
    let rows_per = rows.div_ceil(threads);
    std::thread::scope(|scope| {
        for (t, chunk) in out.chunks_mut(rows_per * stride).enumerate() {
            let f = &f;
            scope.spawn(move || f(t * rows_per, chunk));
        }
    });
}
