//! Delivery against real servers on loopback: an HTTP listener written here and an aiosmtpd
//! SMTP server run from Python. Nothing is mocked.

#[path = "../src/testing.rs"]
mod testing;
use testing::*;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use chrono::{TimeZone, Utc};
use kura_alert::{
    deliver, deliver_all, Alert, AlertKind, AlertSettings, ChannelConfig, ConfigError, Delivery,
    EmailChannel, RetryPolicy, Severity, SmtpTls, WebhookChannel,
};
use serde::Deserialize;

const TITLE: &str = "marts.orders: not_null(order_id) failed: 12 of 10 000 rows (0.12%)";
const SQL_LINE: &str = "select count(*) from marts.orders where order_id is null";

fn alert(severity: Severity) -> Alert {
    Alert {
        key: "check:marts.orders:not_null:order_id".into(),
        severity,
        kind: AlertKind::CheckFailed,
        title: TITLE.into(),
        lines: vec![
            SQL_LINE.into(),
            "sample: order_id=NULL customer=<c-17> & more".into(),
        ],
        table: Some("marts.orders".into()),
        at: Utc
            .with_ymd_and_hms(2024, 5, 1, 6, 0, 0)
            .single()
            .expect("valid date"),
        run_id: "run-42".into(),
        project: "shop".into(),
    }
}

fn retry(attempts: u32, initial_backoff_ms: u64, deadline_secs: u64) -> RetryPolicy {
    RetryPolicy {
        attempts,
        initial_backoff_ms,
        deadline_secs,
    }
}

fn webhook(name: &str, url: String) -> ChannelConfig {
    ChannelConfig::Webhook(WebhookChannel {
        name: name.into(),
        url: Some(url),
        url_env: None,
        min_severity: Severity::Warn,
    })
}

fn settings(channel: ChannelConfig, retry: RetryPolicy) -> AlertSettings {
    AlertSettings {
        channels: vec![channel],
        retry,
    }
}

fn only(mut deliveries: Vec<Delivery>) -> Delivery {
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    deliveries.remove(0)
}

/// A port nothing listens on: bound by the OS, then released.
// ---------------------------------------------------------------------------------------------
// Webhooks

#[tokio::test]
async fn webhook_posts_slack_json() {
    let (addr, mut requests) = http_server(vec![OK]).await;
    let url = format!("http://{addr}/services/T000/B000/secret");
    let delivery = only(
        deliver(
            &alert(Severity::Error),
            &settings(webhook("slack-data", url), retry(4, 50, 5)),
        )
        .await,
    );
    assert!(delivery.delivered, "{delivery:#?}");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.channel, "slack-data");
    assert_eq!(delivery.channel_type, "webhook");
    assert_eq!(delivery.error, None);

    let request = requests.recv().await.expect("one request");
    assert_eq!(
        request.request_line,
        "POST /services/T000/B000/secret HTTP/1.1"
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(
        body["text"],
        format!("[kura] ERROR: {TITLE}"),
        "fallback text: {body:#}"
    );
    let blocks = body["blocks"].as_array().expect("blocks array");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], TITLE);
    let sections: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "section")
        .map(|b| b["text"]["text"].as_str().expect("section text"))
        .collect();
    assert!(
        sections.iter().any(|s| s.contains("table `marts.orders`")),
        "{sections:#?}"
    );
    let details = sections
        .iter()
        .find(|s| s.contains(SQL_LINE))
        .expect("a section with the detail lines");
    // mrkdwn control characters are escaped.
    assert!(details.contains("&lt;c-17&gt; &amp; more"), "{details}");
    let context = blocks.last().expect("context block");
    assert_eq!(context["type"], "context");
    let context_text = context["elements"][0]["text"]
        .as_str()
        .expect("context text");
    assert!(context_text.contains("run `run-42`"), "{context_text}");
}

#[tokio::test]
async fn long_titles_are_cut_to_slack_limits() {
    let (addr, mut requests) = http_server(vec![OK]).await;
    let mut long = alert(Severity::Warn);
    long.title = "ü".repeat(400);
    long.lines = vec!["x".repeat(5000)];
    let delivery = only(
        deliver(
            &long,
            &settings(
                webhook("slack", format!("http://{addr}/hook")),
                retry(1, 50, 5),
            ),
        )
        .await,
    );
    assert!(delivery.delivered, "{delivery:#?}");
    let request = requests.recv().await.expect("one request");
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
    let header = body["blocks"][0]["text"]["text"].as_str().expect("header");
    assert_eq!(header.chars().count(), 150);
    assert!(header.ends_with('…'));
    for block in body["blocks"].as_array().expect("blocks") {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(text.chars().count() <= 3000, "block over 3000 chars");
        }
    }
    assert_eq!(body["text"], format!("[kura] {}", "ü".repeat(400)));
}

