//! Group commit (组提交): several threads append through one ledger, and the records that arrive
//! while one `sync_data` is under way share the next one.
//!
//! Guarantees: each caller of [`Appender::append`] is answered only after its record is durable,
//! exactly as with [`Ledger::append`]; records are sequenced in the order the committer takes
//! them; a record that its checks refuse is answered with its own error and never makes the
//! others fail (a refused group is written again one record at a time). The ledger's one-writer
//! rule holds: one thread, the committer, owns the [`Ledger`]. A group goes through the same two
//! steps as any batch: [`Ledger::stage`] checks it whole and signs it, writing nothing, and
//! [`Ledger::commit`] writes it durably.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::keys::SecretKey;
use crate::ledger::{Appended, Draft, Ledger};

/// Most records written with one `sync_data`.
pub const MAX_GROUP: usize = 1024;

/// The committer thread and the ledger it owns.
pub struct GroupCommit {
    requests: mpsc::Sender<Request>,
    committer: JoinHandle<Ledger>,
}

/// A handle for one appending thread (clone it for each).
#[derive(Clone)]
pub struct Appender {
    requests: mpsc::Sender<Request>,
}

struct Request {
    draft: Draft,
    key: Arc<SecretKey>,
    reply: mpsc::Sender<Result<Appended>>,
}

impl GroupCommit {
    /// Hand the ledger to a committer thread.
    pub fn start(ledger: Ledger) -> GroupCommit {
        let (requests, incoming) = mpsc::channel();
        let committer = std::thread::spawn(move || commit_groups(ledger, incoming));
        GroupCommit { requests, committer }
    }

    pub fn appender(&self) -> Appender {
        Appender { requests: self.requests.clone() }
    }

    /// Wait for every appender to be dropped and every request to be answered; the ledger back.
    pub fn finish(self) -> Result<Ledger> {
        drop(self.requests);
        self.committer.join().map_err(|_| stopped())
    }
}

impl Appender {
    /// Append one record signed by `key`; returns once it is durable (or refused).
    pub fn append(&self, draft: Draft, key: Arc<SecretKey>) -> Result<Appended> {
        let (reply, answer) = mpsc::channel();
        self.requests.send(Request { draft, key, reply }).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::new(ErrorKind::Io, "the group-commit thread stopped; open the ledger again")
}

fn commit_groups(mut ledger: Ledger, incoming: mpsc::Receiver<Request>) -> Ledger {
    while let Ok(first) = incoming.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match incoming.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let (drafts, authors): (Vec<Draft>, Vec<_>) =
            group.into_iter().map(|request| (request.draft, (request.key, request.reply))).unzip();
        let keys: Vec<&SecretKey> = authors.iter().map(|(key, _)| key.as_ref()).collect();
        // The same two steps as `Ledger::append_batch_by`: the group is checked whole and signed
        // (staged), then written with one `sync_data` (committed).
        match ledger.stage(&drafts, &keys).and_then(|staged| ledger.commit(staged)) {
            Ok(appended) => {
                for ((_, reply), appended) in authors.iter().zip(appended) {
                    // A caller that went away needs no answer.
                    let _ = reply.send(Ok(appended));
                }
            }
            // Nothing of the group was written: each record again on its own, so that only the
            // refused ones fail.
            Err(_) if drafts.len() > 1 => {
                for (draft, (key, reply)) in drafts.iter().zip(&authors) {
                    let _ = reply.send(ledger.append(draft, key));
                }
            }
            Err(err) => {
                let _ = authors[0].1.send(Err(err));
            }
        }
    }
    ledger
}
