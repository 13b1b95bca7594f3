//! Delivers data-quality alerts (a failed check, an anomaly) to the channels configured in
//! `[alerts]`: Slack-compatible webhooks and email over SMTP.
//!
//! The parts fit as follows. [`AlertSettings`] is the `[alerts]` table; [`AlertSettings::validate`]
//! checks it at startup. An [`Alert`] is one event. [`deliver`] sends it to every channel at once,
//! retrying each within [`RetryPolicy`]'s attempts and deadline, and returns one [`Delivery`] per
//! channel saying whether it arrived.
//!
//! This crate only sends. The caller records deliveries and decides what not to send again
//! (de-duplication on [`Alert::key`]); nothing here keeps state between calls, and nothing prints.

#![warn(missing_docs, clippy::unwrap_used)]

mod alert;
mod config;
mod email;
mod retry;
mod webhook;

use std::time::Duration;

use tokio::time::Instant;

pub use alert::{Alert, AlertKind, Severity};
pub use config::{
    AlertSettings, ChannelConfig, ConfigError, EmailChannel, RetryPolicy, SmtpTls, WebhookChannel,
};

use retry::{with_retries, Outcome};

/// What happened to an alert on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The channel's `name`.
    pub channel: String,
    /// The channel's `type`: `"webhook"` or `"email"`.
    pub channel_type: &'static str,
    /// Whether the channel accepted the alert (HTTP 2xx; SMTP accepted the message).
    pub delivered: bool,
    /// Attempts made; 0 when the channel's configuration could not be used at all.
    pub attempts: u32,
    /// Why it was not delivered: what failed, where (channel and host), the last attempt's
    /// error, why retrying stopped, and a `hint:`. `None` when delivered. Never holds the
    /// webhook URL's path or the SMTP password.
    pub error: Option<String>,
    /// Time spent on this channel, retries and waits included.
    pub elapsed: Duration,
}

/// Sends `alert` to every channel in `settings` whose `min_severity` it reaches, all channels at
/// once, and reports on each.
///
/// Channels below the alert's severity are skipped and not reported (so the result holds exactly
/// the channels that were tried, in configuration order). Each channel is tried up to
/// `settings.retry.attempts` times within `settings.retry.deadline_secs`; since channels run
/// concurrently the whole call takes about that deadline at most, even when a server accepts the
/// connection and never answers.
///
/// A channel whose configuration cannot be used (say `url_env` names an unset variable) is
/// reported undelivered with 0 attempts; the other channels are still tried. Call
/// [`AlertSettings::validate`] at startup to find such problems before an alert depends on them.
///
/// Must run inside a Tokio runtime (with the time and I/O drivers enabled).
pub async fn deliver(alert: &Alert, settings: &AlertSettings) -> Vec<Delivery> {
    let attempts = settings
        .channels
        .iter()
        .filter(|channel| alert.severity >= channel.min_severity())
        .map(|channel| deliver_to(alert, channel, &settings.retry));
    futures::future::join_all(attempts).await
}

async fn deliver_to(alert: &Alert, channel: &ChannelConfig, policy: &RetryPolicy) -> Delivery {
    let started = Instant::now();
    let (destination, result) = match channel {
        ChannelConfig::Webhook(webhook) => deliver_webhook(alert, webhook, policy, started).await,
        ChannelConfig::Email(email) => deliver_email(alert, email, policy, started).await,
    };
    let (attempts, error) = match result {
        Ok(Outcome {
            attempts,
            failure: None,
        }) => (attempts, None),
        Ok(Outcome {
            attempts,
            failure: Some(failure),
        }) => (
            attempts,
            Some(format!(
                "channel `{}` ({destination}): {}; hint: {}",
                channel.name(),
                failure.message,
                failure.hint
            )),
        ),
        Err(unusable) => (
            0,
            Some(format!(
                "channel `{}` ({destination}) was not tried: {unusable}",
                channel.name()
            )),
        ),
    };
    Delivery {
        channel: channel.name().to_string(),
        channel_type: channel.channel_type(),
        delivered: error.is_none(),
        attempts,
        error,
        elapsed: started.elapsed(),
    }
}

/// A description of where the channel sends, and the outcome, or why it could not start.
type ChannelResult = (String, Result<Outcome, String>);

fn unusable(error: &ConfigError) -> String {
    format!("{error}; hint: {}", error.hint())
}

async fn deliver_webhook(
    alert: &Alert,
    channel: &WebhookChannel,
    policy: &RetryPolicy,
    started: Instant,
) -> ChannelResult {
    let url = match config::webhook_url(channel) {
        Ok(url) => url,
        Err(error) => return ("webhook".into(), Err(unusable(&error))),
    };
    let destination = format!("webhook to {}", webhook::host_of(&url));
    let client = match webhook::client() {
        Ok(client) => client,
        Err(error) => return (destination, Err(error)),
    };
    let payload = webhook::slack_payload(alert);
    let outcome = with_retries(policy, started, |budget| {
        webhook::post(&client, &url, &payload, budget)
    })
    .await;
    (destination, Ok(outcome))
}

async fn deliver_email(
    alert: &Alert,
    channel: &EmailChannel,
    policy: &RetryPolicy,
    started: Instant,
) -> ChannelResult {
    let destination = format!(
        "email via {}:{}",
        channel.smtp_host.trim(),
        channel.smtp_port
    );
    let route = match config::email_route(channel) {
        Ok(route) => route,
        Err(error) => return (destination, Err(unusable(&error))),
    };
    let message = match email::message(alert, &route) {
        Ok(message) => message,
        Err(error) => return (destination, Err(error)),
    };
    let outcome = with_retries(policy, started, |budget| {
        email::send(channel, &route, &message, budget)
    })
    .await;
    (destination, Ok(outcome))
}

#[cfg(feature = "testing")]
pub mod testing;