#[tokio::test]
async fn webhook_retries_server_errors_until_delivered() {
    let (addr, mut requests) = http_server(vec![FAIL, FAIL, OK]).await;
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(
                webhook("slack", format!("http://{addr}/hook")),
                retry(4, 50, 5),
            ),
        )
        .await,
    );
    assert!(delivery.delivered, "{delivery:#?}");
    assert_eq!(delivery.attempts, 3);
    for _ in 0..3 {
        requests.recv().await.expect("three requests");
    }
}

#[tokio::test]
async fn webhook_does_not_retry_client_errors() {
    let (addr, mut requests) = http_server(vec![Reply {
        status: 400,
        reason: "Bad Request",
        body: "invalid_payload",
        retry_after: None,
    }])
    .await;
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(
                webhook("slack", format!("http://{addr}/hook/secret")),
                retry(4, 50, 5),
            ),
        )
        .await,
    );
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 1);
    let error = delivery.error.expect("an error");
    assert!(error.contains("channel `slack`"), "{error}");
    assert!(error.contains("HTTP 400 Bad Request"), "{error}");
    assert!(error.contains("invalid_payload"), "{error}");
    assert!(error.contains(&addr.to_string()), "{error}");
    assert!(error.contains("not retried"), "{error}");
    assert!(error.contains("hint:"), "{error}");
    assert!(!error.contains("secret"), "URL path leaked: {error}");
    requests.recv().await.expect("one request");
    assert!(requests.try_recv().is_err(), "a 400 was retried");
}

#[tokio::test]
async fn unreachable_webhook_uses_all_attempts_within_the_deadline() {
    let port = closed_port();
    let started = Instant::now();
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(
                webhook("slack", format!("http://127.0.0.1:{port}/hook/secret")),
                retry(4, 50, 2),
            ),
        )
        .await,
    );
    let took = started.elapsed();
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 4, "{delivery:#?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let error = delivery.error.expect("an error");
    assert!(error.contains("could not connect"), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.contains("attempt 4 of 4"), "{error}");
    assert!(!error.contains("secret"), "URL path leaked: {error}");
}

#[tokio::test]
async fn webhook_waits_as_long_as_retry_after_says() {
    let (addr, _requests) = http_server(vec![too_many(1), OK]).await;
    let started = Instant::now();
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(
                webhook("slack", format!("http://{addr}/hook")),
                retry(4, 50, 5),
            ),
        )
        .await,
    );
    assert!(delivery.delivered, "{delivery:#?}");
    assert_eq!(delivery.attempts, 2);
    // The backoff alone would have retried after 50 ms.
    assert!(started.elapsed() >= Duration::from_secs(1), "{delivery:#?}");
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_gives_up_at_once() {
    let (addr, _requests) = http_server(vec![too_many(60), OK]).await;
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(
                webhook("slack", format!("http://{addr}/hook")),
                retry(4, 50, 2),
            ),
        )
        .await,
    );
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 1);
    assert!(delivery.elapsed < Duration::from_secs(1), "{delivery:#?}");
    let error = delivery.error.expect("an error");
    assert!(error.contains("HTTP 429 Too Many Requests"), "{error}");
    assert!(error.contains("the server asked to wait 60s"), "{error}");
}

/// A server that accepts every connection and holds it open without a word.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

#[tokio::test]
async fn hung_webhook_gives_up_at_the_deadline() {
    let addr = silent_server().await;
    let started = Instant::now();
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(
                webhook("slack", format!("http://{addr}/hook")),
                retry(4, 50, 2),
            ),
        )
        .await,
    );
    let took = started.elapsed();
    assert!(!delivery.delivered);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(delivery.elapsed < Duration::from_secs(3), "{delivery:#?}");
    let error = delivery.error.expect("an error");
    assert!(
        error.contains("no response") || error.contains("timed out"),
        "{error}"
    );
}

