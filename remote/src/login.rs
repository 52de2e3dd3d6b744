//! `lianlog login`: sign in to a server's web pages with a key, without a password.
//!
//! Guarantees: the client asks the server for a one-time challenge (`POST
//! /lianlog/v1/login/challenge`), then sends it back in the body of a request signed with the
//! caller's key (`POST /lianlog/v1/login`, lianlog's RFC 9421 profile: the body is covered by the
//! signature's `Content-Digest`, so the signature is bound to this challenge and cannot be replayed
//! for another). The server answers a one-time path; [`login`] returns the full URL to open, which
//! works once, within minutes (docs/SECURITY.md, "Web sessions"). The private key never leaves
//! this machine; no rule is decided here.

use lianlog_ledger::{Error, Result};
use serde::Deserialize;
use serde_json::json;

use crate::Client;

/// What a sign-in gives: the one-time URL and what it opens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Login {
    /// The one-time URL (`{server}/login/{token}`): open it in a browser to start a session.
    #[serde(skip)]
    pub url: String,
    /// The path the server answered (`/login/{token}`).
    pub path: String,
    /// When the URL stops working, if unused (RFC 3339, UTC).
    pub expires: String,
    /// The key signed in.
    pub identity: String,
    /// Its roles in the server's registry.
    pub roles: Vec<String>,
}

#[derive(Deserialize)]
struct Challenge {
    challenge: String,
}

/// Sign in to the server of `client`, which must carry the caller's identity (`with_identity`).
pub fn login(client: &Client) -> Result<Login> {
    if client.identity().is_none() {
        return Err(Error::bad_input("signing in needs a key: give --key FILE (or --identity FILE)"));
    }
    let challenge: Challenge = client.post("/lianlog/v1/login/challenge", "application/json", b"{}")?.json()?;
    let mut login: Login = client.post_json("/lianlog/v1/login", &json!({"challenge": challenge.challenge}))?;
    let token = login.path.strip_prefix("/login/").unwrap_or("");
    if token.is_empty() || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(Error::verification(format!(
            "{}/lianlog/v1/login answered {:?}, not a /login/… path",
            client.url(),
            login.path
        )));
    }
    login.url = format!("{}{}", client.url(), login.path);
    Ok(login)
}
