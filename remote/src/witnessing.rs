//! Witnessing over HTTP (见证): a log's `POST /add-checkpoint` to one C2SP tlog-witness, and the
//! two checkpoints a `lianlog serve` ledger publishes — `GET /checkpoint` (the newest one that
//! reached its witness quorum, with its cosignatures) and `GET /lianlog/v1/checkpoint/latest` (the
//! newest log-signed one).
//!
//! Guarantees: this module only carries bytes. A witness's answer is judged by
//! [`lianlog_ledger::witnessing::judge_answer`] (a cosignature counts only if it is by the
//! witness's key and verifies); a checkpoint fetched here is checked by its caller against the
//! pinned log key and witness policy, never trusted because of where it came from.

use std::time::Duration;

use lianlog_ledger::witness::AddRequest;
use lianlog_ledger::witnessing::{WitnessReply, judge_answer};
use lianlog_ledger::{Error, PublicKey, Result};

use crate::Client;

/// How long a log waits for a witness (tlog-witness clients use short timeouts: a witness that is
/// down must not hold up the others for long).
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest witness answer read: a few cosignature lines.
const WITNESS_ANSWER_LIMIT: u64 = 64 << 10;

/// A client of the witness at `url` (`http://` or `https://`), with the witness timeout.
pub fn witness_client(url: &str) -> Result<Client> {
    Ok(Client::new(url)?.with_timeout(WITNESS_TIMEOUT).with_response_limit(WITNESS_ANSWER_LIMIT))
}

/// Send `request` to the witness behind `client` (`POST /add-checkpoint`) and judge its answer
/// with the witness's cosigner key `witness`. An error is a failure to reach the witness or read
/// its answer; every answer it gave is a [`WitnessReply`].
pub fn add_checkpoint(client: &Client, request: &AddRequest, witness: &PublicKey) -> Result<WitnessReply> {
    let response = client.post_answer("/add-checkpoint", "text/plain; charset=utf-8", request.to_text().as_bytes())?;
    Ok(judge_answer(response.status(), response.content_type(), response.body(), &request.note, witness))
}

/// `GET /checkpoint` of a `lianlog serve` ledger: with witnesses, the newest checkpoint that
/// reached the server's quorum (or, before any did, the newest with the cosignatures it has).
pub fn served_checkpoint(client: &Client) -> Result<String> {
    text(client, "/checkpoint")
}

/// `GET /lianlog/v1/checkpoint/latest`: the newest log-signed checkpoint, whether witnessed or not.
pub fn latest_checkpoint(client: &Client) -> Result<String> {
    text(client, "/lianlog/v1/checkpoint/latest")
}

fn text(client: &Client, path: &str) -> Result<String> {
    String::from_utf8(client.get(path)?.into_body())
        .map_err(|_| Error::verification(format!("{}{path}: the checkpoint is not UTF-8 text", client.url())))
}
