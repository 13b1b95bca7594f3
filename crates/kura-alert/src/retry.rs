//! Bounded retries shared by every channel: a number of attempts, exponential backoff, and one
//! deadline that covers attempts and waits alike.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::RetryPolicy;

/// No attempt gets less time than this while the deadline allows it: dividing a short budget
/// among many attempts would otherwise time out servers that are merely slow.
const MIN_ATTEMPT_TIME: Duration = Duration::from_secs(1);

/// Why one attempt failed, and whether another could succeed.
pub(crate) struct AttemptError {
    /// What failed, e.g. `HTTP 503 Service Unavailable from hooks.slack.com: ...`.
    pub(crate) message: String,
    /// What the user can do if this turns out to be the last attempt.
    pub(crate) hint: String,
    pub(crate) retry: Retry,
}

/// Whether to try again after an [`AttemptError`].
pub(crate) enum Retry {
    /// The request itself is wrong; sending it again would fail the same way.
    Never,
    /// Possibly transient: retry after the policy's backoff.
    Backoff,
    /// The server said when to come back (`Retry-After`).
    After(Duration),
}

/// The result of all attempts at one channel.
pub(crate) struct Outcome {
    pub(crate) attempts: u32,
    /// `None` when delivered; otherwise the last failure, with why retrying stopped.
    pub(crate) failure: Option<AttemptError>,
}

/// Calls `attempt` until it succeeds, fails for good, runs out of attempts or would pass the
/// deadline `policy.deadline()` after `started`.
///
/// `attempt` receives its time budget (it is also cut off at that budget, so a server that never
/// answers cannot hold it). The budget is the remaining time shared among the remaining attempts,
/// so that a server which hangs once still leaves time for retries; but at least
/// [`MIN_ATTEMPT_TIME`], and never past the deadline.
pub(crate) async fn with_retries<F, Fut>(
    policy: &RetryPolicy,
    started: Instant,
    mut attempt: F,
) -> Outcome
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<(), AttemptError>>,
{
    let deadline = started + policy.deadline();
    let max_attempts = policy.attempts.max(1);
    let mut backoff = policy.initial_backoff();
    let mut attempts = 0;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempts_left = max_attempts - attempts;
        let budget = (remaining / attempts_left).max(MIN_ATTEMPT_TIME.min(remaining));
        attempts += 1;
        let mut error = match tokio::time::timeout(budget, attempt(budget)).await {
            Ok(Ok(())) => {
                return Outcome {
                    attempts,
                    failure: None,
                }
            }
            Ok(Err(error)) => error,
            Err(_elapsed) => AttemptError {
                message: format!("no response within {}", seconds(budget)),
                hint: "the server accepted the connection but did not answer; check that it is \
                       healthy, or raise alerts.retry.deadline_secs if it is merely slow"
                    .into(),
                retry: Retry::Backoff,
            },
        };
        let of = format!("attempt {attempts} of {max_attempts}");
        let wait = match error.retry {
            Retry::Never => {
                error.message = format!(
                    "{} ({of}; not retried: it would fail the same way)",
                    error.message
                );
                return Outcome {
                    attempts,
                    failure: Some(error),
                };
            }
            _ if attempts >= max_attempts => {
                error.message = format!("{} ({of}; no attempts left)", error.message);
                return Outcome {
                    attempts,
                    failure: Some(error),
                };
            }
            Retry::Backoff => backoff,
            Retry::After(wait) => wait,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if wait >= remaining {
            let asked = match error.retry {
                Retry::After(_) => "the server asked to wait",
                _ => "the next retry would start in",
            };
            error.message = format!(
                "{} ({of}; gave up: {asked} {} but the {} deadline leaves {})",
                error.message,
                seconds(wait),
                seconds(policy.deadline()),
                seconds(remaining)
            );
            return Outcome {
                attempts,
                failure: Some(error),
            };
        }
        tokio::time::sleep(wait).await;
        backoff = backoff.saturating_mul(2);
    }
}

/// A duration for messages: `0.25s`, `15s`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.2}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_reads_naturally() {
        assert_eq!(seconds(Duration::from_secs(15)), "15s");
        assert_eq!(seconds(Duration::from_millis(250)), "0.25s");
    }
}
