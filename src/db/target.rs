//! What a command was pointed at: a local file or a libSQL server, and how it is shown without
//! credentials.

use std::path::PathBuf;

/// A credential: kept out of every `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "(none)" } else { "***" })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    /// The URL to connect to (https:// for libsql://), without any token.
    pub url: String,
    /// The URL as shown in output: no user info, no query string.
    pub shown: String,
    /// A token carried in the URL's query (`?authToken=`), used when no variable gives one.
    pub url_token: Option<Secret>,
    /// The token to present: from the environment, else from the URL.
    pub token: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Local(PathBuf),
    Remote(RemoteUrl),
}

impl Target {
    /// A path, a `file:` URL, or a `libsql://`, `https://` or `http://` URL.
    pub fn parse(s: &str) -> Target {
        let lower = s.to_ascii_lowercase();
        if let Some(rest) = s
            .strip_prefix("file://")
            .or_else(|| s.strip_prefix("file:"))
        {
            // file:///x, file://localhost/x, file:/x and file:x; %HH escapes decoded
            let rest = if rest.starts_with("localhost/") {
                &rest["localhost".len()..]
            } else {
                rest
            };
            let path = rest.split(['?', '#']).next().unwrap_or(rest);
            let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
            return Target::Local(PathBuf::from(decoded.as_ref()));
        }
        for scheme in ["libsql://", "https://", "http://", "wss://", "ws://"] {
            if lower.starts_with(scheme) {
                return Target::Remote(parse_remote(s, scheme));
            }
        }
        Target::Local(PathBuf::from(s))
    }

    /// Safe to print: a path, or a URL without credentials or query.
    pub fn shown(&self) -> String {
        match self {
            Target::Local(p) => p.display().to_string(),
            Target::Remote(r) => r.shown.clone(),
        }
    }

    /// Take the auth token of a remote target from the environment variable `name` (falling
    /// back to a token in the URL).
    pub fn with_token_from_env(mut self, name: &str) -> Target {
        if let Target::Remote(r) = &mut self {
            let from_env = std::env::var(name).ok().filter(|t| !t.is_empty());
            r.token = Secret(
                from_env
                    .or_else(|| r.url_token.as_ref().map(|s| s.0.clone()))
                    .unwrap_or_default(),
            );
        }
        self
    }

    pub fn local_path(&self) -> Option<&std::path::Path> {
        match self {
            Target::Local(p) => Some(p),
            Target::Remote(_) => None,
        }
    }
}

fn parse_remote(s: &str, scheme: &str) -> RemoteUrl {
    let rest = &s[scheme.len()..];
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let before_query = before_query.split('#').next().unwrap_or(before_query);
    // drop user info (user:password@host)
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, format!("/{p}")),
        None => (before_query, String::new()),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let url_token = query.and_then(|q| {
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == "authToken" || k == "auth_token").then(|| Secret(v.to_string()))
        })
    });
    let connect_scheme = match scheme {
        "libsql://" | "wss://" => "https://",
        "ws://" => "http://",
        other => other,
    };
    let path = path.trim_end_matches('/').to_string();
    RemoteUrl {
        url: format!("{connect_scheme}{host}{path}"),
        shown: format!("{}{host}{path}", scheme.to_ascii_lowercase()),
        token: url_token.clone().unwrap_or_default(),
        url_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_file_urls_are_local() {
        assert_eq!(Target::parse("x.db"), Target::Local("x.db".into()));
        assert_eq!(
            Target::parse("file:/tmp/x.db?mode=ro"),
            Target::Local("/tmp/x.db".into())
        );
        assert_eq!(
            Target::parse("file:///tmp/my%20db.db"),
            Target::Local("/tmp/my db.db".into())
        );
        assert_eq!(
            Target::parse("file://localhost/tmp/x.db"),
            Target::Local("/tmp/x.db".into())
        );
        assert_eq!(Target::parse("file:x.db"), Target::Local("x.db".into()));
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        let t = Target::parse("libsql://me:s3cret@liveone-tokyo.turso.io/?authToken=abc.def");
        let Target::Remote(r) = &t else { panic!() };
        assert_eq!(r.url, "https://liveone-tokyo.turso.io");
        assert_eq!(r.url_token.as_ref().map(|s| s.0.as_str()), Some("abc.def"));
        assert!(
            !format!("{t:?}").contains("abc.def"),
            "Debug never shows a token"
        );
        assert_eq!(t.shown(), "libsql://liveone-tokyo.turso.io");
        assert!(!t.shown().contains("s3cret") && !t.shown().contains("abc"));
        let t = Target::parse("http://127.0.0.1:8080");
        assert_eq!(t.shown(), "http://127.0.0.1:8080");
    }
}
