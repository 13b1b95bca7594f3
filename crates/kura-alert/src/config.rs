//! The `[alerts]` table of `kura.toml`: channels, the retry policy, and their validation.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::alert::Severity;

/// The `[alerts]` table: where alerts go and how hard to try.
///
/// ```toml
/// [alerts]
/// retry = { attempts = 4, initial_backoff_ms = 250, deadline_secs = 15 }
/// [[alerts.channels]]
/// name = "slack-data"
/// type = "webhook"
/// url_env = "KURA_SLACK_WEBHOOK"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// Every configured channel; each alert goes to those whose `min_severity` it reaches.
    pub channels: Vec<ChannelConfig>,
    /// How often and how long to retry each channel.
    pub retry: RetryPolicy,
}

/// How hard to try one channel.
///
/// Bounded both in attempts and in time, so a dead alerting service cannot stall the run that
/// raised the alert for longer than `deadline_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per channel, the first included (default 4).
    pub attempts: u32,
    /// Wait before the first retry, doubled after each (default 250 ms).
    pub initial_backoff_ms: u64,
    /// Time budget per channel, retries and waits included (default 15 s).
    pub deadline_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            initial_backoff_ms: 250,
            deadline_secs: 15,
        }
    }
}

impl RetryPolicy {
    /// `initial_backoff_ms` as a duration.
    pub fn initial_backoff(&self) -> Duration {
        Duration::from_millis(self.initial_backoff_ms)
    }

    /// `deadline_secs` as a duration.
    pub fn deadline(&self) -> Duration {
        Duration::from_secs(self.deadline_secs)
    }
}

/// One place alerts are sent, as written in `[[alerts.channels]]`; `type` picks the variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// `type = "webhook"`: a Slack-compatible incoming webhook.
    Webhook(WebhookChannel),
    /// `type = "email"`: mail through an SMTP server.
    Email(EmailChannel),
}

impl ChannelConfig {
    /// The channel's name, unique within `[alerts]`.
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Webhook(c) => &c.name,
            ChannelConfig::Email(c) => &c.name,
        }
    }

    /// The `type` as written in the configuration (`"webhook"`, `"email"`).
    pub fn channel_type(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Email(_) => "email",
        }
    }

    /// The least severe alert this channel receives.
    pub fn min_severity(&self) -> Severity {
        match self {
            ChannelConfig::Webhook(c) => c.min_severity,
            ChannelConfig::Email(c) => c.min_severity,
        }
    }
}

/// A Slack-compatible incoming webhook. Exactly one of `url` and `url_env` is set.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    /// Unique channel name, used in delivery records.
    pub name: String,
    /// The webhook URL. Webhook URLs are secrets; prefer `url_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Name of the environment variable holding the URL, so the secret stays out of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The least severe alert sent here (default `warn`: everything).
    #[serde(default)]
    pub min_severity: Severity,
}

// Written by hand because the URL is a credential: debug output ends up in logs.
impl fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.as_ref().map(|_| "<redacted>");
        f.debug_struct("WebhookChannel")
            .field("name", &self.name)
            .field("url", &url)
            .field("url_env", &self.url_env)
            .field("min_severity", &self.min_severity)
            .finish()
    }
}

/// Email through an SMTP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    /// Unique channel name, used in delivery records.
    pub name: String,
    /// The SMTP server's host name.
    pub smtp_host: String,
    /// The SMTP server's port (default 587, the submission port).
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// How the connection is encrypted (default `starttls`).
    #[serde(default)]
    pub tls: SmtpTls,
    /// Login name, when the server requires authentication; needs `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Name of the environment variable holding the password; never the password itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Sender, e.g. `kura <alerts@example.com>`.
    pub from: String,
    /// Recipients; at least one.
    pub to: Vec<String>,
    /// The least severe alert sent here (default `warn`: everything).
    #[serde(default)]
    pub min_severity: Severity,
}

fn default_smtp_port() -> u16 {
    587
}

/// How an SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text throughout. Only for a relay on the same machine or a test server.
    None,
    /// Connect in plain text, then require an upgrade with STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// Why `[alerts]` cannot be used as written. Each names the channel or key; [`ConfigError::hint`]