/// Three alerts to a server that never answers: the deadline bounds the whole call, not each
/// alert (one after another, they took three deadlines).
#[tokio::test]
async fn many_alerts_to_a_hung_channel_share_one_deadline() {
    let addr = silent_server().await;
    let alerts: Vec<Alert> = (0..3)
        .map(|i| Alert {
            key: format!("check:{i}"),
            title: format!("check {i} failed"),
            ..alert(Severity::Warn)
        })
        .collect();
    let started = Instant::now();
    let deliveries = deliver_all(
        &alerts,
        &settings(
            webhook("slack", format!("http://{addr}/hook")),
            retry(2, 50, 2),
        ),
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(deliveries.len(), 3);
    let first = only(deliveries[0].clone());
    assert!(!first.delivered);
    assert_eq!(first.attempts, 2, "{first:#?}");
    for later in &deliveries[1..] {
        let later = only(later.clone());
        assert!(!later.delivered);
        assert_eq!(later.attempts, 0, "{later:#?}");
        let error = later.error.expect("an error");
        assert!(
            error.contains(
                "was not tried: it failed an earlier alert of this run (\"check 0 failed\")"
            ),
            "{error}"
        );
    }
}

/// A channel that refuses one alert (HTTP 400, not retried) still gets the next.
#[tokio::test]
async fn a_refused_alert_does_not_stop_the_channel_for_the_others() {
    let (addr, mut requests) = http_server(vec![
        Reply {
            status: 400,
            reason: "Bad Request",
            body: "invalid_payload",
            retry_after: None,
        },
        OK,
    ])
    .await;
    let alerts = [alert(Severity::Warn), alert(Severity::Error)];
    let deliveries = deliver_all(
        &alerts,
        &settings(
            webhook("slack", format!("http://{addr}/hook")),
            retry(3, 50, 5),
        ),
    )
    .await;
    let delivered: Vec<bool> = deliveries.into_iter().map(|d| only(d).delivered).collect();
    assert_eq!(delivered, [false, true]);
    assert!(requests.recv().await.is_some());
    assert!(requests.recv().await.is_some());
}

#[tokio::test]
async fn channels_above_the_alert_severity_are_skipped() {
    let (addr, _requests) = http_server(vec![OK]).await;
    let mut errors_only = webhook("errors-only", format!("http://{addr}/a"));
    if let ChannelConfig::Webhook(w) = &mut errors_only {
        w.min_severity = Severity::Error;
    }
    let all = webhook("all", format!("http://{addr}/b"));
    let settings = AlertSettings {
        channels: vec![errors_only, all],
        retry: retry(1, 50, 5),
    };
    let warned = deliver(&alert(Severity::Warn), &settings).await;
    let names: Vec<&str> = warned.iter().map(|d| d.channel.as_str()).collect();
    assert_eq!(names, ["all"]);
    let errored = deliver(&alert(Severity::Error), &settings).await;
    let names: Vec<&str> = errored.iter().map(|d| d.channel.as_str()).collect();
    assert_eq!(names, ["errors-only", "all"]);
    assert!(errored.iter().all(|d| d.delivered), "{errored:#?}");
}

#[tokio::test]
async fn unusable_channel_is_reported_without_attempts() {
    let channel = ChannelConfig::Webhook(WebhookChannel {
        name: "slack".into(),
        url: None,
        url_env: Some("KURA_ALERT_TEST_NEVER_SET_7F3A".into()),
        min_severity: Severity::Warn,
    });
    let delivery = only(deliver(&alert(Severity::Warn), &settings(channel, retry(4, 50, 2))).await);
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 0);
    let error = delivery.error.expect("an error");
    assert!(error.contains("KURA_ALERT_TEST_NEVER_SET_7F3A"), "{error}");
    assert!(error.contains("hint: export"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Email

fn email(name: &str, port: u16) -> ChannelConfig {
    ChannelConfig::Email(EmailChannel {
        name: name.into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        tls: SmtpTls::None,
        username: None,
        password_env: None,
        from: "kura <alerts@example.com>".into(),
        to: vec!["data-team@example.com".into(), "oncall@example.com".into()],
        min_severity: Severity::Warn,
    })
}

/// Header value with folded continuation lines joined (RFC 5322 unfolding).
fn header(message: &str, name: &str) -> Option<String> {
    let head = message
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

#[tokio::test]
async fn email_arrives_in_the_mailbox() {
    let server = SmtpServer::start();
    let delivery = only(
        deliver(
            &alert(Severity::Error),
            &settings(email("oncall-mail", server.port), retry(3, 50, 10)),
        )
        .await,
    );
    assert!(delivery.delivered, "{delivery:#?}");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.channel_type, "email");

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let message = messages[0].replace("\r\n", "\n");
    assert_eq!(
        header(&message, "From").as_deref(),
        Some("kura <alerts@example.com>")
    );
    assert_eq!(
        header(&message, "To").as_deref(),
        Some("data-team@example.com, oncall@example.com")
    );
    assert_eq!(
        header(&message, "Subject"),
        Some(format!("[kura] ERROR: {TITLE}"))
    );
    let (_, body) = message.split_once("\n\n").expect("a body");
    assert!(body.starts_with(TITLE), "{body}");
    assert!(body.contains(SQL_LINE), "{body}");
    assert!(body.contains("run:      run-42"), "{body}");
    assert!(body.contains("project:  shop"), "{body}");
}

#[tokio::test]
async fn smtp_server_down_is_reported_within_the_deadline() {
    let port = closed_port();
    let started = Instant::now();
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(email("oncall-mail", port), retry(3, 50, 2)),
        )
        .await,
    );
    let took = started.elapsed();
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 3, "{delivery:#?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let error = delivery.error.expect("an error");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.contains("channel `oncall-mail`"), "{error}");
    assert!(
        error.contains("hint: check smtp_host and smtp_port"),
        "{error}"
    );
}

#[tokio::test]
async fn hung_smtp_server_gives_up_at_the_deadline() {
    let addr = silent_server().await;
    let started = Instant::now();
    let delivery = only(
        deliver(
            &alert(Severity::Warn),
            &settings(email("oncall-mail", addr.port()), retry(3, 50, 2)),
        )
        .await,
    );
    let took = started.elapsed();
    assert!(!delivery.delivered);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let error = delivery.error.expect("an error");
    assert!(error.contains(&addr.to_string()), "{error}");
    assert!(
        error.contains("no response") || error.contains("timed out"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[derive(Debug, Deserialize)]
struct KuraToml {
    alerts: AlertSettings,
}

const EXAMPLE: &str = r#"
[[alerts.channels]]
name = "slack-data"
type = "webhook"
url = "https://hooks.slack.com/services/T000/B000/XXXX"

[[alerts.channels]]
name = "oncall-mail"
type = "email"
smtp_host = "smtp.example.com"
smtp_port = 587
tls = "starttls"
username = "alerts@example.com"
password_env = "KURA_SMTP_PASSWORD"
from = "kura <alerts@example.com>"
to = ["data-team@example.com"]
min_severity = "error"
"#;

#[test]
fn example_config_parses_with_defaults_and_round_trips() {
    let parsed: KuraToml = toml::from_str(EXAMPLE).expect("example parses");
    let settings = parsed.alerts;
    assert_eq!(settings.retry, retry(4, 250, 15));
    assert_eq!(settings.channels.len(), 2);
    match &settings.channels[0] {
        ChannelConfig::Webhook(w) => {
            assert_eq!(w.name, "slack-data");
            assert_eq!(w.min_severity, Severity::Warn);
            assert_eq!(w.url_env, None);
        }
        other => panic!("expected a webhook, got {other:?}"),
    }
    match &settings.channels[1] {
        ChannelConfig::Email(e) => {
            assert_eq!(e.smtp_port, 587);
            assert_eq!(e.tls, SmtpTls::Starttls);
            assert_eq!(e.min_severity, Severity::Error);
            assert_eq!(e.to, ["data-team@example.com"]);
        }
        other => panic!("expected an email channel, got {other:?}"),
    }
    let written = toml::to_string(&settings).expect("serializes");
    let again: AlertSettings = toml::from_str(&written).expect("re-parses");
    assert_eq!(again, settings, "{written}");

    // Defaults when optional keys are left out.
    let minimal: KuraToml = toml::from_str(
        r#"
        [alerts]
        retry = { attempts = 2 }
        [[alerts.channels]]
        name = "mail"
        type = "email"
        smtp_host = "smtp.example.com"
        from = "a@example.com"
        to = ["b@example.com"]
        "#,
    )
    .expect("minimal parses");
    assert_eq!(minimal.alerts.retry, retry(2, 250, 15));
    match &minimal.alerts.channels[0] {
        ChannelConfig::Email(e) => {
            assert_eq!((e.smtp_port, e.tls), (587, SmtpTls::Starttls));
        }
        other => panic!("expected an email channel, got {other:?}"),
    }
}

#[test]
fn unknown_keys_and_types_are_rejected() {
    let typo = toml::from_str::<KuraToml>(
        "[[alerts.channels]]\nname = \"s\"\ntype = \"webhook\"\nurll = \"https://x\"\n",
    )
    .expect_err("unknown key");
    assert!(typo.to_string().contains("urll"), "{typo}");
    let kind = toml::from_str::<KuraToml>("[[alerts.channels]]\nname = \"s\"\ntype = \"pager\"\n")
        .expect_err("unknown type");
    assert!(kind.to_string().contains("pager"), "{kind}");
}

fn validate(toml_text: &str) -> Result<(), ConfigError> {
    let parsed: KuraToml = toml::from_str(toml_text).expect("parses");
    parsed.alerts.validate()
}

#[test]
fn validation_names_the_channel_and_the_fix() {
    // Valid once its password variable is set; PATH stands in for one that surely is, since
    // setting variables here would race with the tests running beside this one.
    validate(&EXAMPLE.replace("KURA_SMTP_PASSWORD", "PATH")).expect("example is valid");

    let duplicate = validate(
        r#"
        [[alerts.channels]]
        name = "slack"
        type = "webhook"
        url = "https://hooks.slack.com/a"
        [[alerts.channels]]
        name = "slack"
        type = "webhook"
        url = "https://hooks.slack.com/b"
        "#,
    )
    .expect_err("duplicate name");
    assert_eq!(
        duplicate.to_string(),
        "alerts channel `slack` is defined more than once"
    );
    assert!(duplicate.hint().contains("rename"), "{}", duplicate.hint());

    let missing = validate(
        r#"
        [[alerts.channels]]
        name = "slack"
        type = "webhook"
        url_env = "KURA_ALERT_TEST_UNSET_WEBHOOK"
        "#,
    )
    .expect_err("missing env var");
    assert_eq!(
        missing.to_string(),
        "alerts channel `slack`: environment variable `KURA_ALERT_TEST_UNSET_WEBHOOK` \
         (named by `url_env`) is not set"
    );
    assert!(
        missing
            .hint()
            .contains("export KURA_ALERT_TEST_UNSET_WEBHOOK"),
        "{}",
        missing.hint()
    );

    let password = validate(&EXAMPLE.replace("KURA_SMTP_PASSWORD", "KURA_ALERT_TEST_UNSET_PW"))
        .expect_err("missing password var");
    assert!(
        password.to_string().contains("`oncall-mail`")
            && password.to_string().contains("`password_env`"),
        "{password}"
    );

    let scheme = validate(
        r#"
        [[alerts.channels]]
        name = "slack"
        type = "webhook"
        url = "ftp://hooks.slack.com/services/x"
        "#,
    )
    .expect_err("bad scheme");
    assert_eq!(
        scheme.to_string(),
        "alerts channel `slack`: webhook URL scheme `ftp` is not supported"
    );
    assert!(scheme.hint().contains("https://"), "{}", scheme.hint());

    let empty_to = validate(
        r#"
        [[alerts.channels]]
        name = "mail"
        type = "email"
        smtp_host = "smtp.example.com"
        from = "a@example.com"
        to = []
        "#,
    )
    .expect_err("no recipients");
    assert_eq!(
        empty_to.to_string(),
        "alerts channel `mail` has an empty `to`"
    );

    let address = validate(
        r#"
        [[alerts.channels]]
        name = "mail"
        type = "email"
        smtp_host = "smtp.example.com"
        from = "not an address"
        to = ["b@example.com"]
        "#,
    )
    .expect_err("bad from");
    assert!(
        address
            .to_string()
            .contains("`from` value `not an address` is not a valid email address"),
        "{address}"
    );

    let both = validate(
        r#"
        [[alerts.channels]]
        name = "slack"
        type = "webhook"
        url = "https://hooks.slack.com/a"
        url_env = "KURA_SLACK_WEBHOOK"
        "#,
    )
    .expect_err("url and url_env");
    assert!(
        both.to_string()
            .contains("exactly one of `url` and `url_env`"),
        "{both}"
    );
}

#[test]
fn webhook_debug_output_hides_the_url() {
    let channel = webhook(
        "slack",
        "https://hooks.slack.com/services/T0/B0/secret".into(),
    );
    let shown = format!("{channel:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("slack"), "{shown}");
}
