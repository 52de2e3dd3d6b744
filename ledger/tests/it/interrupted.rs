//! Interrupted writes, cut at every byte. Random SIGKILLs (cli/tests/it/crash.rs) rarely land inside
//! the one `write` of an append, so this test builds the states such a kill can leave on disk
//! directly: the ledger as it was before an append or an import (derived store included), plus
//! every prefix of the bytes that append would have written, with the import intent in place.
//! Opening must then show the ledger without the unacknowledged write — never half an import,
//! never a refusal — or with all of it when every byte made it.

use std::path::{Path, PathBuf};

use crate::common::interview;
use lianlog_ledger::{Draft, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), &target).unwrap();
        }
    }
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("log").join("00000000000000000000.jsonl")
}

struct Before {
    _temp: tempfile::TempDir,
    /// The ledger before the write (closed), to copy from.
    pristine: PathBuf,
    size: u64,
    log: Vec<u8>,
    /// What the write appended to the log.
    written: Vec<u8>,
    officer: SecretKey,
}

/// A ledger, a copy of it as it was, and the bytes that appending `drafts` then wrote.
fn prepare(drafts: &[Draft]) -> Before {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ledger");
    let admin = SecretKey::from_seed(KeyName::parse("admin.zhao").unwrap(), &[1; 32]);
    let officer = SecretKey::from_seed(KeyName::parse("officer.qian").unwrap(), &[2; 32]);
    let holder = Holder { name: "赵主任".into(), unit: "市纪委监委".into(), title: None };
    let origin = KeyName::parse("jw.example.gov.cn/accountability").unwrap();
    let mut ledger = Ledger::init(&dir, &origin, &admin, holder.clone()).unwrap();
    ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder, &admin).unwrap();
    ledger.append(&interview(0), &officer).unwrap();
    let size = ledger.size();
    drop(ledger);
    let pristine = temp.path().join("pristine");
    copy_dir(&dir, &pristine);
    let log = std::fs::read(segment(&dir)).unwrap();
    let mut ledger = Ledger::open(&dir).unwrap();
    ledger.append_batch(drafts, &officer).unwrap();
    drop(ledger);
    let written = std::fs::read(segment(&dir)).unwrap()[log.len()..].to_vec();
    Before { _temp: temp, pristine, size, log, written, officer }
}

/// Cut points: every byte near each line boundary and the ends, and a stride through the rest.
fn cut_points(written: &[u8]) -> Vec<usize> {
    let mut points: Vec<usize> = (0..=written.len()).step_by(97).collect();
    for (index, byte) in written.iter().enumerate() {
        if *byte == b'\n' {
            points.extend(index.saturating_sub(2)..=(index + 2).min(written.len()));
        }
    }
    points.extend([0, 1, written.len().saturating_sub(1), written.len()]);
    points.sort_unstable();
    points.dedup();
    points
}

/// The ledger as a kill after `cut` bytes of the write leaves it, in a fresh directory.
fn state_after(before: &Before, cut: usize, intent: Option<&str>, name: &str) -> PathBuf {
    let dir = before.pristine.with_file_name(name);
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&before.pristine, &dir);
    let mut bytes = before.log.clone();
    bytes.extend_from_slice(&before.written[..cut]);
    std::fs::write(segment(&dir), bytes).unwrap();
    if let Some(intent) = intent {
        std::fs::write(dir.join("import.intent"), intent).unwrap();
    }
    dir
}