/// says how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A channel without a name (or only whitespace).
    #[error("alerts.channels[{index}] has an empty `name`")]
    EmptyName {
        /// Position of the channel in `[[alerts.channels]]`, from 0.
        index: usize,
    },
    /// Two channels share a name, so delivery records could not tell them apart.
    #[error("alerts channel `{name}` is defined more than once")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// A webhook with both or neither of `url` and `url_env`.
    #[error("alerts channel `{channel}` must set exactly one of `url` and `url_env`")]
    UrlSource {
        /// The channel's name.
        channel: String,
    },
    /// `url_env` or `password_env` names a variable that is unset or empty.
    #[error(
        "alerts channel `{channel}`: environment variable `{var}` (named by `{key}`) is not set"
    )]
    MissingEnv {
        /// The channel's name.
        channel: String,
        /// The key naming the variable: `url_env` or `password_env`.
        key: &'static str,
        /// The variable's name.
        var: String,
    },
    /// The webhook URL does not parse. The URL itself is left out of the message: it is a secret.
    #[error("alerts channel `{channel}`: the webhook URL from {origin} is not a valid URL")]
    BadUrl {
        /// The channel's name.
        channel: String,
        /// Where the URL came from: `url` or `environment variable X`.
        origin: String,
        /// What the parser rejected.
        #[source]
        source: url::ParseError,
    },
    /// The webhook URL is not http or https.
    #[error("alerts channel `{channel}`: webhook URL scheme `{scheme}` is not supported")]
    BadScheme {
        /// The channel's name.
        channel: String,
        /// The scheme found.
        scheme: String,
    },
    /// An email channel with an empty `smtp_host`.
    #[error("alerts channel `{channel}` has an empty `smtp_host`")]
    EmptyHost {
        /// The channel's name.
        channel: String,
    },
    /// An email channel with no recipients.
    #[error("alerts channel `{channel}` has an empty `to`")]
    NoRecipients {
        /// The channel's name.
        channel: String,
    },
    /// `from` or an entry of `to` is not an email address.
    #[error("alerts channel `{channel}`: `{key}` value `{address}` is not a valid email address")]
    BadAddress {
        /// The channel's name.
        channel: String,
        /// `from` or `to`.
        key: &'static str,
        /// The value written.
        address: String,
        /// What the parser rejected.
        #[source]
        source: lettre::address::AddressError,
    },
    /// Only one of `username` and `password_env` is set.
    #[error("alerts channel `{channel}` sets only one of `username` and `password_env`")]
    IncompleteCredentials {
        /// The channel's name.
        channel: String,
    },
    /// A retry setting that would mean never trying, or never waiting for an answer.
    #[error("alerts.retry.{key} is 0")]
    ZeroRetry {
        /// `attempts` or `deadline_secs`.
        key: &'static str,
    },
}

impl ConfigError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            ConfigError::EmptyName { .. } => {
                "give every channel a unique name, e.g. name = \"slack-data\"".into()
            }
            ConfigError::DuplicateName { .. } => {
                "rename one of them; names identify channels in the delivery records".into()
            }
            ConfigError::UrlSource { .. } => "write url_env = \"KURA_SLACK_WEBHOOK\" and export \
                 the URL in that variable (or url = \"https://...\", which puts the secret in the file)"
                .into(),
            ConfigError::MissingEnv { key, var, .. } => format!(
                "export {var} in the environment kura runs in, or change `{key}` to a variable that is set"
            ),
            ConfigError::BadUrl { .. } => {
                "copy the incoming-webhook URL again; it looks like https://hooks.slack.com/services/...".into()
            }
            ConfigError::BadScheme { .. } => {
                "use an https:// URL (http:// only for a local test server)".into()
            }
            ConfigError::EmptyHost { .. } => {
                "set smtp_host to your mail server, e.g. smtp_host = \"smtp.example.com\"".into()
            }
            ConfigError::NoRecipients { .. } => {
                "list at least one recipient, e.g. to = [\"data-team@example.com\"]".into()
            }
            ConfigError::BadAddress { .. } => {
                "write an address such as alerts@example.com or \"kura <alerts@example.com>\"".into()
            }
            ConfigError::IncompleteCredentials { .. } => "set both (username = \"...\" and \
                 password_env = \"KURA_SMTP_PASSWORD\") or neither for a server without login"
                .into(),
            ConfigError::ZeroRetry { key: "attempts" } => {
                "set attempts to at least 1 (default 4)".into()
            }
            ConfigError::ZeroRetry { .. } => "set deadline_secs to at least 1 (default 15)".into(),
        }
    }
}

