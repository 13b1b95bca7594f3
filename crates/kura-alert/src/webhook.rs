//! Slack-compatible incoming webhooks: one JSON POST per attempt.
//!
//! The payload follows Slack's incoming-webhook format (`text` as the notification fallback plus
//! Block Kit `blocks`), which Mattermost and other Slack-compatible services also accept.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Client, StatusCode, Url};
use serde_json::{json, Value};

use crate::alert::Alert;
use crate::retry::{AttemptError, Retry};

/// Slack's limit on a header block's text.
const HEADER_MAX: usize = 150;
/// Slack's limit on a section's (and a context element's) text.
const SECTION_MAX: usize = 3000;
/// How much of an error response's body goes into the error message.
const ERROR_BODY_MAX: usize = 200;

/// The HTTP client for one delivery. No redirects: a webhook that redirects is misconfigured,
/// and following a POST redirect would silently turn it into a GET.
pub(crate) fn client() -> Result<Client, String> {
    Client::builder()
        .user_agent(concat!("kura-alert/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("could not create the HTTP client: {}", error_chain(&e)))
}

/// Where a URL points, for messages: host and explicit port, never the path (which holds the
/// webhook's secret).
pub(crate) fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("<no host>");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// One POST of `payload` to `url`, classified for the retry loop.
pub(crate) async fn post(
    client: &Client,
    url: &Url,
    payload: &Value,
    budget: Duration,
) -> Result<(), AttemptError> {
    let host = host_of(url);
    let response = client
        .post(url.clone())
        .json(payload)
        .timeout(budget)
        .send()
        .await
        .map_err(|e| transport_error(e, &host))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // The body usually says why (Slack: `invalid_payload`, `no_service`); a body that cannot be
    // read is not worth failing over, the status already tells what happened.
    let body = response.text().await.unwrap_or_default();
    let body = one_line(&body);
    let body = truncate(&body, ERROR_BODY_MAX);
    let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
    Err(AttemptError {
        message: if body.is_empty() {
            format!("HTTP {status} from {host}")
        } else {
            format!("HTTP {status} from {host}: {body}")
        },
        hint: status_hint(status).into(),
        retry: match (retryable, retry_after) {
            (false, _) => Retry::Never,
            (true, Some(wait)) => Retry::After(wait),
            (true, None) => Retry::Backoff,
        },
    })
}

fn status_hint(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 | 403 | 404 | 410 => {
            "the webhook URL is wrong or was revoked; create a new incoming webhook and update \
             `url` or the variable named by `url_env`"
        }
        429 => "the service is rate limiting this webhook; alerts are being sent too often",
        500..=599 => "the webhook service is failing; this is usually a temporary outage",
        300..=399 => "the webhook URL redirects; use the final URL",
        _ => "the service rejected the request; check that the URL is a Slack-compatible incoming webhook",
    }
}

fn transport_error(error: reqwest::Error, host: &str) -> AttemptError {
    // Builder errors (an unusable URL) cannot get better; everything else happens on the
    // network, where a retry may well succeed.
    let retry = if error.is_builder() {
        Retry::Never
    } else {
        Retry::Backoff
    };
    let (what, hint) = if error.is_connect() {
        (
            "could not connect to",
            "check the URL's host and port and that this machine can reach it (proxy, firewall)",
        )
    } else if error.is_timeout() {
        (
            "no response from",
            "the server did not answer in time; raise alerts.retry.deadline_secs if it is slow",
        )
    } else {
        (
            "request failed to",
            "check the URL and that the server speaks HTTP(S)",
        )
    };
    // `without_url`: reqwest puts the full URL in its messages, and the path is the secret.
    let detail = error_chain(&error.without_url());
    AttemptError {
        message: format!("{what} {host}: {detail}"),
        hint: hint.into(),
        retry,
    }
}

/// An error and its causes on one line, skipping causes whose text the line already holds.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

/// The message for `alert`: a header with the title, a section saying what and where, the
/// detail lines in a code block, and a context line identifying project, run and key.
pub(crate) fn slack_payload(alert: &Alert) -> Value {
    let mut summary = format!("*{}* · severity *{}*", alert.kind, alert.severity);
    if let Some(table) = &alert.table {
        summary.push_str(&format!(" · table `{}`", escape(table)));
    }
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(&alert.one_line_title(), HEADER_MAX), "emoji": true},
        }),
        section(&summary),
    ];
    if !alert.lines.is_empty() {
        // A code block keeps SQL and sample rows aligned; the fences are counted in the limit.
        let fence = "```";
        let body = truncate(
            &escape(&alert.lines.join("\n")),
            SECTION_MAX - 2 * fence.len() - 2,
        );
        blocks.push(section(&format!("{fence}\n{body}\n{fence}")));
    }
    let context = format!(
        "project `{}` · run `{}` · {} · key `{}`",
        escape(&alert.project),
        escape(&alert.run_id),
        alert.at.format("%Y-%m-%d %H:%M:%S UTC"),
        escape(&alert.key),
    );
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(&context, SECTION_MAX)}],
    }));
    json!({
        "text": truncate(&escape(&alert.headline()), SECTION_MAX),
        "blocks": blocks,
    })
}

fn section(mrkdwn: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(mrkdwn, SECTION_MAX)}})
}

/// Slack reads `&`, `<` and `>` in mrkdwn as control characters; its docs ask for these escapes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, cut on a character boundary and ended with `…` when cut.
///
/// Counts UTF-16 units, which is at least the character count, so the result is within Slack's
/// limits however they count. Never ends inside an `&amp;`-style escape.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    let units: usize = text.chars().map(char::len_utf16).sum();
    if units <= max {
        return text.to_string();
    }
    let mut used = 0;
    let mut end = 0;
    for (index, ch) in text.char_indices() {
        // Keep one unit for the ellipsis.
        if used + ch.len_utf16() > max.saturating_sub(1) {
            break;
        }
        used += ch.len_utf16();
        end = index + ch.len_utf8();
    }
    let mut kept = &text[..end];
    if let Some(amp) = kept.rfind('&') {
        if !kept[amp..].contains(';') && kept.len() - amp < "&amp;".len() {
            kept = &kept[..amp];
        }
    }
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_text_and_cuts_on_char_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        let cut = truncate(&"é".repeat(200), HEADER_MAX);
        assert_eq!(cut.chars().count(), HEADER_MAX);
        assert!(cut.ends_with('…'));
        // An emoji is two UTF-16 units: 3 emoji do not fit in 5 units with an ellipsis.
        assert_eq!(truncate("😀😀😀", 5), "😀😀…");
    }

    #[test]
    fn truncate_does_not_split_escapes() {
        assert_eq!(truncate("ab&amp;cd", 5), "ab…");
        assert_eq!(truncate("a&amp;bcdef", 8), "a&amp;b…");
    }
}
