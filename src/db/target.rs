//! What a command was pointed at: a local file or a libSQL server, and how it is shown without
//! credentials.
//!
//! A URL is accepted only in the strict form `scheme://host[:port][/path][?query]`: anything
//! else that looks like a URL is refused (a scheme typo is named with the scheme it resembles),
//! never read as a file name or sent to a resolver. Whatever the input, what is printed of it
//! has been through `redact` (no user info, query or fragment, and no authority that is not a
//! plain host name), and every credential preflight has seen is replaced by `***` in every
//! message (`scrub`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::DbError;

/// A credential: kept out of every `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "(none)" } else { "***" })
    }
}

/// How long a remote call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To connect (and for the first answer that proves the server is there).
    pub connect: Duration,
    /// For any one answer after that.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(15),
            read: Duration::from_secs(120),
        }
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
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Local(PathBuf),
    Remote(RemoteUrl),
}

/// The schemes preflight connects to, and `file:`.
const SCHEMES: [&str; 6] = ["libsql", "https", "http", "wss", "ws", "file"];

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remember the credential in the environment variable `name` (when set) so that no message
/// ever shows it, whatever the target turns out to be.
pub fn register_secret_from_env(name: &str) {
    if let Ok(v) = std::env::var(name) {
        register_secret(&v);
    }
}

/// Remember a credential so that no message ever shows it.
pub fn register_secret(s: &str) {
    let s = s.trim();
    if s.len() < 4 {
        return;
    }
    let mut all = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|x| x == s) {
        all.push(s.to_string());
        // longest first, so that a secret containing another is replaced whole
        all.sort_by_key(|x| std::cmp::Reverse(x.len()));
    }
}

/// `text` with every credential preflight has seen replaced by `***`.
pub fn hide_secrets(text: &str) -> String {
    let mut out = text.to_string();
    for s in SECRETS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        out = out.replace(s.as_str(), "***");
        // also as it would appear percent-encoded in a URL
        let enc = percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
        if enc != *s {
            out = out.replace(&enc, "***");
        }
    }
    out
}

/// A message as it may be printed: one line, every known credential replaced by `***`, no
/// nested quoting by backticks.
pub fn scrub(text: &str) -> String {
    let out = hide_secrets(text).replace('`', "");
    out.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Values that are credentials wherever they stand in a string that may be a URL: the value of
/// an `authToken`/`auth_token`/`token` parameter, and in a URL the password (or the bearer
/// value) before an `@`.
fn secrets_in(s: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = s.to_ascii_lowercase();
    for key in ["authtoken=", "auth_token=", "token=", "password=", "jwt="] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(key) {
            let start = from + i + key.len();
            let end = s[start..]
                .find(['&', '#', ' ', '?'])
                .map_or(s.len(), |j| start + j);
            found.push(s[start..end].to_string());
            if let Ok(d) = percent_encoding::percent_decode_str(&s[start..end]).decode_utf8() {
                found.push(d.into_owned());
            }
            from = end.max(start);
            if from >= s.len() {
                break;
            }
        }
    }
    let t = s.trim();
    if !looks_like_url(t) {
        for seg in t.split('/') {
            if let Some((info, _)) = seg.rsplit_once('@')
                && let Some((_, password)) = info.split_once(':')
            {
                let end = password.find(['?', '#']).unwrap_or(password.len());
                if end >= 6 {
                    found.push(password[..end].to_string());
                }
            }
        }
    } else if let Some(at) = t.rfind('@') {
        let (_, rest) = scheme_word(t).expect("a URL has a scheme");
        let rest_start = t.len() - rest.len();
        let info = t[rest_start..at].trim_start_matches([':', '/', ';', '\\']);
        match info.split_once(':') {
            Some((_, password)) => {
                let end = password
                    .find(['?', '/', '#', '@'])
                    .unwrap_or(password.len());
                if end >= 6 {
                    found.push(password[..end].to_string());
                }
            }
            None if info.len() >= 8 => found.push(info.to_string()),
            None => {}
        }
    }
    found.retain(|x| x.len() >= 4);
    found
}

/// The leading scheme-like word of `s` and what follows it: `("libsql", "://host")`.
fn scheme_word(s: &str) -> Option<(&str, &str)> {
    let end = s
        .char_indices()
        .find(|(i, c)| {
            !(c.is_ascii_alphabetic() || (*i > 0 && (c.is_ascii_digit() || "+.-".contains(*c))))
        })
        .map_or(s.len(), |(i, _)| i);
    (end >= 2).then(|| (&s[..end], &s[end..]))
}

