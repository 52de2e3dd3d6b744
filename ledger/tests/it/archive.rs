//! Snapshot archives on real files: a full archive and incrementals round-trip through a
//! restore; one altered byte, a gap, a rewritten history, mixed ledgers and truncation are each
//! refused naming the archive; hostile tar and zstd files are refused before anything is
//! written; as-of queries equal those of a ledger truly cut at that seq.

use std::path::{Path, PathBuf};

use lianlog_ledger::archive::{self, ArchiveFailure, ArchiveOptions, CreateOptions, Limits, Loaded, ustar};
use lianlog_ledger::query::{QueryFilter, RecordView, StatsGrouping};
use lianlog_ledger::{Draft, ErrorKind, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions};
use lianlog_workload::Workload;
use serde_json::Value;

const ORIGIN: &str = "jw.example.gov.cn/accountability";

struct Fixture {
    dir: tempfile::TempDir,
    ledger: Ledger,
    admin: SecretKey,
    officer: SecretKey,
    log_key: SecretKey,
    workload: Workload,
}

fn holder(name: &str) -> Holder {
    Holder { name: name.into(), unit: "市纪委监委".into(), title: None }
}

fn no_passphrase() -> lianlog_ledger::Result<lianlog_ledger::keys::Zeroizing<String>> {
    Err(lianlog_ledger::Error::key("no passphrase"))
}

impl Fixture {
    /// A ledger (genesis, one officer) with `records` workload records.
    fn new(records: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let admin = SecretKey::generate(KeyName::parse("admin.zhao").unwrap()).unwrap();
        let officer = SecretKey::generate(KeyName::parse("officer.qian").unwrap()).unwrap();
        let mut ledger =
            Ledger::init(&dir.path().join("ledger"), &KeyName::parse(ORIGIN).unwrap(), &admin, holder("赵")).unwrap();
        ledger.grant(&officer.public().vkey(), &[Role::Officer], &holder("钱"), &admin).unwrap();
        let log_key = ledger.log_key(&mut no_passphrase).unwrap();
        let mut fixture = Fixture { dir, ledger, admin, officer, log_key, workload: Workload::new(7) };
        fixture.add(records);
        fixture
    }

    fn add(&mut self, records: usize) {
        let drafts: Vec<Draft> =
            (&mut self.workload).take(records).map(|(kind, body)| Draft::new(kind, body)).collect();
        if !drafts.is_empty() {
            self.ledger.append_batch(&drafts, &self.officer).unwrap();
        }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("archives")
    }

    fn create(&self, since: Option<&Path>, zstd: bool) -> PathBuf {
        let options = CreateOptions {
            out_dir: self.out(),
            since: since.map(Path::to_path_buf),
            zstd_level: zstd.then_some(archive::DEFAULT_LEVEL),
        };
        archive::create(&self.ledger, &self.log_key, &options, &mut |_| {}).unwrap().path
    }
}

fn verify(paths: &[PathBuf]) -> Result<archive::SequenceReport, ArchiveFailure> {
    archive::verify(paths, &ArchiveOptions::default(), &mut |_| {}).unwrap()
}

fn refused(paths: &[PathBuf], archive: &Path, reason: &str) -> ArchiveFailure {
    let failure = verify(paths).expect_err("the archives must be refused");
    assert_eq!(failure.archive, archive, "{failure}");
    assert!(failure.reason.contains(reason), "expected {reason:?} in: {failure}");
    failure
}

/// A full archive and three incrementals with appends between.
fn sequence(f: &mut Fixture, zstd: bool) -> Vec<PathBuf> {
    let mut paths = vec![f.create(None, zstd)];
    for round in 0..3 {
        f.add(15 + round);
        let previous = paths.last().cloned();
        paths.push(f.create(previous.as_deref(), zstd));
    }
    paths
}

#[test]
fn full_and_incremental_archives_restore_a_working_ledger() {
    let mut f = Fixture::new(40);
    let paths = sequence(&mut f, true);
    let names: Vec<String> = paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names[0], "jw.example.gov.cn_accountability-0-42.tar.zst");
    assert!(names[1].starts_with("jw.example.gov.cn_accountability-42-"), "{names:?}");

    let report = verify(&paths).unwrap();
    assert_eq!((report.first_seq, report.end, report.root), (0, f.ledger.size(), f.ledger.root()));
    assert!(report.not_checked.is_empty(), "{:?}", report.not_checked);
    // Given in any order, they are checked in seq order; each incremental also verifies alone.
    let mut shuffled = paths.clone();
    shuffled.reverse();
    assert_eq!(verify(&shuffled).unwrap().root, f.ledger.root());
    let alone = verify(&paths[2..3]).unwrap();
    assert_eq!(alone.first_seq, archive::read_head(&paths[2]).unwrap().unwrap().0.first_seq);
    assert!(!alone.not_checked.is_empty());

    let into = f.dir.path().join("restored");
    let restored = archive::restore(&paths, &into, &f.log_key, &mut |_| {}).unwrap();
    assert_eq!((restored.entries, restored.root), (f.ledger.size(), f.ledger.root()));
    let mut ledger = Ledger::open(&into).unwrap();
    let verified = ledger.verify(VerifyOptions::default()).unwrap().unwrap();
    assert_eq!((verified.entries, verified.root), (f.ledger.size(), f.ledger.root()));
    assert_eq!(ledger.registry(), f.ledger.registry());
    for person in ["P-00001", "P-DR-0000001"] {
        assert_eq!(ledger.dossier(person).unwrap(), f.ledger.dossier(person).unwrap());
    }
    assert_eq!(ledger.cases(false).unwrap(), f.ledger.cases(false).unwrap());
    ledger.replay().unwrap();
    // The restored ledger goes on: appends, checkpoints and a new incremental archive.
    let (kind, body) = f.workload.next().unwrap();
    ledger.append(&Draft::new(kind, body), &f.officer).unwrap();
    let log_key = ledger.log_key(&mut no_passphrase).unwrap();
    let options =
        CreateOptions { out_dir: f.out(), since: paths.last().cloned(), zstd_level: Some(archive::DEFAULT_LEVEL) };
    let next = archive::create(&ledger, &log_key, &options, &mut |_| {}).unwrap();
    let mut all = paths.clone();
    all.push(next.path);
    assert_eq!(verify(&all).unwrap().end, ledger.size());
}

