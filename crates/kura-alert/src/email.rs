//! Email over SMTP: a plain-text message, one SMTP session per attempt.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::alert::Alert;
use crate::config::{EmailChannel, EmailRoute, SmtpTls};
use crate::retry::{AttemptError, Retry};

/// The message for `alert`: subject `[kura] <title>` (`[kura] ERROR: <title>` for errors), and a
/// body with the title, the detail lines and where the alert came from.
pub(crate) fn message(alert: &Alert, route: &EmailRoute) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(route.from.clone())
        .subject(alert.headline());
    for to in &route.to {
        builder = builder.to(to.clone());
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(body(alert))
        .map_err(|e| format!("could not build the email: {e}"))
}

fn body(alert: &Alert) -> String {
    let mut text = format!("{}\n\n", alert.title.trim_end());
    for line in &alert.lines {
        text.push_str(line);
        text.push('\n');
    }
    if !alert.lines.is_empty() {
        text.push('\n');
    }
    text.push_str(&format!("kind:     {}\n", alert.kind));
    text.push_str(&format!("severity: {}\n", alert.severity));
    if let Some(table) = &alert.table {
        text.push_str(&format!("table:    {table}\n"));
    }
    text.push_str(&format!("project:  {}\n", alert.project));
    text.push_str(&format!("run:      {}\n", alert.run_id));
    text.push_str(&format!(
        "at:       {}\n",
        alert.at.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    text.push_str(&format!("key:      {}\n", alert.key));
    text
}

/// One SMTP session sending `message`, classified for the retry loop.
pub(crate) async fn send(
    channel: &EmailChannel,
    route: &EmailRoute,
    message: &Message,
    budget: Duration,
) -> Result<(), AttemptError> {
    let host = channel.smtp_host.trim();
    let at = format!("{host}:{}", channel.smtp_port);
    let tls = match channel.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls => Tls::Required(tls_parameters(host, &at)?),
        SmtpTls::Tls => Tls::Wrapper(tls_parameters(host, &at)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(channel.smtp_port)
        .tls(tls)
        // lettre applies this to the connection and to each command; the retry loop also cuts
        // the whole session off at the same budget.
        .timeout(Some(budget));
    if let Some(credentials) = &route.credentials {
        builder = builder.credentials(credentials.clone());
    }
    let transport = builder.build();
    match transport.send(message.clone()).await {
        Ok(_) => Ok(()),
        Err(error) => Err(classify(&error, &at)),
    }
}

fn tls_parameters(host: &str, at: &str) -> Result<TlsParameters, AttemptError> {
    TlsParameters::new(host.into()).map_err(|e| AttemptError {
        message: format!("could not set up TLS for {at}: {e}"),
        hint: "check smtp_host; it must be the name on the server's certificate".into(),
        retry: Retry::Never,
    })
}

fn classify(error: &lettre::transport::smtp::Error, at: &str) -> AttemptError {
    let (what, hint, retry) = if error.is_permanent() {
        (
            "the SMTP server refused the message",
            "check `from`, `to`, `username` and the password; the server's reply says which",
            Retry::Never,
        )
    } else if error.is_transient() {
        (
            "the SMTP server deferred the message",
            "the server asked to try later; if it persists, check its logs",
            Retry::Backoff,
        )
    } else if error.is_tls() {
        (
            "TLS failed with the SMTP server",
            "use tls = \"tls\" for port 465 and tls = \"starttls\" for 587; check that smtp_host \
             is the name on the certificate",
            Retry::Never,
        )
    } else if error.is_response() {
        (
            "the server did not answer as an SMTP server",
            "check smtp_port and tls; an SMTPS port (465) needs tls = \"tls\"",
            Retry::Never,
        )
    } else if error.is_client() {
        (
            "the SMTP session failed",
            "check tls, username and password_env against what the server supports",
            Retry::Never,
        )
    } else if error.is_timeout() {
        (
            "no response from the SMTP server",
            "the server did not answer in time; raise alerts.retry.deadline_secs if it is slow",
            Retry::Backoff,
        )
    } else {
        (
            "could not talk to the SMTP server",
            "check smtp_host and smtp_port, and that the server accepts connections from here",
            Retry::Backoff,
        )
    };
    AttemptError {
        message: format!("{what} at {at}: {error}"),
        hint: hint.into(),
        retry,
    }
}