impl AlertSettings {
    /// Checks everything that can be checked without sending: names, URLs, addresses, and that
    /// the environment variables named by `url_env` and `password_env` are set.
    ///
    /// Run it at startup so a broken channel is found before the alert that needed it. Because it
    /// reads the environment, run it in the environment that will deliver.
    ///
    /// # Errors
    /// The first problem found, in channel order.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.retry.attempts == 0 {
            return Err(ConfigError::ZeroRetry { key: "attempts" });
        }
        if self.retry.deadline_secs == 0 {
            return Err(ConfigError::ZeroRetry {
                key: "deadline_secs",
            });
        }
        let mut seen = HashSet::new();
        for (index, channel) in self.channels.iter().enumerate() {
            let name = channel.name();
            if name.trim().is_empty() {
                return Err(ConfigError::EmptyName { index });
            }
            if !seen.insert(name) {
                return Err(ConfigError::DuplicateName { name: name.into() });
            }
            match channel {
                ChannelConfig::Webhook(c) => {
                    webhook_url(c)?;
                }
                ChannelConfig::Email(c) => {
                    email_route(c)?;
                }
            }
        }
        Ok(())
    }
}

/// Reads a variable named in the configuration; unset, empty and non-UTF-8 all count as missing.
fn env_value(channel: &str, key: &'static str, var: &str) -> Result<String, ConfigError> {
    std::env::var(var)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| ConfigError::MissingEnv {
            channel: channel.into(),
            key,
            var: var.into(),
        })
}

/// The webhook's URL, read from the file or the environment and checked.
pub(crate) fn webhook_url(channel: &WebhookChannel) -> Result<Url, ConfigError> {
    let (raw, origin) = match (&channel.url, &channel.url_env) {
        (Some(url), None) => (url.clone(), "`url`".to_string()),
        (None, Some(var)) => (
            env_value(&channel.name, "url_env", var)?,
            format!("environment variable `{var}`"),
        ),
        _ => {
            return Err(ConfigError::UrlSource {
                channel: channel.name.clone(),
            })
        }
    };
    let url = Url::parse(raw.trim()).map_err(|source| ConfigError::BadUrl {
        channel: channel.name.clone(),
        origin,
        source,
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        scheme => Err(ConfigError::BadScheme {
            channel: channel.name.clone(),
            scheme: scheme.into(),
        }),
    }
}

/// Everything an email channel needs to send, resolved from its configuration.
pub(crate) struct EmailRoute {
    pub(crate) from: Mailbox,
    pub(crate) to: Vec<Mailbox>,
    pub(crate) credentials: Option<Credentials>,
}

/// Parses the addresses and reads the password of an email channel.
pub(crate) fn email_route(channel: &EmailChannel) -> Result<EmailRoute, ConfigError> {
    let name = &channel.name;
    if channel.smtp_host.trim().is_empty() {
        return Err(ConfigError::EmptyHost {
            channel: name.clone(),
        });
    }
    if channel.to.is_empty() {
        return Err(ConfigError::NoRecipients {
            channel: name.clone(),
        });
    }
    let parse = |key: &'static str, address: &str| {
        address
            .trim()
            .parse::<Mailbox>()
            .map_err(|source| ConfigError::BadAddress {
                channel: name.clone(),
                key,
                address: address.into(),
                source,
            })
    };
    let from = parse("from", &channel.from)?;
    let to = channel
        .to
        .iter()
        .map(|address| parse("to", address))
        .collect::<Result<Vec<_>, _>>()?;
    let credentials = match (&channel.username, &channel.password_env) {
        (None, None) => None,
        (Some(user), Some(var)) => Some(Credentials::new(
            user.clone(),
            env_value(name, "password_env", var)?,
        )),
        _ => {
            return Err(ConfigError::IncompleteCredentials {
                channel: name.clone(),
            })
        }
    };
    Ok(EmailRoute {
        from,
        to,
        credentials,
    })
}