#[test]
fn plain_tar_archives_list_and_chain() {
    let mut f = Fixture::new(10);
    let paths = sequence(&mut f, false);
    let listing = archive::list(&f.out()).unwrap();
    assert_eq!(listing.archives.len(), 4);
    let chain = &listing.chains[0];
    assert_eq!((chain.end, chain.gap, chain.chain.len()), (f.ledger.size(), None, 4));
    // A newer full archive supersedes the chain; removing a middle incremental leaves a gap.
    std::fs::remove_file(&paths[2]).unwrap();
    let listing = archive::list(&f.out()).unwrap();
    assert_eq!(listing.chains[0].gap, Some(archive::read_head(&paths[1]).unwrap().unwrap().0.end));
    let full = f.create(None, false);
    let listing = archive::list(&f.out()).unwrap();
    assert_eq!((listing.chains[0].chain.clone(), listing.chains[0].gap), (vec![full], None));
    // Creating the same archive again is refused; so is an incremental with nothing new.
    let options = CreateOptions { out_dir: f.out(), since: None, zstd_level: None };
    let err = archive::create(&f.ledger, &f.log_key, &options, &mut |_| {}).unwrap_err();
    assert!(err.message().contains("already exists"), "{err}");
    let options = CreateOptions { out_dir: f.out(), since: Some(paths[3].clone()), zstd_level: None };
    let err = archive::create(&f.ledger, &f.log_key, &options, &mut |_| {}).unwrap_err();
    assert!(err.message().contains("nothing to archive"), "{err}");
}