fn check_opens_as(dir: &Path, expected_size: u64, officer: &SecretKey) {
    let mut ledger = Ledger::open(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    assert_eq!(ledger.size(), expected_size, "{}: {:?}", dir.display(), ledger.notes());
    let report = ledger.verify(VerifyOptions::default()).unwrap().unwrap();
    assert_eq!(report.entries, expected_size);
    ledger.replay().unwrap();
    assert!(!dir.join("import.intent").exists(), "the intent is cleared");
    // And it goes on: the next append lands right after.
    let appended = ledger.append(&interview(999), officer).unwrap();
    assert_eq!(appended.seq, expected_size);
}

#[test]
fn an_append_cut_at_any_byte_is_gone_after_open() {
    let before = prepare(&[interview(1)]);
    let points = cut_points(&before.written);
    for &cut in &points {
        let dir = state_after(&before, cut, None, "cut");
        let complete = cut == before.written.len();
        check_opens_as(&dir, before.size + u64::from(complete), &before.officer);
    }
    assert!(points.len() > 10);
}

#[test]
fn an_import_cut_at_any_byte_is_all_or_nothing() {
    let drafts: Vec<Draft> = (1..=6).map(interview).collect();
    let before = prepare(&drafts);
    let intent = format!("{{\"segment\":0,\"start\":{},\"length\":{}}}\n", before.log.len(), before.written.len());
    for &cut in &cut_points(&before.written) {
        let dir = state_after(&before, cut, Some(&intent), "cut");
        let complete = cut == before.written.len();
        check_opens_as(&dir, before.size + if complete { 6 } else { 0 }, &before.officer);
    }
    // A kill while the intent itself was being written: the batch had not begun.
    for cut in [0, 1, intent.len() / 2, intent.len() - 1] {
        let dir = state_after(&before, 0, Some(&intent[..cut]), "torn-intent");
        check_opens_as(&dir, before.size, &before.officer);
    }
}

/// A store update too large for one sled batch is applied in parts; a crash between parts leaves
/// the marker `meta/partial`, and opening then rebuilds the store rather than trust half of it.
#[test]
fn a_store_update_interrupted_between_parts_is_rebuilt() {
    let drafts: Vec<Draft> = (1..=4000).map(interview).collect();
    let before = prepare(&drafts);
    let dir = before.pristine.parent().unwrap().join("ledger");
    let expected_size = before.size + drafts.len() as u64;
    {
        let db = crate::common::open_sled_when_released(&crate::common::current_sled_dir(&dir));
        // What a crash after the first part leaves: the marker, and the projections half-written
        // (here: a monthly count that the remaining parts would have fixed; sled's state values
        // are tagged, 1 = a live value).
        db.insert(b"meta/partial", &b"1"[..]).unwrap();
        db.insert(b"Pm\x002026-01\x00interview", &[&[1u8][..], &7u64.to_be_bytes()[..]].concat()[..]).unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(&dir).unwrap();
    assert!(ledger.notes().iter().any(|note| note.contains("interrupted")), "{:?}", ledger.notes());
    drop(ledger);
    check_opens_as(&dir, expected_size, &before.officer);
}

/// An import's batch has its state written into the store while its log is written, marked
/// partial until the log is durable. A kill then leaves the log cut anywhere in the batch (the
/// intent in place) and the store marked, with state of records the log may never hold: opening
/// rebuilds the store from the log, which shows the ledger without the import — or with all of
/// it, when every byte made it.
#[test]
fn an_import_killed_while_its_state_went_into_the_store_opens_without_it() {
    let drafts: Vec<Draft> = (1..=40).map(interview).collect();
    let before = prepare(&drafts);
    let intent = format!(
        "{{\"segment\":0,\"start\":{},\"length\":{},\"seq\":{}}}\n",
        before.log.len(),
        before.written.len(),
        before.size
    );
    let full = before.written.len();
    for cut in [0, 1, full / 3, full / 2, full - 1, full] {
        let dir = state_after(&before, cut, Some(&intent), "cut-marked");
        {
            let db = crate::common::open_sled_when_released(&crate::common::current_sled_dir(&dir));
            // The marker first, then state the import's records would have made (here: a
            // monthly count of 40 more interviews than the log may hold).
            db.insert(b"meta/partial", &b"1"[..]).unwrap();
            db.insert(b"Pm\x002026-01\x00interview", &[&[1u8][..], &41u64.to_be_bytes()[..]].concat()[..]).unwrap();
            db.flush().unwrap();
        }
        let complete = cut == full;
        let ledger = Ledger::open(&dir).unwrap();
        assert!(
            ledger.notes().iter().any(|note| note.contains("update of the derived store was interrupted")),
            "{cut}: {:?}",
            ledger.notes()
        );
        drop(ledger);
        check_opens_as(&dir, before.size + if complete { drafts.len() as u64 } else { 0 }, &before.officer);
    }
}

/// Items the flat index files hold past the store's head (written before a crash stopped the
/// sled batch that would have counted them) are cut on open; missing items rebuild the store.
#[test]
fn index_items_past_the_head_are_cut_and_missing_ones_rebuilt() {
    let before = prepare(&[interview(1), interview(2)]);
    let dir = before.pristine.parent().unwrap().join("ledger");
    let positions = dir.join("index").join("positions.bin");
    let merkle = dir.join("index").join("merkle.bin");
    let (positions_len, merkle_len) =
        (std::fs::metadata(&positions).unwrap().len(), std::fs::metadata(&merkle).unwrap().len());
    // The index postings and record facts too (store layout 6).
    let others: Vec<(std::path::PathBuf, u64)> = ["postings.bin", "facts.bin", "facts-at.bin"]
        .iter()
        .map(|name| {
            let path = dir.join("index").join(name);
            let len = std::fs::metadata(&path).unwrap().len();
            (path, len)
        })
        .collect();
    use std::io::Write as _;
    std::fs::OpenOptions::new().append(true).open(&positions).unwrap().write_all(&[9; 40]).unwrap();
    std::fs::OpenOptions::new().append(true).open(&merkle).unwrap().write_all(&[9; 70]).unwrap();
    for (path, _) in &others {
        std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(&[9; 37]).unwrap();
    }
    drop(Ledger::open(&dir).unwrap());
    assert_eq!(std::fs::metadata(&positions).unwrap().len(), positions_len);
    assert_eq!(std::fs::metadata(&merkle).unwrap().len(), merkle_len);
    for (path, len) in &others {
        assert_eq!(std::fs::metadata(path).unwrap().len(), *len, "{}", path.display());
    }
    check_opens_as(&dir, before.size + 2, &before.officer);

    // A posting missing (a power loss after the sled batch reached the disk) is damage.
    let postings = &others[0].0;
    let postings_len = std::fs::metadata(postings).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(postings).unwrap().set_len(postings_len - 16).unwrap();
    let ledger = Ledger::open(&dir).unwrap();
    assert!(ledger.notes().iter().any(|note| note.contains("damaged")), "{:?}", ledger.notes());
    drop(ledger);
    check_opens_as(&dir, before.size + 3, &before.officer);

    std::fs::OpenOptions::new().write(true).open(&merkle).unwrap().set_len(merkle_len - 32).unwrap();
    let ledger = Ledger::open(&dir).unwrap();
    assert!(ledger.notes().iter().any(|note| note.contains("damaged")), "{:?}", ledger.notes());
    drop(ledger);
    check_opens_as(&dir, before.size + 4, &before.officer);
}

/// Every file under `dir` but sled's own (`index/state-<g>/`: sled writes its snapshot on the
/// first open after a writer, which is its recovery, not a change of content), by path, with its
/// bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.parent().is_some_and(|p| p.ends_with("index"))
            && path.is_dir()
            && name.strip_prefix("state-").is_some_and(|g| g.parse::<u64>().is_ok())
        {
            continue;
        }
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            found.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    found.sort();
    found
}

fn read_only() -> lianlog_ledger::ledger::OpenOptions {
    lianlog_ledger::ledger::OpenOptions { read_only: true, ..Default::default() }
}

/// Item 8 of issue 12: an interrupted import is undone only by a writer, which saves the bytes it
/// cuts; a read-only open changes nothing and reads only what the writer will keep.
#[test]
fn an_interrupted_import_is_undone_only_by_a_writer_which_saves_what_it_cuts() {
    let drafts: Vec<Draft> = (1..=6).map(interview).collect();
    let before = prepare(&drafts);
    let cut = before.written.len() / 2 + 3;
    let intent = format!(
        "{{\"segment\":0,\"start\":{},\"length\":{},\"seq\":{}}}\n",
        before.log.len(),
        before.written.len(),
        before.size
    );
    let dir = state_after(&before, cut, Some(&intent), "partial");
    let untouched = files(&dir);
    let mut reader = Ledger::open_with(&dir, read_only()).unwrap();
    assert_eq!(reader.size(), before.size, "the partial batch is not shown");
    assert!(reader.notes().iter().any(|n| n.contains("interrupted")), "{:?}", reader.notes());
    assert_eq!(reader.verify(VerifyOptions::default()).unwrap().unwrap().entries, before.size);
    assert!(reader.append(&interview(7), &before.officer).is_err(), "a read-only handle appends nothing");
    drop(reader);
    assert!(files(&dir) == untouched, "a read-only open changed nothing");

    let ledger = Ledger::open(&dir).unwrap();
    assert_eq!(ledger.size(), before.size);
    let saved = dir.join("log").join(format!("interrupted-0-{}.bin", before.log.len()));
    assert_eq!(std::fs::read(&saved).unwrap(), &before.written[..cut], "the cut bytes are saved: {:?}", ledger.notes());
    assert!(!dir.join("import.intent").exists());
}

/// Item 8 of issue 12: an intent that does not match the log (stale, or planted to name
/// acknowledged entries) is not acted upon: a writer refuses it naming the file, a reader reads
/// the whole log, and nothing changes.
#[test]
fn a_planted_import_intent_cuts_nothing() {
    let drafts: Vec<Draft> = (1..=6).map(interview).collect();
    let before = prepare(&drafts);
    let dir = before.pristine.with_file_name("ledger");
    let size = before.size + drafts.len() as u64;
    // Names the batch's real start and seq, and claims it is longer than what is there.
    let planted = format!(
        "{{\"segment\":0,\"start\":{},\"length\":{},\"seq\":{}}}\n",
        before.log.len(),
        before.written.len() + 100,
        before.size
    );
    // Names a line boundary with the wrong seq, with the store (which would know) removed.
    let wrong_seq = format!("{{\"segment\":0,\"start\":{},\"length\":99999,\"seq\":1}}\n", before.log.len());
    // Names bytes past the end of the segment.
    let past_end =
        format!("{{\"segment\":0,\"start\":{},\"length\":10}}\n", before.log.len() + before.written.len() + 1);
    for intent in [&planted, &past_end] {
        std::fs::write(dir.join("import.intent"), intent).unwrap();
        let untouched = files(&dir);
        let err = Ledger::open(&dir).err().unwrap_or_else(|| panic!("a writer acted on {intent}"));
        assert!(err.message().contains("import.intent") && err.message().contains("does not match"), "{err}");
        assert!(files(&dir) == untouched, "{intent}: nothing changed");
        let reader = Ledger::open_with(&dir, read_only()).unwrap();
        assert_eq!(reader.size(), size, "{intent}: {:?}", reader.notes());
        drop(reader);
        assert!(files(&dir) == untouched, "{intent}: nothing changed");
        std::fs::remove_file(dir.join("import.intent")).unwrap();
    }
    // Without the store (which would know the entries were acknowledged), the seq still tells.
    std::fs::remove_dir_all(dir.join("index")).unwrap();
    std::fs::write(dir.join("import.intent"), &wrong_seq).unwrap();
    let log = std::fs::read(segment(&dir)).unwrap();
    let err = Ledger::open(&dir).expect_err("a writer acted on an intent naming the wrong seq");
    assert!(err.message().contains("import.intent") && err.message().contains("not seq 1"), "{err}");
    assert_eq!(std::fs::read(segment(&dir)).unwrap(), log);
    std::fs::remove_file(dir.join("import.intent")).unwrap();
    // A stale intent of a batch that is complete is removed by a writer, and cuts nothing.
    let stale = format!(
        "{{\"segment\":0,\"start\":{},\"length\":{},\"seq\":{}}}\n",
        before.log.len(),
        before.written.len(),
        before.size
    );
    std::fs::write(dir.join("import.intent"), stale).unwrap();
    assert_eq!(Ledger::open(&dir).unwrap().size(), size);
    assert!(!dir.join("import.intent").exists());
}

/// A reader without the lock (`verify_dir`, `export_dir`, the readers that answer while a writer
/// holds the ledger) fixes the end of the log before it looks for an import intent: a batch that
/// a writer begins after that look — its intent not yet seen, its lines appended while the
/// reader reads — is not read, not even in part.
#[test]
fn a_lock_free_reader_does_not_read_a_batch_begun_after_it_looked() {
    let before = prepare(&[interview(1), interview(2), interview(3)]);
    let dir = before.pristine.with_file_name("racing");
    copy_dir(&before.pristine, &dir);
    let mut appended = false;
    let mut seen = 0u64;
    let report =
        lianlog_ledger::ledger::verify_dir_collecting(&dir, VerifyOptions::default(), &mut |_| {}, &mut |_, _| {
            // The writer appends its whole batch while the reader is at its first line.
            if !appended {
                appended = true;
                let mut file = std::fs::OpenOptions::new().append(true).open(segment(&dir)).unwrap();
                std::io::Write::write_all(&mut file, &before.written).unwrap();
            }
            seen += 1;
        })
        .unwrap()
        .expect("the log as it was verifies");
    assert_eq!((report.entries, seen), (before.size, before.size), "the batch begun after the look is not read");
    assert!(report.ignored_partial_tail, "the report says that more was written meanwhile");
    // A reader that starts now sees the whole batch.
    let report = lianlog_ledger::ledger::verify_dir(&dir, VerifyOptions::default()).unwrap().unwrap();
    assert_eq!(report.entries, before.size + 3);
    let _ = &before.log;
}
