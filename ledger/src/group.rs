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
//!
//! The loop ([`run_groups`]) and the rule for a refused group ([`whole_or_each`]) are public
//! so that `lianlog serve`'s sequencer, which commits client-signed submissions instead of
//! drafts, runs the same loop rather than a second one.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::keys::SecretKey;
use crate::ledger::{Appended, Draft, Ledger};
use crate::limits::MAX_GROUP;

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

    /// A handle that another thread can append through; any number may exist at once.
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
    run_groups(&incoming, |group: Vec<Request>| {
        let (parts, replies): (Vec<(Draft, Arc<SecretKey>)>, Vec<_>) =
            group.into_iter().map(|request| ((request.draft, request.key), request.reply)).unzip();
        // The same two steps as `Ledger::append_batch_by`: the group is checked whole and signed
        // (staged), then written with one `sync_data` (committed).
        let answers = whole_or_each(&parts, |parts| {
            let drafts: Vec<Draft> = parts.iter().map(|(draft, _)| draft.clone()).collect();
            let keys: Vec<&SecretKey> = parts.iter().map(|(_, key)| key.as_ref()).collect();
            ledger.stage(&drafts, &keys).and_then(|staged| ledger.commit(staged))
        });
        for (reply, answer) in replies.iter().zip(answers) {
            // A caller that went away needs no answer.
            let _ = reply.send(answer);
        }
    });
    ledger
}

/// The one group-commit loop (used by [`GroupCommit`] and by `lianlog serve`'s sequencer): wait
/// for a request, take every other request already waiting (up to [`MAX_GROUP`]), hand the
/// group to `commit`, and start again; return when every sender is gone and every request was
/// handed over. `commit` answers its requests itself, after the `sync_data` that covers them.
pub fn run_groups<R>(incoming: &mpsc::Receiver<R>, mut commit: impl FnMut(Vec<R>)) {
    while let Ok(first) = incoming.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match incoming.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        commit(group);
    }
}

/// The rule of a refused group: `commit` is tried on all `parts` at once (one answer per part);
/// if it refuses them and there is more than one, nothing was written (a batch is checked whole
/// first), so each part is tried again on its own and only the refused parts fail. A part is
/// whatever one caller asked for atomically: one record, or one all-or-nothing batch.
pub fn whole_or_each<P, O>(parts: &[P], mut commit: impl FnMut(&[P]) -> Result<Vec<O>>) -> Vec<Result<O>> {
    match commit(parts) {
        Ok(answers) if answers.len() == parts.len() => answers.into_iter().map(Ok).collect(),
        Ok(_) => parts.iter().map(|_| Err(miscounted())).collect(),
        Err(_) if parts.len() > 1 => parts
            .iter()
            .map(|part| {
                commit(std::slice::from_ref(part))
                    .and_then(|mut answers| if answers.len() == 1 { Ok(answers.remove(0)) } else { Err(miscounted()) })
            })
            .collect(),
        Err(err) => vec![Err(err)],
    }
}

fn miscounted() -> Error {
    Error::new(ErrorKind::Io, "a group commit answered a different number of parts than it was given (a bug)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_group_is_retried_part_by_part_and_only_the_refused_part_fails() {
        let mut calls = Vec::new();
        let answers = whole_or_each(&[1, 2, 3], |parts| {
            calls.push(parts.to_vec());
            if parts.contains(&2) { Err(Error::bad_input("two")) } else { Ok(parts.iter().map(|p| p * 10).collect()) }
        });
        assert_eq!(calls, vec![vec![1, 2, 3], vec![1], vec![2], vec![3]]);
        assert_eq!(answers[0].as_ref().unwrap(), &10);
        assert_eq!(answers[1].as_ref().unwrap_err().message(), "two");
        assert_eq!(answers[2].as_ref().unwrap(), &30);
    }

    #[test]
    fn the_loop_hands_over_every_request_in_order() {
        let (send, receive) = mpsc::channel();
        for n in 0..10 {
            send.send(n).unwrap();
        }
        drop(send);
        let mut seen = Vec::new();
        run_groups(&receive, |group| seen.extend(group));
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }
}