/// Flip one byte at `offset` of a copy of `path`.
fn altered(path: &Path, offset: usize, out: &Path) -> PathBuf {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    let copy = out.join(path.file_name().unwrap());
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(&copy, bytes).unwrap();
    copy
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn one_altered_byte_anywhere_is_refused() {
    let mut f = Fixture::new(12);
    let paths = sequence(&mut f, false);
    let incremental = &paths[1];
    let bytes = std::fs::read(incremental).unwrap();
    let manifest_len = archive::read_head(incremental).unwrap().unwrap().0.to_bytes().unwrap().len();
    let tool = find(&bytes, archive::TOOL.as_bytes());
    let out = f.dir.path().join("altered");
    let mut refusals = std::collections::BTreeMap::new();
    // Every 4th byte of the first member (its header and the manifest) and every 53rd byte of the
    // rest (headers, checkpoint, key lines, entries, padding, end-of-archive marker), but not the
    // version in the `tool` label, which nothing signed covers.
    let manifest_end = 512 + manifest_len + ustar::padding(manifest_len as u64);
    let offsets = (0..manifest_end).step_by(4).chain((manifest_end..bytes.len()).step_by(53)).chain([bytes.len() - 1]);
    for (index, offset) in offsets.enumerate() {
        if (tool + 8..tool + archive::TOOL.len()).contains(&offset) {
            continue;
        }
        let copy = altered(incremental, offset, &out);
        let sequence = [paths[0].clone(), copy.clone()];
        let failure = verify(&sequence).expect_err(&format!("byte {offset} altered but accepted"));
        assert_eq!(failure.archive, copy, "byte {offset}: {failure}");
        let region = if offset < manifest_end { "manifest" } else { "rest" };
        refusals.entry(region).or_insert_with(|| failure.reason.clone());
        if index % 10 == 0 {
            assert!(verify(std::slice::from_ref(&copy)).is_err(), "byte {offset} accepted alone");
        }
    }
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    // A compressed archive: a flipped byte in the magic number, the compressed data or the frame
    // checksum is refused (the frame checksum covers the decompressed bytes, and the members'
    // digests cover them again).
    let full = f.create(None, true);
    let size = std::fs::metadata(&full).unwrap().len() as usize;
    for offset in [0, 1, size / 3, size / 2, size - 30, size - 3] {
        let copy = altered(&full, offset, &out);
        assert!(verify(std::slice::from_ref(&copy)).is_err(), "compressed byte {offset} accepted");
    }
}

#[test]
fn gaps_rewrites_mixed_ledgers_and_truncation_are_refused() {
    let mut f = Fixture::new(12);
    let paths = sequence(&mut f, true);

    // A missing incremental in the middle.
    let gap = [paths[0].clone(), paths[1].clone(), paths[3].clone()];
    let end = archive::read_head(&paths[1]).unwrap().unwrap().0.end;
    let failure = refused(&gap, &paths[3], "is missing");
    assert_eq!(failure.seq, Some(end));

    // Archives of another ledger with the same origin mixed in.
    let mut other = Fixture::new(12);
    let other_paths = sequence(&mut other, true);
    let renamed = f.dir.path().join("other");
    std::fs::create_dir_all(&renamed).unwrap();
    let foreign = renamed.join(other_paths[1].file_name().unwrap());
    std::fs::copy(&other_paths[1], &foreign).unwrap();
    let first_end = archive::read_head(&paths[0]).unwrap().unwrap().0.end;
    assert_eq!(archive::read_head(&foreign).unwrap().unwrap().0.first_seq, first_end);
    refused(&[paths[0].clone(), foreign], &renamed.join(other_paths[1].file_name().unwrap()), "different ledgers");

    // History rewritten before an incremental: a ledger that shares the first archive's entries
    // but differs after it, archived again with an incremental from its own (rewritten) archive.
    let restored = f.dir.path().join("fork");
    archive::restore(&paths[..1], &restored, &f.log_key, &mut |_| {}).unwrap();
    let mut fork = Ledger::open(&restored).unwrap();
    // As many entries as the first incremental holds, so that the fork's next archive starts
    // exactly where the original first incremental ends.
    let interviews = || {
        Workload::new(99).filter(|(kind, _)| *kind == "interview").map(|(kind, mut body)| {
            body.as_object_mut().unwrap().remove("report_id");
            Draft::new(kind, body)
        })
    };
    let drafts: Vec<Draft> = interviews().take(15).collect();
    fork.append_batch(&drafts, &f.officer).unwrap();
    let fork_out = f.dir.path().join("fork-archives");
    let fork_key = fork.log_key(&mut no_passphrase).unwrap();
    let create = |fork: &Ledger, since: Option<PathBuf>| {
        let options = CreateOptions { out_dir: fork_out.clone(), since, zstd_level: Some(3) };
        archive::create(fork, &fork_key, &options, &mut |_| {}).unwrap().path
    };
    let fork_full = create(&fork, None);
    let drafts: Vec<Draft> = interviews().skip(15).take(5).collect();
    fork.append_batch(&drafts, &f.officer).unwrap();
    let fork_next = create(&fork, Some(fork_full));
    // The original full archive and the original first incremental, then the fork's incremental.
    let rewritten = [paths[0].clone(), paths[1].clone(), fork_next.clone()];
    let failure = refused(&rewritten, &fork_next, "rewritten");
    assert!(failure.reason.contains("consistency proof") || failure.reason.contains("overlap"), "{failure}");
    // An incremental --since an archive the ledger no longer contains is refused at creation.
    let options = CreateOptions { out_dir: fork_out.clone(), since: Some(paths[1].clone()), zstd_level: None };
    let err = archive::create(&fork, &fork_key, &options, &mut |_| {}).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification);
    assert!(err.message().contains("rewritten"), "{err}");

    // Truncated files: inside the data, and just before the end-of-archive marker.
    let plain = f.create(None, false);
    let bytes = std::fs::read(&plain).unwrap();
    let cut_dir = f.dir.path().join("cut");
    std::fs::create_dir_all(&cut_dir).unwrap();
    for keep in [100, 600, bytes.len() / 2, bytes.len() - 1024, bytes.len() - 1] {
        let cut = cut_dir.join(plain.file_name().unwrap());
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        refused(std::slice::from_ref(&cut), &cut, "truncated");
    }
    let compressed = std::fs::read(&paths[0]).unwrap();
    let cut = cut_dir.join(paths[0].file_name().unwrap());
    std::fs::write(&cut, &compressed[..compressed.len() - 10]).unwrap();
    assert!(verify(std::slice::from_ref(&cut)).is_err());
}

