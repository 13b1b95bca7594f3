//! Delivers data-quality alerts (a failed check, an anomaly) to the channels configured in
//! `[alerts]`: Slack-compatible webhooks and email over SMTP.
//!
//! The parts fit as follows. [`AlertSettings`] is the `[alerts]` table; [`AlertSettings::validate`]
//! checks it at startup. An [`Alert`] is one event. [`deliver_all`] sends a run's alerts to every
//! channel at once, retrying each within [`RetryPolicy`]'s attempts and one deadline for the whole
//! call, and returns one [`Delivery`] per alert and channel saying whether it arrived;
//! [`deliver`] sends one alert.
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
/// once, and reports on each: [`deliver_all`] with one alert.
///
/// Channels below the alert's severity are skipped and not reported (so the result holds exactly
/// the channels that were tried, in configuration order).
///
/// Must run inside a Tokio runtime (with the time and I/O drivers enabled).
pub async fn deliver(alert: &Alert, settings: &AlertSettings) -> Vec<Delivery> {
    deliver_all(std::slice::from_ref(alert), settings)
        .await
        .pop()
        .unwrap_or_default()
}

/// Sends each of `alerts` to every channel whose `min_severity` it reaches, and reports on each:
/// one `Vec<Delivery>` per alert, in the order given, each holding the channels tried in
/// configuration order.
///
/// The channels run concurrently; on each channel the alerts go one after another (a chat
/// webhook allows about one message a second). `settings.retry.deadline_secs` bounds the whole
/// call, not each alert: every channel shares one deadline across its alerts, with up to
/// `settings.retry.attempts` attempts per alert, so a run that raises many alerts to a dead
/// server still waits only about that deadline. Once a channel has used up its attempts on an
/// alert, or its deadline has passed, its remaining alerts are not tried and are reported
/// undelivered with 0 attempts, saying why; the caller sends them again later.
///
/// A channel whose configuration cannot be used (say `url_env` names an unset variable) is
/// reported undelivered with 0 attempts; the other channels are still tried. Call
/// [`AlertSettings::validate`] at startup to find such problems before an alert depends on them.
///
/// Must run inside a Tokio runtime (with the time and I/O drivers enabled).
pub async fn deliver_all(alerts: &[Alert], settings: &AlertSettings) -> Vec<Vec<Delivery>> {
    let started = Instant::now();
    let per_channel = settings
        .channels
        .iter()
        .map(|channel| deliver_in_turn(alerts, channel, &settings.retry, started));
    let by_channel = futures::future::join_all(per_channel).await;
    let mut by_alert: Vec<Vec<Delivery>> = vec![Vec::new(); alerts.len()];
    for channel in by_channel {
        for (deliveries, delivery) in by_alert.iter_mut().zip(channel) {
            deliveries.extend(delivery);
        }
    }
    by_alert
}

/// One channel's deliveries of `alerts`, one after another within the deadline counted from
/// `started`; `None` for an alert below the channel's `min_severity`.
async fn deliver_in_turn(
    alerts: &[Alert],
    channel: &ChannelConfig,
    policy: &RetryPolicy,
    started: Instant,
) -> Vec<Option<Delivery>> {
    let mut deliveries = Vec::with_capacity(alerts.len());
    let mut gave_up: Option<String> = None;
    for alert in alerts {
        if alert.severity < channel.min_severity() {
            deliveries.push(None);
            continue;
        }
        if gave_up.is_none() && Instant::now() >= started + policy.deadline() {
            gave_up = Some(format!(
                "the alerts' deadline of {} s had passed",
                policy.deadline_secs
            ));
        }
        let delivery = match &gave_up {
            Some(reason) => Delivery {
                channel: channel.name().to_string(),
                channel_type: channel.channel_type(),
                delivered: false,
                attempts: 0,
                error: Some(format!(
                    "channel `{}` was not tried: {reason}; it is sent again on the next run",
                    channel.name()
                )),
                elapsed: Duration::ZERO,
            },
            None => deliver_to(alert, channel, policy, started).await,
        };
        // A channel that used up its attempts (or cannot be used at all) is down for this run;
        // one that refused a single alert (an HTTP 4xx) may still take the others.
        let exhausted = delivery.attempts == 0 || delivery.attempts >= policy.attempts.max(1);
        if gave_up.is_none() && !delivery.delivered && exhausted {
            gave_up = Some(format!(
                "it failed an earlier alert of this run (\"{}\")",
                alert.one_line_title()
            ));
        }
        deliveries.push(Some(delivery));
    }
    deliveries
}

/// Delivers one alert to one channel, its retries ending at the deadline counted from `started`.
async fn deliver_to(
    alert: &Alert,
    channel: &ChannelConfig,
    policy: &RetryPolicy,
    started: Instant,
) -> Delivery {
    let began = Instant::now();
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
        elapsed: began.elapsed(),
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