/// Whether `s` reads as a URL rather than a file path: a scheme word of two letters or more
/// followed by `:`, or a known scheme followed by slashes or a stray separator (`https//…`).
fn looks_like_url(s: &str) -> bool {
    let Some((word, rest)) = scheme_word(s) else {
        return false;
    };
    if rest.starts_with(':') {
        return true;
    }
    let known = nearest_scheme(word).is_some();
    let rest = rest.trim_start();
    known
        && (rest.starts_with("//")
            || rest.starts_with(';')
            || rest.starts_with(':')
            || rest.starts_with('\\'))
}

/// Edit distance of two short ASCII words.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(!ca.eq_ignore_ascii_case(cb));
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known scheme a word is, or is a typo of (at most two edits away).
fn nearest_scheme(word: &str) -> Option<&'static str> {
    let lower = word.to_ascii_lowercase();
    if let Some(s) = SCHEMES.iter().find(|s| **s == lower) {
        return Some(s);
    }
    SCHEMES
        .iter()
        .map(|s| (distance(&lower, s), *s))
        .filter(|(d, _)| *d <= 1 || (*d == 2 && lower.len() >= 5))
        .min()
        .map(|(_, s)| s)
}

/// A host name (letters, digits, `-`, `.`, `_`) or a bracketed IPv6 address, with an optional
/// numeric port.
fn valid_authority(a: &str) -> bool {
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p))
                if h.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') =>
            {
                (
                    h,
                    p.strip_prefix(':').map(Some).unwrap_or(if p.is_empty() {
                        None
                    } else {
                        Some("x")
                    }),
                )
            }
            _ => return false,
        }
    } else {
        match a.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    let host_ok = !host.is_empty()
        && (a.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'));
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
    });
    host_ok && port_ok
}