/// A tar file made of `members` (name, type flag, declared size, data), ended properly.
fn hostile_tar(members: &[(&str, u8, u64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, flag, size, data) in members {
        let mut header = ustar::header(name, *size, 0).unwrap();
        header[156] = *flag;
        header[148..156].copy_from_slice(b"        ");
        let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn hostile_archives_are_refused_before_anything_is_written() {
    let f = Fixture::new(3);
    let good = f.create(None, false);
    let good_bytes = std::fs::read(&good).unwrap();
    let first: &[u8; 512] = good_bytes[..512].try_into().unwrap();
    let manifest_len = ustar::parse_header(first).unwrap().size as usize;
    let manifest = &good_bytes[512..512 + manifest_len];
    let dir = f.dir.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("dotdot.tar", hostile_tar(&[("../../evil", b'0', 4, b"evil")]), "`..`"),
        ("absolute.tar", hostile_tar(&[("/etc/cron.d/evil", b'0', 4, b"evil")]), "absolute path"),
        ("symlink.tar", hostile_tar(&[("manifest.json", b'2', 0, b"")]), "symbolic link"),
        ("hardlink.tar", hostile_tar(&[("manifest.json", b'1', 0, b"")]), "hard link"),
        ("device.tar", hostile_tar(&[("manifest.json", b'3', 0, b"")]), "device"),
        ("unknown.tar", hostile_tar(&[("notes.txt", b'0', 2, b"hi")]), "not part of a lianlog archive"),
        ("oversized.tar", hostile_tar(&[("manifest.json", b'0', 65 << 20, b"{")]), "more than the limit"),
        (
            "late-symlink.tar",
            hostile_tar(&[("manifest.json", b'0', manifest_len as u64, manifest), ("checkpoint", b'2', 0, b"")]),
            "symbolic link",
        ),
    ];
    for (name, bytes, reason) in &cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        refused(std::slice::from_ref(&path), &path, reason);
        let into = f.dir.path().join(format!("restore-{name}"));
        let err = archive::restore(std::slice::from_ref(&path), &into, &f.log_key, &mut |_| {}).unwrap_err();
        assert!(err.message().contains(reason), "{name}: {err}");
        assert!(!into.exists(), "{name}: restore wrote {}", into.display());
    }
    // Decompression bombs: a few hundred kilobytes of zstd that decompress to gigabytes behind
    // plausible headers. The stated size is refused when it is over the member's limit; under it
    // (entries.jsonl may hold 4 GiB), reading stops at the first line over the line limit.
    use std::io::Write as _;
    let entries_header =
        (0..good_bytes.len()).step_by(512).find(|&at| good_bytes[at..].starts_with(b"entries.jsonl\0")).unwrap();
    let bombs: Vec<(&str, Vec<u8>, u64, &str)> = vec![
        ("bomb-manifest.tar.zst", Vec::new(), 1 << 30, "more than the limit"),
        ("bomb-entries.tar.zst", good_bytes[..entries_header].to_vec(), 3 << 30, "line longer than"),
    ];
    for (name, prefix, size, reason) in bombs {
        let path = dir.join(name);
        let member = if prefix.is_empty() { "manifest.json" } else { "entries.jsonl" };
        let mut encoder = zstd::stream::write::Encoder::new(std::fs::File::create(&path).unwrap(), 19).unwrap();
        encoder.write_all(&prefix).unwrap();
        encoder.write_all(&ustar::header(member, size, 0).unwrap()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() < 100_000, "{name} is a small file");
        refused(std::slice::from_ref(&path), &path, reason);
        let into = f.dir.path().join(format!("restore-{name}"));
        assert!(archive::restore(std::slice::from_ref(&path), &into, &f.log_key, &mut |_| {}).is_err());
        assert!(!into.exists(), "{name}: restore wrote {}", into.display());
    }
    // Limits are the caller's to lower.
    let small = ArchiveOptions { pinned_log_key: None, limits: Limits { entries_bytes: 100, member_bytes: 1 << 20 } };
    let failure = archive::verify(std::slice::from_ref(&good), &small, &mut |_| {}).unwrap().unwrap_err();
    assert!(failure.reason.contains("entries.jsonl is") && failure.reason.contains("limit"), "{failure}");
}

/// What a query shows of a record, without what differs between two ledgers made from the same
/// drafts (signatures, salts, hashes, sequencing times).
type Shown = (u64, String, Option<Value>, Option<u64>, Option<String>, String);

fn shown(records: &[RecordView]) -> Vec<Shown> {
    records
        .iter()
        .map(|r| (r.seq, r.kind.clone(), r.body.clone(), r.corrected_by, r.status.clone(), r.date.to_string()))
        .collect()
}

fn answers(queries: &lianlog_ledger::query::Queries<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for person in ["P-00001", "P-DR-0000003", "P-DR-0000010", "P-31337"] {
        out.push(format!("{:?}", shown(&queries.dossier(person).unwrap())));
    }
    let cases: Vec<_> =
        queries.cases(false).unwrap().into_iter().map(|c| (c.family, c.id, c.status, c.open, c.seq, c.state)).collect();
    out.push(format!("{cases:?}"));
    for by in [StatsGrouping::Unit, StatsGrouping::Kind, StatsGrouping::Month] {
        out.push(format!("{:?}", queries.stats(by, None).unwrap()));
    }
    let filter = QueryFilter { kind: Some("accountability.decision".into()), ..QueryFilter::default() };
    out.push(format!("{:?}", shown(&queries.query(&filter).unwrap())));
    let overdue: Vec<_> = queries
        .overdue(lianlog_ledger::Date::parse("2025-09-01").unwrap())
        .unwrap()
        .into_iter()
        .map(|(case, record)| (case.id, record.seq))
        .collect();
    out.push(format!("{overdue:?}"));
    out
}

#[test]
fn as_of_answers_equal_a_ledger_truly_cut_there() {
    let mut full = Fixture::new(0);
    let records: Vec<(&str, Value)> = Workload::new(3).take(160).collect();
    let drafts: Vec<Draft> = records.iter().map(|(kind, body)| Draft::new(*kind, body.clone())).collect();
    full.ledger.append_batch(&drafts, &full.officer).unwrap();
    // A correction after the cut: the past must not see it.
    let target = full
        .ledger
        .queries()
        .query(&QueryFilter { kind: Some("accountability.decision".into()), ..Default::default() })
        .unwrap()[0]
        .clone();
    let mut corrected = target.body.clone().unwrap();
    corrected["measure"] = "notice".into();
    let hash = target.entry_hash.to_hex();
    let correction = Draft::new(
        "correction",
        serde_json::json!({"target": {"seq": target.seq, "hash": hash}, "reason": "处理方式录入错误", "body": corrected}),
    );
    full.ledger.append(&correction, &full.officer).unwrap();

    for cut in [1usize, 57, 100, 160] {
        let mut truly = Fixture::new(0);
        truly.ledger.append_batch(&drafts[..cut], &truly.officer).unwrap();
        let end = truly.ledger.size();
        let past = full.ledger.as_of(end).unwrap();
        assert_eq!(answers(&past.queries(&full.ledger)), answers(&truly.ledger.queries()), "cut after {cut} records");
        assert_eq!(past.registry.keys.len(), truly.ledger.registry().keys.len());
        // Entries after the point are not there.
        assert!(past.queries(&full.ledger).record_view(end).is_err());
    }
    // The present through as_of equals the stored projections.
    let now = full.ledger.as_of(full.ledger.size()).unwrap();
    assert_eq!(answers(&now.queries(&full.ledger)), answers(&full.ledger.queries()));
    // Dates: nothing on the day before genesis, everything by the end of today in China.
    // Today in China (UTC+8), which from 16:00 UTC on is already tomorrow's UTC date.
    let today =
        lianlog_ledger::Timestamp::from_millis(lianlog_ledger::Timestamp::now().as_millis() + 8 * 3600 * 1000).date();
    assert!(full.ledger.entries_until(today).unwrap() >= full.ledger.size() - 1);
    assert_eq!(full.ledger.entries_until(lianlog_ledger::Date::parse("2020-01-01").unwrap()).unwrap(), 0);

    // Archives answer the same, as of any point they hold.
    let paths = vec![full.create(None, true)];
    let loaded = Loaded::open(&paths, &ArchiveOptions::default(), &mut |_| {}).unwrap();
    for end in [50, loaded.size()] {
        let from_archive = loaded.as_of(end).unwrap();
        let from_ledger = full.ledger.as_of(end).unwrap();
        assert_eq!(answers(&from_archive.queries(loaded.lines())), answers(&from_ledger.queries(&full.ledger)));
    }
}

/// The conformance vectors (entry 4's body is redacted by entry 7) split into two archives
/// across the redaction: the redacted line in the first, the redaction in the second. (A ledger
/// cut there no longer opens, its line 4 naming a redaction it does not hold, so the first
/// archive is made from the lines directly, as `create` made it of such a cut.)
#[test]
fn a_redaction_across_archives_is_checked_in_the_sequence() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let keys: Value = serde_json::from_str(&std::fs::read_to_string(vectors.join("keys.json")).unwrap()).unwrap();
    let origin = KeyName::parse(keys["log"]["name"].as_str().unwrap()).unwrap();
    let log_key =
        SecretKey::from_pem(keys["log"]["pkcs8_pem"].as_str().unwrap(), Some(&origin), &mut no_passphrase).unwrap();
    let lines = std::fs::read(vectors.join("ledger.jsonl")).unwrap();
    let cut = lines.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(4).unwrap().0 + 1;
    let dir = tempfile::tempdir().unwrap();
    let ledger_dir = dir.path().join("ledger");
    std::fs::create_dir_all(ledger_dir.join("log")).unwrap();
    std::fs::write(ledger_dir.join("lianlog.json"), format!("{{\"format\":1,\"origin\":\"{origin}\"}}\n")).unwrap();
    log_key.write_new_file(&ledger_dir.join("log-key.pem")).unwrap();
    let segment = ledger_dir.join("log/00000000000000000000.jsonl");
    let out = dir.path().join("archives");
    let options = |since: Option<PathBuf>| CreateOptions { out_dir: out.clone(), since, zstd_level: None };
    let split: Vec<Vec<u8>> =
        lines[..cut].split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
    assert_eq!(split.len(), 5);
    let first = forge_archive(origin.as_str(), &split, 0, None, &log_key, &out);
    std::fs::write(&segment, &lines).unwrap();
    let ledger = Ledger::open(&ledger_dir).unwrap();
    assert_eq!(ledger.size(), 8);
    let second = archive::create(&ledger, &log_key, &options(Some(first.clone())), &mut |_| {}).unwrap().path;

    let checkpoint = std::fs::read_to_string(vectors.join("checkpoint")).unwrap();
    let both = verify(&[first.clone(), second.clone()]).unwrap();
    assert_eq!(lianlog_ledger::encoding::base64(&both.root), checkpoint.lines().nth(2).unwrap());
    assert!(both.not_checked.is_empty(), "{:?}", both.not_checked);
    assert_eq!(both.redactions.iter().map(|r| (r.target, r.by, r.applied)).collect::<Vec<_>>(), vec![(4, 7, true)]);
    // Alone, each says what it could not check.
    assert!(verify(std::slice::from_ref(&first)).unwrap().not_checked[0].contains("redacted by seq 7"));
    assert!(verify(std::slice::from_ref(&second)).unwrap().not_checked.iter().any(|n| n.contains("redacts seq 4")));
    // Restored, the ledger verifies as the original does.
    let into = dir.path().join("restored");
    archive::restore(&[first, second], &into, &log_key, &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(into.join("log/00000000000000000000.jsonl")).unwrap(), lines);
}

