//! Basic auth for both ports, configured as Prometheus exporters are: a web configuration file
//! (`WEB_CONFIG_FILE`, the exporter-toolkit's `--web.config.file`) whose `basic_auth_users` maps
//! each user to a bcrypt hash of the password:
//!
//! ```yaml
//! basic_auth_users:
//!   alice: $2y$10$...
//! ```
//!
//! Only that key is read; a file that asks for anything else (TLS, headers) is refused at start
//! rather than half obeyed. A bcrypt check costs tens of milliseconds by design, so a password that
//! was right once is remembered (as a keyed hash, never as text) and later requests cost nothing.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use hyper::header::{HeaderMap, AUTHORIZATION};

/// A web configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The file cannot be read.
    #[error("WEB_CONFIG_FILE {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the file is not what it may hold.
    #[error("WEB_CONFIG_FILE {path}, line {line}: {why}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// The users allowed in, and the passwords already checked.
#[derive(Debug)]
pub struct Users {
    hashes: HashMap<String, String>,
    /// Keyed hashes of (user, password) pairs that passed bcrypt.
    passed: Mutex<HashSet<u64>>,
    keys: std::collections::hash_map::RandomState,
}

impl Users {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Users, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Users::parse(&text).map_err(|(line, why)| AuthError::Syntax {
            path: path.to_path_buf(),
            line,
            why,
        })
    }

    /// The users of a file's text; an error is (line, what is wrong).
    pub fn parse(text: &str) -> Result<Users, (usize, String)> {
        let mut hashes = HashMap::new();
        let mut in_users = false;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = strip_comment(raw);
            if line.trim().is_empty() {
                continue;
            }
            let indented = line.starts_with(' ') || line.starts_with('\t');
            let (key, value) = line
                .trim()
                .split_once(':')
                .ok_or((n, "expected `key: value`".to_string()))?;
            let (key, value) = (unquote(key.trim()), unquote(value.trim()));
            if !indented {
                if key != "basic_auth_users" {
                    return Err((
                        n,
                        format!("{key:?} is not supported (only basic_auth_users is)"),
                    ));
                }
                if !value.is_empty() && value != "{}" {
                    return Err((
                        n,
                        "basic_auth_users takes one `user: hash` line each".into(),
                    ));
                }
                in_users = true;
                continue;
            }
            if !in_users {
                return Err((n, "an indented line outside basic_auth_users".into()));
            }
            if !(value.starts_with("$2a$")
                || value.starts_with("$2b$")
                || value.starts_with("$2y$"))
            {
                return Err((
                    n,
                    format!("the password of {key:?} is not a bcrypt hash ($2y$...)"),
                ));
            }
            if hashes.insert(key.to_string(), value.to_string()).is_some() {
                return Err((n, format!("{key:?} is given twice")));
            }
        }
        Ok(Users {
            hashes,
            passed: Mutex::new(HashSet::new()),
            keys: std::collections::hash_map::RandomState::new(),
        })
    }

    /// How many users may come in.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when the file names no user: then nobody gets in.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    fn key(&self, user: &str, password: &str) -> u64 {
        self.keys.hash_one((user, password))
    }

    /// Whether the request's `Authorization: Basic` header names a user with the right password.
    pub async fn allows(self: &Arc<Self>, headers: &HeaderMap) -> bool {
        let Some((user, password)) = credentials(headers) else {
            return false;
        };
        let Some(hash) = self.hashes.get(&user).cloned() else {
            return false;
        };
        let key = self.key(&user, &password);
        if self
            .passed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&key)
        {
            return true;
        }
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        if ok {
            self.passed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key);
        }
        ok
    }
}

fn strip_comment(line: &str) -> &str {
    // A `#` starts a comment at the start or after a space (bcrypt hashes hold no `#`).
    match line
        .find(" #")
        .or_else(|| line.starts_with('#').then_some(0))
    {
        Some(i) => &line[..i],
        None => line,
    }
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn header(user: &str, password: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {v}")).expect("header"),
        );
        h
    }

    #[tokio::test]
    async fn only_a_listed_user_with_the_right_password_gets_in() {
        let hash = bcrypt::hash("s3cret", 4).expect("hash");
        let users = Arc::new(
            Users::parse(&format!(
                "# who may read\nbasic_auth_users:\n  alice: {hash}\n  bob: '{hash}'\n"
            ))
            .expect("parse"),
        );
        assert_eq!(users.len(), 2);
        assert!(users.allows(&header("alice", "s3cret")).await);
        assert!(users.allows(&header("alice", "s3cret")).await, "remembered");
        assert!(users.allows(&header("bob", "s3cret")).await);
        assert!(!users.allows(&header("alice", "wrong")).await);
        assert!(!users.allows(&header("carol", "s3cret")).await);
        assert!(!users.allows(&HeaderMap::new()).await);
        let mut bearer = HeaderMap::new();
        bearer.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert!(!users.allows(&bearer).await);
    }

    #[test]
    fn a_file_that_asks_for_more_than_basic_auth_is_refused_with_its_line() {
        let cases = [
            ("tls_server_config:\n  cert_file: x\n", 1, "not supported"),
            (
                "basic_auth_users:\n  alice: plain\n",
                2,
                "not a bcrypt hash",
            ),
            ("basic_auth_users:\n  a: $2y$x\n  a: $2y$y\n", 3, "twice"),
            ("  alice: $2y$x\n", 1, "outside"),
            ("basic_auth_users\n", 1, "key: value"),
        ];
        for (text, line, why) in cases {
            let (n, said) = Users::parse(text).expect_err(text);
            assert_eq!(n, line, "{text}");
            assert!(said.contains(why), "{text}: {said}");
        }
        assert!(Users::parse("basic_auth_users: {}\n")
            .expect("empty")
            .is_empty());
    }
}
