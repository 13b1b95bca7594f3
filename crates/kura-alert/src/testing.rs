//! Real servers on loopback for tests of alert delivery, here and in the crates that raise
//! alerts: a scripted HTTP/1.1 listener for webhooks and an aiosmtpd SMTP server run from
//! Python (Debian's `python3-aiosmtpd`, or `KURA_PYTHON` pointing at an interpreter with
//! `aiosmtpd`). Enabled by the `testing` feature; not part of the product.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

// ---------------------------------------------------------------------------------------------
// A small HTTP/1.1 server: reads each request in full, records it, answers from a script.

#[derive(Debug)]
pub struct Request {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Copy)]
pub struct Reply {
    pub status: u16,
    pub reason: &'static str,
    pub body: &'static str,
    pub retry_after: Option<u32>,
}

/// Starts the server; the last reply in `script` repeats. Returns its address and the requests.
pub async fn http_server(script: Vec<Reply>) -> (SocketAddr, mpsc::UnboundedReceiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (sender, receiver) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let Some(request) = read_request(&mut stream).await else {
                continue;
            };
            let _ = sender.send(request);
            let reply = {
                let mut script = script.lock().expect("script lock");
                if script.len() > 1 {
                    script.pop_front()
                } else {
                    script.front().copied()
                }
            }
            .expect("a scripted reply");
            let retry_after = reply
                .retry_after
                .map(|secs| format!("retry-after: {secs}\r\n"))
                .unwrap_or_default();
            let response = format!(
                "HTTP/1.1 {} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{retry_after}connection: close\r\n\r\n{}",
                reply.status,
                reply.reason,
                reply.body.len(),
                reply.body
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (addr, receiver)
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).expect("ASCII request head");
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().expect("numeric content-length"))
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        request_line,
        headers,
        body,
    })
}

pub const OK: Reply = Reply {
    status: 200,
    reason: "OK",
    body: "ok",
    retry_after: None,
};
pub const FAIL: Reply = Reply {
    status: 500,
    reason: "Internal Server Error",
    body: "boom",
    retry_after: None,
};
pub const fn too_many(retry_after: u32) -> Reply {
    Reply {
        status: 429,
        reason: "Too Many Requests",
        body: "rate_limited",
        retry_after: Some(retry_after),
    }
}

/// An aiosmtpd server writing received mail to a Maildir; killed when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn python() -> PathBuf {
    std::env::var_os("KURA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let python = python();
        let probe = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output();
        match probe {
            Ok(out) if out.status.success() => {}
            other => panic!(
                "the SMTP tests need Python with aiosmtpd, and {} cannot import it ({other:?}); \
                 install it with `apt-get install python3-aiosmtpd` or `pip install aiosmtpd`, \
                 or point KURA_PYTHON at an interpreter that has it",
                python.display()
            ),
        }
        let maildir = tempfile::tempdir().expect("temporary maildir");
        let port = closed_port();
        let log = std::fs::File::create(maildir.path().join("server.log")).expect("server log");
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // A path that does not exist yet: Python's Maildir creates `new`, `cur` and `tmp`
            // only when it creates the directory itself.
            .arg(maildir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start aiosmtpd");
        let mut server = SmtpServer {
            child,
            port,
            maildir,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        while StdStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let log = || {
                std::fs::read_to_string(self.maildir.path().join("server.log")).unwrap_or_default()
            };
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("aiosmtpd exited with {status}: {}", log());
            }
            if started.elapsed() > Duration::from_secs(15) {
                panic!("aiosmtpd did not listen on {addr} within 15s: {}", log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("readable message"))
            .collect()
    }
}