/// `s` as it may be printed: for anything that looks like a URL, its scheme, the host when it
/// is a plain host name (`…` otherwise) and the path, never user info, query or fragment; for a
/// path, everything before a `?` or `#`.
pub fn redact(s: &str) -> String {
    let t = s.trim();
    if !looks_like_url(t) {
        // in each part of a path, `name@host` reads as user info; a query or fragment ends it
        let mut parts = Vec::new();
        for seg in t.split('/') {
            if let Some((_, after)) = seg.rsplit_once('@') {
                let end = after.find(['?', '#']);
                parts.push(format!("…@{}", &after[..end.unwrap_or(after.len())]));
                if end.is_some() {
                    parts.last_mut().expect("pushed").push('…');
                    break;
                }
            } else if let Some(i) = seg.find(['?', '#']) {
                parts.push(format!("{}…", &seg[..i]));
                break;
            } else {
                parts.push(seg.to_string());
            }
        }
        return parts.join("/");
    }
    let (word, rest) = scheme_word(t).expect("a URL has a scheme");
    let sep_len = rest
        .bytes()
        .take_while(|b| matches!(b, b':' | b'/' | b';' | b'\\' | b' ' | b'\t'))
        .count();
    let (sep, after) = rest.split_at(sep_len);
    let cut = after.find(['?', '#']).unwrap_or(after.len());
    let (before_query, query) = after.split_at(cut);
    let tail = if query.is_empty() { "" } else { "…" };
    // an '@' after the query starts: what came before it may be user info; show no authority
    if query.contains('@') {
        return format!("{word}{sep}…");
    }
    let auth_end = before_query.find(['/', '\\']).unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(auth_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if valid_authority(host) { host } else { "…" };
    let path = if secrets_in(path).is_empty() && !path.contains('@') {
        path
    } else {
        "/…"
    };
    format!("{word}{sep}{host}{path}{tail}")
}

/// Whether a printed path must go through `redact` (it reads as a URL or carries a query).
fn needs_redaction(p: &Path) -> Option<String> {
    let s = p.to_string_lossy();
    (looks_like_url(s.trim()) || s.contains(['?', '#']) || !secrets_in(&s).is_empty())
        .then(|| redact(&s))
}

fn invalid(s: &str, why: String) -> DbError {
    DbError::Open {
        target: redact(s),
        message: why,
    }
}

impl Target {
    /// A path, a `file:` URL, or a `libsql://`, `https://` or `http://` URL. Anything else that
    /// looks like a URL is refused; an existing file is always taken as a path.
    pub fn parse(s: &str) -> Result<Target, DbError> {
        for secret in secrets_in(s) {
            register_secret(&secret);
        }
        if Path::new(s).exists() {
            return Ok(Target::Local(PathBuf::from(s)));
        }
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("file:") {
            let rest = &t[5..];
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            // file:///x, file://localhost/x, file:/x and file:x; %HH escapes decoded
            let rest = if rest.starts_with("localhost/") {
                &rest["localhost".len()..]
            } else {
                rest
            };
            let path = rest.split(['?', '#']).next().unwrap_or(rest);
            let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
            return Ok(Target::Local(PathBuf::from(decoded.as_ref())));
        }
        if !looks_like_url(t) {
            return Ok(Target::Local(PathBuf::from(s)));
        }
        let (word, rest) = scheme_word(t).expect("a URL has a scheme");
        let lower_word = word.to_ascii_lowercase();
        let suggestion = nearest_scheme(word);
        let shown = redact(t);
        if !SCHEMES.contains(&lower_word.as_str()) {
            return Err(invalid(
                t,
                match suggestion {
                    Some(s) => format!("unknown URL scheme {word}; did you mean {s}://?"),
                    None => format!(
                        "unknown URL scheme {word}; preflight takes a file path, or a libsql://, https:// or http:// URL"
                    ),
                },
            ));
        }
        let Some(after) = rest.strip_prefix("://") else {
            let fixed = redact(&format!(
                "{lower_word}://{}",
                rest.trim_start_matches([':', '/', ';', '\\', ' ', '\t'])
            ));
            return Err(invalid(
                t,
                format!("not a valid URL; did you mean {fixed}?"),
            ));
        };
        Ok(Target::Remote(parse_remote(t, &lower_word, after, &shown)?))
    }

    /// Safe to print: a path, or a URL without credentials or query.
    pub fn shown(&self) -> String {
        let shown = match self {
            Target::Local(p) => needs_redaction(p).unwrap_or_else(|| p.display().to_string()),
            Target::Remote(r) => r.shown.clone(),
        };
        hide_secrets(&shown)
    }

    /// Take the auth token of a remote target from the environment variable `name` (falling
    /// back to a token in the URL).
    pub fn with_token_from_env(mut self, name: &str) -> Target {
        if let Target::Remote(r) = &mut self {
            let from_env = std::env::var(name).ok().filter(|t| !t.is_empty());
            if let Some(t) = &from_env {
                register_secret(t);
            }
            r.token = Secret(
                from_env
                    .or_else(|| r.url_token.as_ref().map(|s| s.0.clone()))
                    .unwrap_or_default(),
            );
        }
        self
    }

    /// Set how long remote calls may take.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Target {
        if let Target::Remote(r) = &mut self {
            r.timeouts = timeouts;
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

fn parse_remote(s: &str, scheme: &str, after: &str, shown: &str) -> Result<RemoteUrl, DbError> {
    let (before_query, query) = match after.find(['?', '#']) {
        Some(i) => (&after[..i], Some(&after[i..])),
        None => (after, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i..]),
        None => (before_query, ""),
    };
    // user info (user:password@host) is dropped: libSQL takes its token from the query or a variable
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if !valid_authority(host) {
        return Err(invalid(
            s,
            format!(
                "not a valid URL: after {scheme}:// comes a host name (with an optional :port), then an optional /path"
            ),
        ));
    }
    if path.contains(['\\', ' ', '@']) {
        return Err(invalid(
            s,
            "not a valid URL: its path holds a space, \\ or @".into(),
        ));
    }
    let url_token = query.and_then(|q| {
        q.trim_start_matches(['?', '#']).split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == "authToken" || k == "auth_token").then(|| Secret(v.to_string()))
        })
    });
    let connect_scheme = match scheme {
        "libsql" | "wss" | "https" => "https",
        _ => "http",
    };
    let path = path.trim_end_matches('/').to_string();
    let _ = shown;
    Ok(RemoteUrl {
        url: format!("{connect_scheme}://{host}{path}"),
        shown: format!("{scheme}://{host}{path}"),
        token: url_token.clone().unwrap_or_default(),
        url_token,
        timeouts: Timeouts::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_and_file_urls_are_local() {
        assert_eq!(Target::parse("x.db").unwrap(), Target::Local("x.db".into()));
        assert_eq!(
            Target::parse("file:/tmp/x.db?mode=ro").unwrap(),
            Target::Local("/tmp/x.db".into())
        );
        assert_eq!(
            Target::parse("file:///tmp/my%20db.db").unwrap(),
            Target::Local("/tmp/my db.db".into())
        );
        assert_eq!(
            Target::parse("file://localhost/tmp/x.db").unwrap(),
            Target::Local("/tmp/x.db".into())
        );
        assert_eq!(
            Target::parse("file:x.db").unwrap(),
            Target::Local("x.db".into())
        );
        assert_eq!(
            Target::parse("C:/x.db").unwrap(),
            Target::Local("C:/x.db".into())
        );
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        let t =
            Target::parse("libsql://me:s3cret@liveone-tokyo.turso.io/?authToken=abc.def").unwrap();
        let Target::Remote(r) = &t else { panic!() };
        assert_eq!(r.url, "https://liveone-tokyo.turso.io");
        assert_eq!(r.url_token.as_ref().map(|s| s.0.as_str()), Some("abc.def"));
        assert!(
            !format!("{t:?}").contains("abc.def"),
            "Debug never shows a token"
        );
        assert_eq!(t.shown(), "libsql://liveone-tokyo.turso.io");
        assert!(!t.shown().contains("s3cret") && !t.shown().contains("abc"));
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(t.shown(), "http://127.0.0.1:8080");
        let t = Target::parse(" https://[::1]:8080/db ").unwrap();
        assert_eq!(t.shown(), "https://[::1]:8080/db");
    }

    #[test]
    fn scheme_typos_are_named_with_the_scheme_they_resemble() {
        for (input, wanted) in [
            ("libsq://db.turso.io", "did you mean libsql://?"),
            ("htps://db.turso.io", "did you mean https://?"),
            ("https//db.turso.io", "did you mean https://db.turso.io?"),
            (
                "http:/127.0.0.1:8080/?authToken=x",
                "did you mean http://127.0.0.1:8080/…?",
            ),
            (
                "libsql:db.turso.io?authToken=x",
                "did you mean libsql://db.turso.io…?",
            ),
            (
                "ftp://db.example",
                "unknown URL scheme ftp; preflight takes",
            ),
        ] {
            let e = Target::parse(input).unwrap_err().to_string();
            assert!(e.contains(wanted), "{input}: {e}");
        }
    }

    #[test]
    fn a_user_info_that_hides_the_host_is_refused_not_resolved() {
        let e = Target::parse("http://user:SENTINEL?x@host")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a valid URL") && !e.contains("SENTINEL") && !e.contains("user"),
            "{e}"
        );
    }

    #[test]
    fn scrub_removes_secrets_backticks_and_line_breaks() {
        register_secret("tok-very-secret");
        assert_eq!(
            scrub("a `cursor error: `x tok-very-secret``\n<html>\n  <b>y</b>"),
            "a cursor error: x *** <html> <b>y</b>"
        );
    }

    fn sentinel_forms() -> impl Strategy<Value = String> {
        let scheme = prop::sample::select(vec![
            "libsql", "LIBSQL", "https", "http", "libsq", "htps", "wss", "ws", "file", "ftp",
            "hTTp",
        ]);
        let sep = prop::sample::select(vec!["://", ":/", ":", "//", ":///", ";//", ":\\\\", ""]);
        let host = prop::sample::select(vec![
            "db.turso.io",
            "127.0.0.1:8080",
            "[::1]:99",
            "",
            "h",
            "user",
            "a b",
        ]);
        let form = prop::sample::select(vec![0u8, 1, 2, 3, 4, 5, 6, 7]);
        let lead = prop::sample::select(vec!["", " ", "  ", "\t"]);
        let path = prop::sample::select(vec!["", "/", "/x", "/?", "?x=1&", "#"]);
        (lead, scheme, sep, host, form, path).prop_map(|(lead, scheme, sep, host, form, path)| {
            const T: &str = "SENTINELtok3n";
            let body = match form {
                0 => format!("{host}{path}?authToken={T}"),
                1 => format!("user:{T}@{host}{path}"),
                2 => format!("user:{T}?x@{host}"),
                3 => format!("{T}@{host}/?auth_token={T}"),
                4 => format!("{host}{path}#authToken={T}"),
                5 => format!("{host}?a=1&authToken={T}&b=2"),
                6 => format!("{host}{path}?authToken={T}%20"),
                _ => format!(":{T}@{host}"),
            };
            format!("{lead}{scheme}{sep}{body}")
        })
    }

    proptest! {
        #[test]
        fn a_sentinel_token_is_never_shown(input in sentinel_forms()) {
            let shown = match Target::parse(&input) {
                Ok(t) => t.shown(),
                Err(e) => e.to_string(),
            };
            prop_assert!(!shown.contains("SENTINEL"), "{input:?} → {shown}");
            prop_assert!(!scrub(&input).contains("SENTINEL"), "{input:?}");
            prop_assert!(!redact(&input).contains("SENTINEL"), "{input:?} → {}", redact(&input));
        }
    }
}