// ---- one record, one entry, across archives ---------------------------------------------------

/// Merkle nodes of a list of leaves, for proofs made outside a ledger.
#[derive(Default)]
struct Nodes(std::collections::HashMap<(u8, u64), [u8; 32]>);

impl lianlog_ledger::merkle::NodeStore for Nodes {
    type Error = String;
    fn node(&self, level: u8, index: u64) -> Result<[u8; 32], String> {
        self.0.get(&(level, index)).copied().ok_or_else(|| format!("no node ({level}, {index})"))
    }
}

fn sha256_digest(bytes: &[u8]) -> archive::Digest {
    use sha2::Digest as _;
    archive::Digest { bytes: bytes.len() as u64, sha256: sha2::Sha256::digest(bytes).into() }
}

/// An incremental archive of `lines[first..]` continuing `previous`, made outside any ledger
/// (plain tar) and without any check, as a hostile or careless tool could: the manifest, proofs
/// and checkpoint are all genuine for these lines, signed with the log key.
fn forge_incremental(lines: &[Vec<u8>], first: usize, previous: &Path, log_key: &SecretKey, out: &Path) -> PathBuf {
    forge_archive(ORIGIN, lines, first, Some(previous), log_key, out)
}

/// An archive of `lines[first..]` of ledger `origin` (a full one when `previous` is `None`),
/// made as `forge_incremental` says.
fn forge_archive(
    origin: &str,
    lines: &[Vec<u8>],
    first: usize,
    previous: Option<&Path>,
    log_key: &SecretKey,
    out: &Path,
) -> PathBuf {
    use lianlog_ledger::merkle::{self, CompactRange};
    use lianlog_ledger::record::ParsedLine;
    let parsed: Vec<ParsedLine> = lines.iter().map(|l| ParsedLine::parse(l).unwrap()).collect();
    let mut nodes = Nodes::default();
    let mut tree = CompactRange::new();
    let mut start_range = Vec::new();
    for (seq, line) in parsed.iter().enumerate() {
        if seq == first {
            start_range = tree.hashes();
        }
        nodes.0.extend(tree.push(line.entry_hash.0).unwrap());
    }
    let (end, first_u) = (lines.len() as u64, first as u64);
    let mut keys = Vec::new();
    let mut key_lines = Vec::new();
    for (seq, line) in parsed.iter().enumerate().take(first) {
        let kind = &line.line.entry.record.kind;
        if previous.is_some() && (kind == "ledger.genesis" || kind.starts_with("key.")) {
            keys.extend_from_slice(&lines[seq]);
            keys.push(b'\n');
            let proof = merkle::inclusion_proof(seq as u64, first_u, &nodes).unwrap();
            key_lines.push(archive::KeyLine { seq: seq as u64, proof });
        }
    }
    let mut entries = Vec::new();
    for line in &lines[first..] {
        entries.extend_from_slice(line);
        entries.push(b'\n');
    }
    let checkpoint = lianlog_ledger::note::sign_checkpoint(
        &lianlog_ledger::note::Checkpoint { origin: origin.into(), size: end, root: tree.root() },
        log_key,
    )
    .unwrap();
    let previous = previous.map(|previous| archive::Previous {
        checkpoint: archive::read_head(previous).unwrap().unwrap().1,
        consistency: merkle::consistency_proof(first_u, end, &nodes).unwrap(),
        entry: serde_json::from_slice(&parsed[first - 1].entry_bytes).unwrap(),
        entry_proof: merkle::inclusion_proof(first_u - 1, first_u, &nodes).unwrap(),
    });
    let manifest = archive::Manifest {
        tool: archive::TOOL.into(),
        origin: origin.into(),
        first_seq: first_u,
        end,
        root: tree.root(),
        start_range,
        previous,
        key_lines,
        checkpoint: sha256_digest(checkpoint.as_bytes()),
        keys: sha256_digest(&keys),
        entries: sha256_digest(&entries),
        first_time: parsed[first].line.entry.time,
        last_time: parsed.last().unwrap().line.entry.time,
    };
    let mtime = u64::try_from(manifest.last_time.as_millis() / 1000).unwrap();
    let mut tar = Vec::new();
    ustar::write_member(&mut tar, "manifest.json", mtime, &manifest.to_bytes().unwrap()).unwrap();
    ustar::write_member(&mut tar, "checkpoint", mtime, checkpoint.as_bytes()).unwrap();
    ustar::write_member(&mut tar, "keys.jsonl", mtime, &keys).unwrap();
    ustar::write_member(&mut tar, "entries.jsonl", mtime, &entries).unwrap();
    ustar::write_end(&mut tar).unwrap();
    std::fs::create_dir_all(out).unwrap();
    let path = out.join(archive::file_name(origin, first_u, end, false));
    std::fs::write(&path, tar).unwrap();
    path
}

/// A stored line that replays the record of `original` (its record, signature, salt and body,
/// all genuine) as entry `seq`, chained to `prev`.
fn replay_line(original: &[u8], seq: u64, prev: &[u8]) -> Vec<u8> {
    use lianlog_ledger::record::{Entry, ParsedLine, StoredLine};
    let original = ParsedLine::parse(original).unwrap();
    let before = ParsedLine::parse(prev).unwrap();
    let entry = Entry {
        seq,
        prev: before.entry_hash,
        time: lianlog_ledger::Timestamp::now().max(before.line.entry.time),
        record: original.line.entry.record.clone(),
        sig: original.line.entry.sig.clone(),
    };
    let mut line = StoredLine { entry, body: original.line.body }.to_line().unwrap();
    line.pop();
    line
}

fn last_segment(ledger_dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(ledger_dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

/// A copy of an earlier record appended in a later range: one record may be one entry only, so
/// the sequence (and restore and queries, which verify it) refuses the later archive, although
/// each archive alone is authentic; alone, the incremental says it could not check this. And
/// `create --since` refuses to seal such a range, from the ids of the entries before it.
#[test]
fn a_record_replayed_across_archives_is_refused() {
    let mut f = Fixture::new(10);
    let full = f.create(None, false);
    let n = f.ledger.size() as usize;
    f.add(3);
    let genuine = f.create(Some(&full), false);
    let lines: Vec<Vec<u8>> = f.ledger.raw_lines_from(0).unwrap().map(Result::unwrap).collect();
    // The control: made outside the ledger from the same lines, it is the archive `create` made.
    let forged_dir = f.dir.path().join("forged");
    let control = forge_incremental(&lines, n, &full, &f.log_key, &forged_dir.join("control"));
    assert_eq!(std::fs::read(&control).unwrap(), std::fs::read(&genuine).unwrap());

    // Entry n replays the record of seq 5 (a workload record in the full archive).
    let mut replayed: Vec<Vec<u8>> = lines[..n].to_vec();
    replayed.push(replay_line(&lines[5], n as u64, &lines[n - 1]));
    let inc = forge_incremental(&replayed, n, &full, &f.log_key, &forged_dir);
    let failure = refused(&[full.clone(), inc.clone()], &inc, "the record of seq 5 appears again");
    assert_eq!(failure.seq, Some(n as u64), "{failure}");
    // In any order.
    refused(&[inc.clone(), full.clone()], &inc, "the record of seq 5 appears again");
    // Alone, the incremental is authentic, and says what it could not check.
    let alone = verify(std::slice::from_ref(&inc)).unwrap();
    assert!(alone.not_checked.iter().any(|n| n.contains("replayed records")), "{:?}", alone.not_checked);
    // Queries and restores verify the sequence first: refused, nothing written.
    let err = Loaded::open(&[full.clone(), inc.clone()], &ArchiveOptions::default(), &mut |_| {}).err().unwrap();
    assert!(err.message().contains("appears again"), "{err}");
    let into = f.dir.path().join("never");
    let err = archive::restore(&[full.clone(), inc.clone()], &into, &f.log_key, &mut |_| {}).unwrap_err();
    assert!(err.message().contains("appears again"), "{err}");
    assert!(!into.exists());

    // The ledger itself: the copy appended to its log behind its back. Either opening it
    // refuses the line, or `create --since` does, from the record ids of the entries before
    // the range (which the range's own verification cannot see).
    let Fixture { dir, ledger, log_key, .. } = f;
    let size = ledger.size();
    drop(ledger);
    let ledger_dir = dir.path().join("ledger");
    let copy = replay_line(&lines[5], size, lines.last().unwrap());
    let mut file = std::fs::OpenOptions::new().append(true).open(last_segment(&ledger_dir)).unwrap();
    std::io::Write::write_all(&mut file, &[copy.as_slice(), b"\n"].concat()).unwrap();
    file.sync_all().unwrap();
    let options =
        CreateOptions { out_dir: dir.path().join("archives"), since: Some(genuine.clone()), zstd_level: None };
    let refusal =
        Ledger::open(&ledger_dir).and_then(|ledger| archive::create(&ledger, &log_key, &options, &mut |_| {}));
    let Err(err) = refusal else { panic!("the replayed record must be refused") };
    assert!(err.message().contains("appears again"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path().join("archives")).unwrap().count(), 2, "nothing new was written");
}

// ---- redactions found later in the chain ------------------------------------------------------

const MARKER: &str = "被删除的谈话理由-MARKER-7f3a";

fn marked_interview() -> Draft {
    Draft::new(
        "interview",
        serde_json::json!({
            "interview_type": "reminder",
            "subjects": [{"id": "P-1001", "name": "张三", "unit": "市住建局"}],
            "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
            "held_on": "2025-03-10",
            "reason": MARKER,
        }),
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (recursively) that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for item in std::fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if contains(&std::fs::read(&path).unwrap(), needle) {
            found.push(path);
        }
    }
    found
}

/// A full archive, then a redaction, then an incremental archive: the full archive still holds
/// the body. Verify says so (a warning: the archives are authentic); restore and queries apply
/// the redaction found later in the chain (the restored log is the live log, byte for byte);
/// `archive::redact` writes a copy of the full archive without the body, checked in sequence.
#[test]
fn a_body_redacted_after_an_archive_stays_removed() {
    let mut f = Fixture::new(6);
    let target = f.ledger.append(&marked_interview(), &f.officer).unwrap().seq;
    f.add(2);
    let full = f.create(None, true);
    let replacement = serde_json::json!({
        "interview_type": "reminder",
        "subjects": [{"id": "P-1001", "name": "张三", "unit": "市住建局"}],
        "interviewers": [{"id": "P-0101", "name": "钱干事", "unit": "第一监督检查室"}],
        "held_on": "2025-03-10",
        "reason": "（已删除）",
    });
    let replacing = lianlog_ledger::ledger::Replacement { body: replacement.clone(), officer: &f.officer };
    let by = f.ledger.redact(target, "依申请删除", Some(replacing), &f.admin).unwrap().by;
    f.add(2);
    let inc = f.create(Some(&full), true);
    let paths = vec![full.clone(), inc.clone()];
    let live: Vec<Vec<u8>> = f.ledger.raw_lines_from(0).unwrap().map(Result::unwrap).collect();
    assert!(!live.iter().any(|l| contains(l, MARKER.as_bytes())), "the live log holds no copy");

    let report = verify(&paths).unwrap();
    assert_eq!(
        report.stale_bodies,
        vec![archive::StaleBody { archive: full.clone(), seq: target, by, by_archive: inc.clone() }]
    );

    // Restored: the redacted line form, byte for byte the live log; nowhere the body.
    let into = f.dir.path().join("restored");
    archive::restore(&paths, &into, &f.log_key, &mut |_| {}).unwrap();
    let restored = Ledger::open(&into).unwrap();
    let lines: Vec<Vec<u8>> = restored.raw_lines_from(0).unwrap().map(Result::unwrap).collect();
    assert_eq!(lines, live);
    restored.verify(VerifyOptions::default()).unwrap().unwrap();
    let view = restored.queries().record_view(target).unwrap();
    assert_eq!((view.redacted_by, view.body.as_ref()), (Some(by), Some(&replacement)));
    assert_eq!(restored.dossier("P-1001").unwrap(), f.ledger.dossier("P-1001").unwrap());
    drop(restored);
    assert_eq!(files_holding(&into, MARKER.as_bytes()), Vec::<PathBuf>::new());

    // Queried: the replacement, never the removed body; the same answers as the live ledger.
    let loaded = Loaded::open(&paths, &ArchiveOptions::default(), &mut |_| {}).unwrap();
    for seq in 0..loaded.size() {
        assert_eq!(loaded.line(seq).unwrap().line, f.ledger.read(seq).unwrap().line, "seq {seq}");
    }
    let past = loaded.as_of(loaded.size()).unwrap();
    let queries = past.queries(loaded.lines());
    assert_eq!(queries.record_view(target).unwrap().body, Some(replacement.clone()));
    assert_eq!(shown(&queries.dossier("P-1001").unwrap()), shown(&f.ledger.dossier("P-1001").unwrap()));
    assert!(!format!("{:?}", queries.dossier("P-1001").unwrap()).contains(MARKER));
    assert_eq!(answers(&queries), answers(&f.ledger.queries()));

    // Rewritten: a new full archive without the body; the old one is left alone.
    let out = f.dir.path().join("rewritten");
    let (_, rewritten) = archive::redact(&paths, &out, &ArchiveOptions::default(), &mut |_| {}).unwrap().unwrap();
    assert_eq!(rewritten.len(), 1);
    assert_eq!((&rewritten[0].from, &rewritten[0].removed), (&full, &vec![(target, by)]));
    let new_full = rewritten[0].path.clone();
    assert_eq!(new_full.file_name(), full.file_name());
    assert_eq!(files_holding(&out, MARKER.as_bytes()), Vec::<PathBuf>::new(), "decompressed below");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut zstd::stream::read::Decoder::new(std::fs::File::open(&new_full).unwrap()).unwrap(),
        &mut plain,
    )
    .unwrap();
    assert!(!contains(&plain, MARKER.as_bytes()));
    let again = verify(&[new_full.clone(), inc.clone()]).unwrap();
    assert_eq!((again.root, again.end), (report.root, report.end));
    assert!(again.stale_bodies.is_empty() && again.not_checked.is_empty(), "{:?}", again.not_checked);
    let alone = verify(std::slice::from_ref(&new_full)).unwrap();
    assert!(alone.not_checked.iter().any(|n| n.contains(&format!("redacted by seq {by}"))), "{:?}", alone.not_checked);
    // Nothing left to do, and an existing archive is never replaced.
    let (_, none) = archive::redact(&[new_full.clone(), inc.clone()], &out, &ArchiveOptions::default(), &mut |_| {})
        .unwrap()
        .unwrap();
    assert!(none.is_empty());
    let err = archive::redact(&paths, &out, &ArchiveOptions::default(), &mut |_| {}).unwrap_err();
    assert!(err.message().contains("already exists"), "{err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "no temporary file left");
}

/// `create --since` reads the record ids of the entries before the range from the log's own
/// lines, and those lines must give the tree the previous archive's checkpoint signed: a line
/// before the range altered in the log (behind the derived store, which still has the old
/// hashes) is found, and nothing is archived.
#[test]
fn create_since_refuses_a_log_altered_before_the_range() {
    let mut f = Fixture::new(10);
    let full = f.create(None, false);
    f.add(2);
    let Fixture { dir, ledger, log_key, .. } = f;
    drop(ledger);
    let ledger_dir = dir.path().join("ledger");
    let segment = last_segment(&ledger_dir);
    let mut bytes = std::fs::read(&segment).unwrap();
    // Entry 5's sequencing time, one millisecond later: same length, another entry hash.
    let line_start = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(4).unwrap().0 + 1;
    let line_end = line_start + bytes[line_start..].iter().position(|b| *b == b'\n').unwrap();
    let line = &bytes[line_start..line_end];
    let time = line.windows(8).rposition(|w| w == b"\"time\":\"").unwrap() + line_start + 8;
    let millis = time + "2026-12-03T10:03:19.29".len();
    bytes[millis] = if bytes[millis] == b'0' { b'1' } else { bytes[millis] - 1 };
    std::fs::write(&segment, &bytes).unwrap();
    let options = CreateOptions { out_dir: dir.path().join("archives"), since: Some(full), zstd_level: None };
    let refusal =
        Ledger::open(&ledger_dir).and_then(|ledger| archive::create(&ledger, &log_key, &options, &mut |_| {}));
    let Err(err) = refusal else { panic!("an archive was made of a log altered before its range") };
    assert!(err.message().contains("do not give the tree"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path().join("archives")).unwrap().count(), 1, "nothing new was written");
}
