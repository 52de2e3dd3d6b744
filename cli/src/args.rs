//! Argument parsing (clap derive). Nothing here touches the ledger (`HolderArgs` only converts to the
//! library's `Holder`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// lianlog — tamper-evident ledger of accountability records (纪委监委问责台账).
///
/// Every record is signed by its author's key, hash-chained and kept in an fsync'd append-only
/// log; auditors verify the whole history with `lianlog verify` or with their own tools (see
/// docs/FORMAT.md).
///
/// Exit codes: 0 ok; 1 verification failed (tampering or corruption found); 2 bad input or usage;
/// 3 not authorized (key lacks the role, is revoked or unknown); 4 key file problem; 5 not a
/// ledger (missing directory, newer format); 6 ledger in use by another process (after --wait); 7 I/O error
/// (disk full, permissions, a file of the ledger that is a symbolic link); 8 derived store error
/// (run `lianlog reindex`).
///
/// Files: the ledger directory is created 0700 and every file lianlog writes 0600; no file of
/// the ledger is followed through a symbolic link. Commands that only read change nothing in the
/// log; after a crash, the next command that writes repairs it (saving what it cuts). Output
/// files (--out) are created new and whole; an existing one is refused unless --force.
#[derive(Debug, Parser)]
#[command(name = "lianlog", version, max_term_width = 100)]
pub struct Cli {
    /// Ledger directory.
    #[arg(long, global = true, env = "LIANLOG_LEDGER", default_value = "./lianlog-data")]
    pub ledger: PathBuf,

    /// Print machine-readable JSON instead of tables: one JSON document on standard output, and
    /// an error as {"error":{"code","exit","message"}} on standard error (same exit code).
    #[arg(long, global = true)]
    pub json: bool,

    /// Answer dossier, query, cases, overdue, stats and show from these archives instead of a
    /// ledger (repeatable: the full archive and every incremental after it). They are verified
    /// first and read into memory; nothing is written.
    #[arg(long, value_name = "FILE")]
    pub archive: Vec<PathBuf>,

    /// Work against a lianlog server (`lianlog serve`) instead of a local ledger directory, e.g.
    /// http://127.0.0.1:7878 (连接台账服务). Reads are signed with --identity; appends carry the
    /// record signed on this machine (the key never leaves it).
    #[arg(long, global = true, env = "LIANLOG_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// Your key file (officer, auditor or admin), used to sign requests to --server (RFC 9421
    /// HTTP message signatures); the passphrase is asked for, or read from LIANLOG_PASSPHRASE.
    #[arg(long, global = true, env = "LIANLOG_IDENTITY", value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// The certificate authority (PEM) that signed the certificate of an https:// server, when it
    /// is the commission's own CA rather than a public one.
    #[arg(long, global = true, env = "LIANLOG_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Seconds to wait for another local lianlog process (an import, an append) to release the
    /// ledger before giving up with exit 6 (台账占用). A ledger held by `lianlog serve` is refused
    /// at once: use --server.
    #[arg(long, global = true, env = "LIANLOG_WAIT", value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub wait: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new ledger: generates the log key and appends the genesis entry (台账创建).
    Init(InitArgs),
    /// Make and inspect keys; grant and revoke roles (密钥管理).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Append one record, signed by your key (追加记录). Prints its seq and entry hash. With
    /// --server the record is signed here and sent; the key never leaves this machine.
    #[command(after_help = kinds_help())]
    Append(AppendArgs),
    /// Append many records from JSON Lines `{"kind":…,"body":…}`, all or nothing (批量导入).
    /// With --server the records are signed here and sent as one request.
    Import(ImportArgs),
    /// Show one entry (查看记录).
    Show(ShowArgs),
    /// List entries (记录列表).
    Log(LogArgs),
    /// Verify the whole ledger, or an exported file (完整性校验). Exit code 1 if anything fails.
    /// With --server URL: fetch the server's checkpoint, tlog-tiles entry bundles and hash tiles
    /// and verify everything here, trusting nothing the server says (docs/AUDITING.md).
    Verify(VerifyArgs),
    /// Write every stored line as JSON Lines (format-v1 section 10) (导出).
    Export(ExportArgs),
    /// Remove a record's body for privacy, keeping every hash, signature and proof (内容删除).
    /// Appends a ledger.redact entry (admin key) and removes the body from every file.
    Redact(RedactArgs),
    /// Write a disclosure package: every record concerning a person, other people masked, with
    /// proofs, signed by the issuing officer (个人信息披露).
    Disclose(DiscloseArgs),
    /// Print a checkpoint signed by the log key, or cosign one (检查点). The log key
    /// (`log-key.pem`) must be the one the genesis entry names; another is refused (exit 1).
    Checkpoint(CheckpointArgs),
    /// Upgrade receipts (回执升级): prove the same entries against a newer, witnessed checkpoint.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Print Merkle proofs: inclusion of an entry, consistency of two tree sizes (证明).
    #[command(subcommand)]
    Prove(ProveCommand),
    /// Check proofs offline, without a ledger (离线核验).
    #[command(subcommand)]
    Check(CheckCommand),
    /// Rebuild the derived store (indexes, tree, registry) from the log (重建索引).
    Reindex,
    /// Rebuild every projection from seq 0 and check it equals the stored one (重放校验).
    Replay,
    /// A person's integrity file: every record naming them, in event-date order — the date each
    /// record is about; seq breaks ties (廉政档案).
    Dossier(DossierArgs),
    /// Records matching filters, in event-date order; seq breaks ties (记录查询).
    Query(QueryArgs),
    /// Reports, decisions, appeals, rectifications, supervision orders and letter inquiries with
    /// their status (案件状态).
    Cases(CasesArgs),
    /// Open rectification items past their due date, supervision orders past their deadline and
    /// letter inquiries unanswered past their reply date (逾期事项).
    Overdue(OverdueArgs),
    /// Counts for the annual assessment, by the date each record is about (统计); with
    /// --assessments, the units' assessments (考核评价).
    Stats(StatsArgs),
    /// Draft the integrity opinion (廉政意见) about a person for a promotion, appointment or
    /// award: open clues, collective decisions not yet in effect, decisions in effect with their
    /// influence periods (影响期), clarifications — with a receipt (inclusion proof) for every
    /// record it cites. With --issue, append it as an opinion.issued record. Local ledger only.
    Opinion(OpinionArgs),
    /// Build a demonstration ledger in ./lianlog-demo and tell its story (演示).
    Demo(DemoArgs),
    /// Archives: create, verify, restore, redact, list (快照归档). See docs/ARCHIVING.md.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Measure this machine's limits, then the ledger's speed on a fresh ledger of generated
    /// records: import, appends, verify, replay, queries, proofs, snapshots, memory and disk
    /// (性能基准). Progress on stderr; one table (or --json) on stdout. See docs/PERFORMANCE.md.
    Bench(BenchArgs),
    /// Serve this ledger to the commission over HTTP (台账服务): officers append records signed
    /// on their own machines (`--server`), auditors and witnesses read the log as C2SP
    /// tlog-tiles, authenticated reads for the rest. Prints `listening on ADDR` first; stops
    /// after finishing the groups in flight on SIGTERM or Ctrl-C. See docs/OPERATIONS.md.
    Serve(ServeArgs),
    /// Sign in to a server's web pages (网页登录) without a password: signs a one-time challenge
    /// of --server with your key and prints a one-time URL that opens a browser session (usable
    /// once, for 5 minutes; the session lasts `serve --session-hours` and ends when the key is
    /// revoked). Auditors' sessions see no body text. See docs/OFFICERS.md, "Web pages".
    Login(LoginArgs),
    /// Monitor a served log (监测): fetch its checkpoint, check it is signed by the log key and
    /// extends the last one this monitor verified, from hash tiles only (no entries, no bodies:
    /// no key needed), and keep it. A rollback, a split view (two signed histories), tiles that
    /// do not match the signed root, or a witness cosigning two roots for one size is reported
    /// loudly and its evidence — both signed checkpoints and a README.txt — kept in
    /// STATE/evidence/ for the upper-level commission (上级纪委监委). With --once: exit 1 on any
    /// of these. Needs --server. See docs/AUDITING.md, section 7.
    Monitor(MonitorArgs),
    /// Witness other logs (见证方: upper-level commission, audit office, archive office): serve
    /// C2SP tlog-witness, cosigning only checkpoints consistent with all it cosigned before.
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// Print a completion script for a shell (命令补全): bash, zsh, fish, powershell or elvish.
    ///
    /// Install: `lianlog completions bash > ~/.local/share/bash-completion/completions/lianlog`
    /// (zsh: a file `_lianlog` in a directory of $fpath; fish: ~/.config/fish/completions/lianlog.fish).
    Completions(CompletionsArgs),
    /// Write the manual pages (使用手册), one per command: lianlog.1, lianlog-key-new.1, …
    ///
    /// Install: `lianlog man --dir ~/.local/share/man/man1` (or /usr/local/share/man/man1), then `man lianlog`.
    Man(ManArgs),
    /// List the record kinds (记录类型): Chinese and English labels, schema versions, the event-date
    /// field, the lifecycle rule; with KIND, its fields per version. `--json` adds a JSON Schema
    /// (draft 2020-12) per kind version, so that other systems validate bodies without lianlog.
    /// See docs/RECORDS.md.
    Kinds(KindsArgs),
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write an archive of the ledger: a full one from seq 0, or with --since an incremental one
    /// that continues an earlier archive. The range is verified first; the file is written under
    /// a temporary name, fsync'd and renamed. Needs the log key (it signs the archive's
    /// checkpoint; it is never put in the archive).
    Create {
        /// Directory to write the archive to (created if missing).
        #[arg(long, default_value = ".", value_name = "DIR")]
        out: PathBuf,
        /// The archive to continue: a file, or `latest` for the newest archive of this ledger in
        /// --out DIR.
        #[arg(long, value_name = "PREV_ARCHIVE")]
        since: Option<String>,
        /// Do nothing (exit 0) unless the ledger grew by at least N entries since the newest
        /// archive in --out DIR: for timers.
        #[arg(long, value_name = "N")]
        if_grown: Option<u64>,
        /// Write a plain .tar instead of .tar.zst.
        #[arg(long)]
        no_compress: bool,
        /// zstd compression level (1-22): 19 makes archives about 10% smaller and is much slower.
        #[arg(long, default_value_t = lianlog_ledger::archive::DEFAULT_LEVEL, value_parser = clap::value_parser!(i32).range(1..=22))]
        level: i32,
    },
    /// Verify archives without a ledger: each alone (digests, chain, signatures, authorization,
    /// Merkle root against its signed checkpoint) and as one sequence (same ledger, no gap,
    /// consistency proofs). Exit code 1 names the archive, the seq and the reason.
    Verify {
        /// The archives, in any order (they are put in seq order).
        #[arg(required = true, value_name = "ARCHIVE")]
        archives: Vec<PathBuf>,
        /// The expected log key (vkey); without it the log key comes from genesis in the first
        /// archive, and the output says so.
        #[arg(long)]
        vkey: Option<String>,
        /// A checkpoint kept apart from the archives (repeatable), e.g. an archive's own
        /// checkpoint once the witnesses cosigned it (`lianlog checkpoint cosign`): it must be
        /// signed by the log key and sign the root of an archive given that ends at its size.
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
        /// A witness's cosigner vkey (type 0x04, from `lianlog key show --cosigner`; repeatable;
        /// alias --cosigner): every --checkpoint must carry the valid cosignatures of all the
        /// named witnesses, or of --witness-quorum of them, or verification fails (exit 1).
        #[arg(long = "witness", visible_alias = "cosigner", value_name = "VKEY", requires = "checkpoint")]
        cosigner: Vec<String>,
        /// How many of the named witnesses must have cosigned each --checkpoint (default: all of
        /// them); between 1 and the number of witnesses. The output names the witnesses that did.
        #[arg(long, value_name = "K", requires = "cosigner")]
        witness_quorum: Option<usize>,
    },
    /// Verify the archives, then rebuild a working ledger from them in a new directory.
    Restore {
        /// The full archive and every incremental after it.
        #[arg(required = true, value_name = "ARCHIVE")]
        archives: Vec<PathBuf>,
        /// The new ledger directory (must not exist or be empty).
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
        /// The ledger's log key file (from your key backup): genesis must name it.
        #[arg(long, value_name = "FILE")]
        log_key: PathBuf,
    },
    /// Rewrite archives that still hold bodies which a later archive of the sequence redacts
    /// (`snapshot verify` warns of them): verify the sequence, write in --out DIR a new copy of
    /// each such archive with those bodies removed (same checkpoint, proofs and entry hashes; no
    /// key needed), verify the new sequence, then rename the new files into place. Nothing is
    /// overwritten; destroy the old archives, and every copy of them, yourself.
    Redact {
        /// The archives, in any order: the one holding the body and the one holding its
        /// `ledger.redact` entry must both be given (best: the whole sequence).
        #[arg(required = true, value_name = "ARCHIVE")]
        archives: Vec<PathBuf>,
        /// Directory for the new archives (created if missing; an existing file is never
        /// replaced, so it must not hold archives of the same ranges: not the old directory).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The expected log key (vkey), as for `snapshot verify`.
        #[arg(long)]
        vkey: Option<String>,
    },
    /// List the archives in a directory, their ranges, and whether they form an unbroken
    /// sequence (from their manifests; `snapshot verify` checks their contents).
    List {
        /// The directory of archives.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct HolderArgs {
    /// Name of the key's holder (持有人姓名).
    #[arg(long)]
    pub holder_name: String,
    /// Unit of the key's holder (所在单位).
    #[arg(long)]
    pub holder_unit: String,
    /// Title of the key's holder (职务), optional.
    #[arg(long)]
    pub holder_title: Option<String>,
}

impl From<HolderArgs> for lianlog_ledger::Holder {
    fn from(args: HolderArgs) -> Self {
        lianlog_ledger::Holder { name: args.holder_name, unit: args.holder_unit, title: args.holder_title }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The ledger's origin, e.g. jw.example.gov.cn/accountability (also the log key's name).
    #[arg(long)]
    pub origin: String,
    /// The first admin's private key file.
    #[arg(long)]
    pub key: PathBuf,
    #[command(flatten)]
    pub holder: HolderArgs,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new private key file (mode 0600) and print its verifier key (vkey).
    New {
        /// The key's name, e.g. officer.qian (printable ASCII, no spaces or '+').
        name: String,
        /// Where to write the private key; an existing file is never replaced.
        #[arg(long)]
        out: PathBuf,
        /// Encrypt the key file with a passphrase (PKCS#8 PBES2: scrypt and AES-256-CBC, which
        /// `openssl pkey` reads), taken from LIANLOG_PASSPHRASE or asked twice on a terminal. The
        /// passphrase must have at least 12 characters and about 50 bits of strength.
        #[arg(long)]
        encrypt: bool,
        /// Accept a passphrase weaker than the minimum (e.g. in a test set-up).
        #[arg(long, requires = "encrypt")]
        weak_passphrase_ok: bool,
    },
    /// Copy the ledger's log key (which signs checkpoints) to a new file, for a backup: the only
    /// way the log key leaves the ledger directory. Written 0600, never replacing a file.
    ExportLogKey {
        /// Where to write the copy; an existing file is never replaced.
        #[arg(long)]
        out: PathBuf,
        /// Encrypt the copy with a passphrase (LIANLOG_PASSPHRASE or asked twice on a terminal) of
        /// at least 12 characters and about 50 bits of strength.
        #[arg(long)]
        encrypt: bool,
        /// Accept a passphrase weaker than the minimum.
        #[arg(long, requires = "encrypt")]
        weak_passphrase_ok: bool,
    },
    /// Print the verifier key (vkey) of a private key file.
    Show {
        /// The private key file.
        file: PathBuf,
        /// Print the key's cosigner vkey (type 0x04, C2SP tlog-cosignature) instead.
        #[arg(long)]
        cosigner: bool,
    },
    /// Grant roles to a key (key.grant), signed by an admin.
    Grant {
        /// The verifier key to grant, as printed by `lianlog key new`.
        vkey: String,
        /// Roles: admin, officer, auditor (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<String>,
        #[command(flatten)]
        holder: HolderArgs,
        /// The admin's private key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Revoke a key (key.revoke), signed by an admin. Revocation is final.
    Revoke {
        /// The key's identity (name+HEXID) or vkey.
        // Its own id: the global `--identity FILE` (a path) has the id `identity`.
        #[arg(id = "revoked_identity", value_name = "IDENTITY")]
        identity: String,
        /// Why the key is revoked.
        #[arg(long)]
        reason: String,
        /// The admin's private key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// List the keys of the ledger, their roles and status.
    List,
}

/// The record kinds with their Chinese labels, for `append --help`: generated from the one kind
/// registry (`schema::KINDS`), so the help never lists a kind the ledger does not know.
fn kinds_help() -> String {
    let mut text = String::from(
        "Record kinds (give the kind or its Chinese label, e.g. `lianlog append 约谈`; the fields of \
         each are in docs/RECORDS.md):\n",
    );
    for spec in lianlog_ledger::schema::record_kinds() {
        text.push_str(&format!("  {:<26}{}  {}\n", spec.name, spec.label_zh, spec.label_en));
    }
    text
}

#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The record kind, e.g. interview, report.received, or its Chinese label (约谈): see the
    /// list below.
    pub kind: String,
    /// The author's private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The JSON body: a file, or - for standard input (the default).
    #[arg(long, default_value = "-")]
    pub body: String,
    /// Keep the append's receipt (回执) in FILE (a new file; JSON Lines): the entry and its
    /// inclusion proof against a checkpoint signed by the log key, to show later that the ledger
    /// accepted the record. Check it offline with `lianlog check inclusion --receipt FILE --vkey
    /// LOGKEY`. With --server the server's receipt is kept; locally the log key signs one.
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// JSON Lines file of {"kind":…,"body":…} objects, or - for standard input.
    pub file: String,
    /// The author's private key file (signs every record).
    #[arg(long)]
    pub key: PathBuf,
    /// Keep the receipts (回执) of the imported records in FILE (a new file; JSON Lines, one per
    /// record, in order). Check them offline with `lianlog check inclusion --receipt FILE --vkey
    /// LOGKEY`.
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// Import in batches of N records (分批导入), each all or nothing and written before the
    /// next (locally, the next batch is signed while one is written: faster, and N records at a
    /// time are checked and held for the store). A refused record stops the import after the
    /// batches before it, which stay imported: the error says how many, and from which record to
    /// import again once it is corrected (a failed write says how to see whether its batch is in).
    /// Without --batch the whole file is one batch: all or nothing.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=lianlog_ledger::limits::MAX_BATCH as u64))]
    pub batch: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The entry's seq.
    pub seq: u64,
    /// Print the exact entry bytes (what is hashed), for offline checks.
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// Answer as the ledger stood after entry SEQ, or at the end of DATE (YYYY-MM-DD) in China
    /// (UTC+8): the state is replayed in memory; the stored projections are untouched.
    #[arg(long, value_name = "SEQ|DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// First seq to list.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Most entries to list (0: all); a line says how many follow.
    #[arg(long, default_value_t = lianlog_ledger::query::DEFAULT_LIMIT)]
    pub limit: u64,
    /// Entries to skip after --from (the next page: --offset 50).
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// List the last N entries instead (the newest, in seq order).
    #[arg(long, value_name = "N", conflicts_with_all = ["from", "offset", "limit"], value_parser = clap::value_parser!(u64).range(1..))]
    pub last: Option<u64>,
}

/// `--limit`/`--offset` of a listing: which page of a long answer to show.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Most items to show (0: all); a line (with --json, "more") says how many follow.
    #[arg(long, default_value_t = lianlog_ledger::query::DEFAULT_LIMIT)]
    pub limit: u64,
    /// Items to skip first (the next page: --offset 50).
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
}

impl From<&PageArgs> for lianlog_ledger::query::Page {
    fn from(args: &PageArgs) -> Self {
        lianlog_ledger::query::Page { offset: args.offset, limit: args.limit }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify this exported file (JSON Lines) instead of the ledger directory; needs no ledger.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// The expected log key (vkey); without it the log key is taken from the genesis entry.
    #[arg(long)]
    pub vkey: Option<String>,
    /// An archived checkpoint the ledger must still contain (repeatable): a ledger rewritten or
    /// truncated behind it fails.
    #[arg(long)]
    pub checkpoint: Vec<PathBuf>,
    /// A witness's cosigner vkey (type 0x04, from `lianlog key show --cosigner`; repeatable; alias
    /// --cosigner): every --checkpoint — and with --server the server's checkpoint — must carry
    /// the valid cosignatures of all the named witnesses, or of --witness-quorum of them, or
    /// verification fails (exit 1).
    #[arg(long = "witness", visible_alias = "cosigner", value_name = "VKEY")]
    pub cosigner: Vec<String>,
    /// How many of the named witnesses must have cosigned each --checkpoint (and the server's)
    /// (default: all of them); between 1 and the number of witnesses. The output names the
    /// witnesses that did.
    #[arg(long, value_name = "K", requires = "cosigner")]
    pub witness_quorum: Option<usize>,
    /// Verify the log segments alone, streaming in bounded memory, without opening or checking
    /// the derived store (what an auditor with a copy of `log/` does; works on a read-only copy
    /// and while another process holds the ledger).
    #[arg(long, conflicts_with = "file")]
    pub log_only: bool,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The log key (vkey) of the ledger served at --server (from its operator, or the `log_key`
    /// of `lianlog verify --json`): every checkpoint must be signed by it.
    #[arg(long)]
    pub vkey: String,
    /// The monitor's state directory (created 0700 if missing): the last verified checkpoint,
    /// what each witness was seen cosigning, and evidence/. One monitor per directory and log.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// A witness's cosigner vkey (type 0x04; repeatable): its cosignatures are checked and
    /// remembered, so that a witness cosigning two roots for one size is caught; the output
    /// names who cosigned each checkpoint.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witness: Vec<String>,
    /// Seconds between checks when running continuously.
    #[arg(long, value_name = "S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Check once and exit: 0 when the checkpoint verified, 1 on misbehaviour (evidence kept),
    /// other codes when the server could not be read. Without it, check every --interval seconds
    /// until stopped, printing a loud line per problem and going on.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this new file (mode 0600) instead of standard output: written whole under a
    /// temporary name, then renamed. An existing file is refused unless --force.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing --out file (whole; a symbolic link there is replaced, never followed).
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Withhold every body outside ledger.* and key.* (for outside auditors). Format v1 keeps the
    /// key registry (holders, revocation reasons) and redactions (reasons; replacements written
    /// before they moved into corrections) in every export: docs/PRIVACY.md.
    #[arg(long)]
    pub without_bodies: bool,
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// The seq of the record whose body is removed.
    pub seq: u64,
    /// Why (recorded in the ledger, shown wherever the record is shown).
    #[arg(long)]
    pub reason: String,
    /// The admin's private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// A replacement body without the sensitive parts (JSON file), used by queries and statistics.
    /// It is written as a `correction` of the record, in the same batch as the redaction, so that
    /// exports without bodies withhold it.
    #[arg(long)]
    pub replacement: Option<PathBuf>,
    /// The officer's key that signs the replacement (a correction needs the officer role);
    /// default: --key.
    #[arg(long, requires = "replacement")]
    pub replacement_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiscloseArgs {
    /// The person's id.
    pub person_id: String,
    /// Where to write the package: a new file (mode 0600), written whole under a temporary
    /// name, then renamed. An existing file is refused unless --force.
    #[arg(long)]
    pub out: PathBuf,
    /// The issuing officer's or admin's key file: it signs the package (masked bodies and reduced
    /// key lines cannot be proven by the ledger, so the issuer attests them).
    #[arg(long)]
    pub key: PathBuf,
    /// Prove the records against this checkpoint (e.g. one witnesses cosigned, so that the person
    /// can require their cosignatures) instead of a fresh one; it must cover the whole ledger.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Replace an existing --out file (whole; a symbolic link there is replaced, never followed).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CheckpointArgs {
    /// Tree size to sign (default: the whole ledger).
    #[arg(long)]
    pub size: Option<u64>,
    #[command(subcommand)]
    pub command: Option<CheckpointCommand>,
}

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Cosign a checkpoint file as a witness (见证) and print it with the C2SP tlog-cosignature v1
    /// line added; needs no ledger. The same rule as `witness serve`: the log key must have signed
    /// it, and it must extend what this key cosigned before (remembered in --state).
    Cosign(CosignArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProveCommand {
    /// A C2SP tlog-proof v1 bundle proving that entry SEQ is in the tree (with a signed checkpoint).
    Inclusion {
        /// The entry's seq.
        seq: u64,
        /// Tree size to prove against (default: the whole ledger).
        #[arg(long)]
        size: Option<u64>,
    },
    /// The RFC 9162 consistency proof from tree size OLD to NEW (base64 lines).
    Consistency {
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check that an entry is in the ledger: a tlog-proof bundle against its signed checkpoint,
    /// or every receipt of a receipt file (`append`/`import --receipt`).
    Inclusion {
        /// The proof bundle (from `lianlog prove inclusion`).
        #[arg(required_unless_present = "receipt", conflicts_with = "receipt", requires = "entry")]
        proof: Option<PathBuf>,
        /// The entry: its exact bytes (`lianlog show SEQ --raw`) or its stored line.
        #[arg(long, conflicts_with = "receipt")]
        entry: Option<PathBuf>,
        /// A receipt file (from `append --receipt` or `import --receipt`) instead of a proof and
        /// an entry: each receipt's entry, hash and proof are checked.
        #[arg(long, value_name = "FILE")]
        receipt: Option<PathBuf>,
        /// The ledger's log key (vkey).
        #[arg(long)]
        vkey: String,
        /// A witness's cosigner vkey (type 0x04, from `lianlog key show --cosigner`; repeatable;
        /// alias --cosigner): the bundle's checkpoint must carry the valid cosignatures of all the named
        /// witnesses, or of --witness-quorum of them, or the check fails (exit 1).
        #[arg(long = "witness", visible_alias = "cosigner", value_name = "VKEY")]
        cosigner: Vec<String>,
        /// How many of the named witnesses must have cosigned (default: all of them); between 1
        /// and the number of witnesses. The output names the witnesses that did.
        #[arg(long, value_name = "K", requires = "cosigner")]
        witness_quorum: Option<usize>,
    },
    /// Check a disclosure package offline: proofs, signatures, the issuer's signature, and that every
    /// record concerns the person and shows nobody else unmasked.
    Disclosure {
        /// The package (from `lianlog disclose`).
        file: PathBuf,
        /// The ledger's log key (vkey).
        #[arg(long)]
        vkey: String,
        /// A witness's cosigner vkey (type 0x04, from `lianlog key show --cosigner`; repeatable;
        /// alias --cosigner): the package's checkpoint must carry the valid cosignatures of all the named
        /// witnesses, or of --witness-quorum of them, or the check fails (exit 1).
        #[arg(long = "witness", visible_alias = "cosigner", value_name = "VKEY")]
        cosigner: Vec<String>,
        /// How many of the named witnesses must have cosigned (default: all of them); between 1
        /// and the number of witnesses. The output names the witnesses that did.
        #[arg(long, value_name = "K", requires = "cosigner")]
        witness_quorum: Option<usize>,
    },
    /// Check that a newer checkpoint extends an older one (nothing rewritten or removed between).
    Consistency {
        /// The consistency proof (from `lianlog prove consistency`).
        proof: PathBuf,
        /// The older checkpoint file.
        #[arg(long)]
        old: PathBuf,
        /// The newer checkpoint file.
        #[arg(long)]
        new: PathBuf,
        /// The ledger's log key (vkey).
        #[arg(long)]
        vkey: String,
        /// A witness's cosigner vkey (type 0x04, from `lianlog key show --cosigner`; repeatable;
        /// alias --cosigner): both checkpoints must carry the valid cosignatures of all the named
        /// witnesses, or of --witness-quorum of them, or the check fails (exit 1).
        #[arg(long = "witness", visible_alias = "cosigner", value_name = "VKEY")]
        cosigner: Vec<String>,
        /// How many of the named witnesses must have cosigned (default: all of them); between 1
        /// and the number of witnesses. The output names the witnesses that did.
        #[arg(long, value_name = "K", requires = "cosigner")]
        witness_quorum: Option<usize>,
    },
}

#[derive(Debug, Args)]
pub struct DossierArgs {
    /// The person's id, e.g. P-1001.
    pub person_id: String,
    #[command(flatten)]
    pub page: PageArgs,
    /// Answer as the ledger stood after entry SEQ, or at the end of DATE (YYYY-MM-DD) in China
    /// (UTC+8): the state is replayed in memory; the stored projections are untouched.
    #[arg(long, value_name = "SEQ|DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct OpinionArgs {
    /// The person's id, e.g. P-1001.
    pub person_id: String,
    /// Why the opinion is asked (征求事由), e.g. 拟提拔任用.
    #[arg(long)]
    pub purpose: String,
    /// Who asks for it (征求意见单位), e.g. 市委组织部.
    #[arg(long, value_name = "UNIT")]
    pub requested_by: String,
    /// The day the opinion speaks for (YYYY-MM-DD, China time; default today): the ledger as it
    /// stood at the end of that day, influence periods taken on that day.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Keep the receipts of the cited records in FILE (a new file; JSON Lines): each record's
    /// inclusion proof against a checkpoint the log key signs now. Check them offline with
    /// `lianlog check inclusion --receipt FILE --vkey LOGKEY`.
    #[arg(long, value_name = "FILE")]
    pub receipts: Option<PathBuf>,
    /// Issue the opinion: append an opinion.issued record (who asked, purpose, conclusion, the
    /// cited entries and the checkpoint) signed by --by.
    #[arg(long, requires = "by")]
    pub issue: bool,
    /// The issuing officer's private key file (with --issue).
    #[arg(long, value_name = "KEY", requires = "issue")]
    pub by: Option<PathBuf>,
    /// The opinion's id (with --issue; default YJ-<as-of>-<ledger size>).
    #[arg(long, requires = "issue")]
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Only this kind, e.g. accountability.decision.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only records naming this person id.
    #[arg(long)]
    pub person: Option<String>,
    /// Only records about this unit (a subject's unit or an organisation's name).
    #[arg(long)]
    pub unit: Option<String>,
    /// Only records whose date is on or after this day (YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<String>,
    /// Only records whose date is on or before this day (YYYY-MM-DD).
    #[arg(long)]
    pub until: Option<String>,
    /// Only records whose text contains every one of these words (`--text 工程 招标`).
    #[arg(long, num_args = 1.., value_name = "WORD")]
    pub text: Vec<String>,
    #[command(flatten)]
    pub page: PageArgs,
    /// Answer as the ledger stood after entry SEQ, or at the end of DATE (YYYY-MM-DD) in China
    /// (UTC+8): the state is replayed in memory; the stored projections are untouched.
    #[arg(long, value_name = "SEQ|DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct CasesArgs {
    /// Only cases still open (reports not concluded, appeals pending, rectifications, supervision
    /// orders and letter inquiries open).
    #[arg(long)]
    pub open: bool,
    #[command(flatten)]
    pub page: PageArgs,
    /// Answer as the ledger stood after entry SEQ, or at the end of DATE (YYYY-MM-DD) in China
    /// (UTC+8): the state is replayed in memory; the stored projections are untouched.
    #[arg(long, value_name = "SEQ|DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct OverdueArgs {
    /// The day to check against (YYYY-MM-DD); today in China (UTC+8) by default.
    #[arg(long)]
    pub on: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
    /// Answer as the ledger stood after entry SEQ, or at the end of DATE (YYYY-MM-DD) in China
    /// (UTC+8): the state is replayed in memory; the stored projections are untouched.
    #[arg(long, value_name = "SEQ|DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Group counts by unit, kind or month.
    #[arg(long, value_enum, default_value = "kind")]
    pub by: StatsBy,
    /// Only this year.
    #[arg(long)]
    pub year: Option<i16>,
    /// Print CSV (group,kind,kind_zh,count) for spreadsheets: RFC 4180 (CRLF line ends, quoted
    /// fields), UTF-8 with a byte order mark so that Excel shows the Chinese right.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Leave the byte order mark out of the CSV (for tools that do not expect one).
    #[arg(long, requires = "csv")]
    pub no_bom: bool,
    /// Language of the CSV's header line: en (group,kind,kind_zh,count) or zh (单位,类型代码,类型,数量).
    #[arg(long, value_enum, default_value = "en", requires = "csv")]
    pub lang: CsvLang,
    /// Show the units' assessments (考核评价: grade and score per unit and year, with the
    /// assessing body; `--year` keeps one year) instead of the counts. Counts are by event date:
    /// the date each record is about, not the day it was entered.
    #[arg(long, conflicts_with = "csv")]
    pub assessments: bool,
    /// Answer as the ledger stood after entry SEQ, or at the end of DATE (YYYY-MM-DD) in China
    /// (UTC+8): the state is replayed in memory; the stored projections are untouched.
    #[arg(long, value_name = "SEQ|DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CsvLang {
    En,
    Zh,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StatsBy {
    Unit,
    Kind,
    Month,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the demo ledger (replaced if it is an earlier demo).
    #[arg(long, default_value = "./lianlog-demo")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Records to generate and import (all kinds, Chinese text, three officers).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub entries: u64,
    /// An empty or new directory to build the ledger in, on the disk to measure; kept afterwards.
    /// Without it, `./lianlog-bench-<pid>` is used and removed.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Seed of the generated records.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Measure serving instead (服务性能): import --entries records, start `lianlog serve` on the
    /// ledger, and measure 1, 16 and 64 concurrent clients over loopback, each signing its own
    /// records: appends/s, p50/p99 latency, records per sync_data, tile and entry-bundle reads/s,
    /// the server's peak memory — beside the fsync, signing and verify limits. (Not `--server`:
    /// that is the global `--server URL`.)
    #[arg(long)]
    pub serve: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct KindsArgs {
    /// Only this kind (its name or Chinese label, e.g. `circular` or 通报).
    pub kind: Option<String>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write the pages to (created if missing); earlier lianlog pages there are
    /// replaced.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}

/// The arguments, or clap's error (a usage error, or `--help`/`--version`, which clap reports as
/// errors too) for `io::usage_error` to print: as JSON when `--json` was given. Parsed with
/// [`command`], so that help shows the global flags only where they apply.
pub fn try_parse() -> Result<Cli, clap::Error> {
    let mut command = command();
    let mut matches = command.try_get_matches_from_mut(std::env::args_os())?;
    <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches).map_err(|err| err.format(&mut command))
}

/// The commands that never open a ledger: `--ledger` is hidden from their help, completions and
/// man pages (it is still accepted, and ignored, so that LIANLOG_LEDGER or a habit does no harm).
const WITHOUT_LEDGER: &[&[&str]] = &[
    &["key", "new"],
    &["key", "show"],
    &["checkpoint", "cosign"],
    &["check"],
    &["check", "inclusion"],
    &["check", "disclosure"],
    &["check", "consistency"],
    &["snapshot", "verify"],
    &["snapshot", "restore"],
    &["snapshot", "redact"],
    &["snapshot", "list"],
    &["demo"],
    &["bench"],
    &["completions"],
    &["man"],
    &["monitor"],
    &["kinds"],
    &["witness", "serve"],
    &["witness", "add-log"],
    &["witness", "list"],
    &["witness", "remove"],
    &["login"],
];

/// The commands that never talk to a server (`Remote::from_args` ignores --server for them):
/// `--server`, `--identity` and `--ca-cert` are hidden from them likewise.
const WITHOUT_REMOTE: &[&[&str]] = &[
    &["init"],
    &["key"],
    &["redact"],
    &["checkpoint", "cosign"],
    &["check"],
    &["reindex"],
    &["replay"],
    &["opinion"],
    &["demo"],
    &["snapshot"],
    &["bench"],
    &["serve"],
    &["witness"],
    &["completions"],
    &["man"],
    &["kinds"],
];

/// The commands whose output is never JSON: `--json` is hidden from them likewise.
const WITHOUT_JSON: &[&[&str]] = &[&["completions"], &["man"]];

/// The clap command that `lianlog` parses, and that its completions and man pages describe: the
/// derived definition with its global flags (`--ledger`, `--json`) hidden where they do not apply.
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    let mut command = Cli::command();
    let flags = [
        ("ledger", WITHOUT_LEDGER),
        ("wait", WITHOUT_LEDGER),
        ("json", WITHOUT_JSON),
        ("server", WITHOUT_REMOTE),
        ("identity", WITHOUT_REMOTE),
        ("ca_cert", WITHOUT_REMOTE),
    ];
    for (flag, paths) in flags {
        let Some(hidden) = command.get_arguments().find(|arg| arg.get_id() == flag).cloned() else { continue };
        let hidden = hidden.hide(true);
        for path in paths {
            command = with_arg(command, path, &hidden);
        }
    }
    command
}

/// `command` with `arg` added to the subcommand at `path` (before the command is built: a global
/// flag is not propagated where a subcommand has its own copy, so the hidden copy is the one used
/// there and below). Order is kept: help lists subcommands as declared.
fn with_arg(command: clap::Command, path: &[&str], arg: &clap::Arg) -> clap::Command {
    match path.split_first() {
        None => command.arg(arg.clone()),
        Some((first, rest)) => {
            command.mut_subcommands(|sub| if sub.get_name() == *first { with_arg(sub, rest, arg) } else { sub })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
        // The command as parsed, with flags hidden where they do not apply (every path exists).
        let command = super::command();
        command.clone().debug_assert();
        for (flag, paths) in [
            ("ledger", super::WITHOUT_LEDGER),
            ("wait", super::WITHOUT_LEDGER),
            ("json", super::WITHOUT_JSON),
            ("server", super::WITHOUT_REMOTE),
            ("identity", super::WITHOUT_REMOTE),
            ("ca_cert", super::WITHOUT_REMOTE),
        ] {
            for path in paths {
                let mut sub = &command;
                for name in path.iter() {
                    sub =
                        sub.find_subcommand(name).unwrap_or_else(|| panic!("args.rs names {path:?}: no such command"));
                }
                let arg = sub.get_arguments().find(|arg| arg.get_id() == flag);
                assert!(arg.is_some_and(|arg| arg.is_hide_set()), "--{flag} is not hidden in {path:?}");
            }
        }
    }
}

/// `lianlog serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed). The default is loopback only: put
    /// a reverse proxy or --tls-cert in front before listening on another address.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// TLS certificate chain (PEM, leaf first); serves HTTPS with --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key of the certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve entry bundles (/tile/entries/…) to anyone: entries show kinds, authors and times
    /// (never bodies). Without it they need a signed request of an admin, officer or auditor.
    #[arg(long)]
    pub public_entries: bool,
    /// The access log of authenticated reads (查询留痕; docs/OPERATIONS.md), by default
    /// `access.log` in the ledger directory.
    #[arg(long, value_name = "FILE")]
    pub access_log: Option<PathBuf>,
    /// Seconds a client has to send a request's head and body (slow clients get 408 or are
    /// disconnected), and to finish a TLS handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Seconds a connection may stay open with nothing moving on it (between keep-alive requests,
    /// an idle HTTP/2 connection) before the server closes it, so idle sockets cannot use up the
    /// 1,024 connection slots.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,
    /// Requests handled at once; more get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_in_flight: u64,
    /// The largest request body in bytes (an import of many records is one request); larger
    /// ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20, value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    pub max_body_bytes: u64,
    /// A witness (见证方) to send each new checkpoint to, as URL=VKEY: the URL of its C2SP
    /// tlog-witness (`lianlog witness serve`) and its cosigner vkey (`lianlog key show --cosigner`).
    /// Repeatable. `GET /checkpoint` then serves the newest checkpoint that --witness-quorum of
    /// them cosigned, kept in LEDGER/witnessed.checkpoint; `/lianlog/v1/checkpoint/latest` the
    /// newest log-signed one. A witness that is down only delays its cosignature (back-off up to
    /// 60 s); appends go on. See docs/OPERATIONS.md, "Running with witnesses".
    #[arg(long = "witness", value_name = "URL=VKEY")]
    pub witness: Vec<String>,
    /// How many of the --witness witnesses must cosign a checkpoint before `GET /checkpoint`
    /// serves it (default: all of them); between 1 and the number of witnesses.
    #[arg(long, value_name = "K", requires = "witness")]
    pub witness_quorum: Option<usize>,
    /// The shortest time between two rounds of sending the newest checkpoint to the witnesses,
    /// in seconds (checkpoints made meanwhile are covered by the next one).
    #[arg(long, value_name = "SECONDS", default_value_t = 2, requires = "witness", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub witness_interval: u64,
    /// How long a web session (网页会话) opened by `lianlog login`'s one-time URL lasts, in hours;
    /// it ends sooner when its key is revoked or on "sign out". See docs/OFFICERS.md, "Web pages".
    #[arg(long, value_name = "HOURS", default_value_t = lianlog_server::DEFAULT_SESSION_HOURS, value_parser = clap::value_parser!(u64).range(1..=168))]
    pub session_hours: u64,
}

/// `lianlog login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Your key file (officer, auditor or admin) that signs the challenge; the passphrase is asked
    /// for, or read from LIANLOG_PASSPHRASE. Default: --identity (LIANLOG_IDENTITY).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// `lianlog receipt …`.
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Upgrade receipts (回执升级): prove each receipt's entry again against the newest
    /// witnessed checkpoint — with --server the one the server serves at /checkpoint (the proof
    /// fetched with --identity), else LEDGER/witnessed.checkpoint (or --checkpoint FILE, or a
    /// checkpoint the log key signs now) — check the result with --vkey and the --witness
    /// quorum, and write it to --out. A receipt from append time is signed by the log key alone;
    /// the refreshed one is cosigned by the witnesses. See docs/OFFICERS.md.
    Refresh(RefreshArgs),
}

/// `lianlog receipt refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The receipt file (JSON Lines, from `append`/`import --receipt`).
    #[arg(long, value_name = "FILE")]
    pub receipt: PathBuf,
    /// The new receipt file (a new file, mode 0600; --force replaces one).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// The ledger's log key (vkey): the old receipts and the new ones must check against it.
    #[arg(long)]
    pub vkey: String,
    /// A witness's cosigner vkey (type 0x04; repeatable): the new checkpoint must carry the valid
    /// cosignatures of all the named witnesses, or of --witness-quorum of them.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witness: Vec<String>,
    /// How many of the named witnesses must have cosigned (default: all of them).
    #[arg(long, value_name = "K", requires = "witness")]
    pub witness_quorum: Option<usize>,
    /// Prove against this checkpoint file (a signed note of the ledger) instead; without
    /// --server only.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
}

/// `lianlog witness …`.
#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Serve C2SP tlog-witness over HTTP: `POST /add-checkpoint` (cosign a checkpoint consistent
    /// with everything this witness cosigned before) and `GET /<sha256 of origin>/checkpoint`.
    /// Prints `listening on ADDR` on stdout once bound, one line per request on stderr; stops
    /// after the requests in flight on SIGTERM or Ctrl-C. Each new state is fsync'd before its
    /// cosignature is sent.
    Serve {
        /// Address to listen on (port 0: any free port, printed).
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: String,
        /// The witness's private key file (`lianlog key new NAME`; its name is the witness's
        /// name). Repeatable: one cosignature per key. Share its cosigner vkey (`lianlog key show
        /// --cosigner FILE`) with the log and its auditors.
        #[arg(long, required = true)]
        key: Vec<PathBuf>,
        /// The witness's state directory (made by `witness add-log`).
        #[arg(long)]
        state: PathBuf,
    },
    /// Witness a log: trust VKEY (the log key, type 0x01: `lianlog key show` of the ledger's
    /// log key, or the vkey its operator publishes) for checkpoints of ORIGIN. Creates the state
    /// directory if needed; may run while `witness serve` does. Adding a second key to a known
    /// origin trusts both (key rotation); a removed origin continues from what it cosigned.
    AddLog {
        /// The log's origin (the first line of its checkpoints).
        #[arg(long)]
        origin: String,
        /// The log's key (vkey).
        #[arg(long)]
        vkey: String,
        /// The witness's state directory.
        #[arg(long)]
        state: PathBuf,
    },
    /// List the logs this witness knows, with the size it last cosigned.
    List {
        /// The witness's state directory.
        #[arg(long)]
        state: PathBuf,
    },
    /// Stop witnessing a log (its checkpoints get 404). What was cosigned is kept, so that adding
    /// the log again never lets this witness cosign a smaller or different tree.
    Remove {
        /// The log's origin.
        #[arg(long)]
        origin: String,
        /// The witness's state directory.
        #[arg(long)]
        state: PathBuf,
    },
}

/// `lianlog checkpoint cosign`.
#[derive(Debug, Args)]
pub struct CosignArgs {
    /// The checkpoint (signed note) file.
    pub file: PathBuf,
    /// The cosigner's private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The cosigner's name (default: the name in the key file).
    #[arg(long)]
    pub name: Option<String>,
    /// The ledger's log key (vkey): the checkpoint must carry its valid signature. Trusted for
    /// the checkpoint's origin from the first cosignature on; another key for that origin is
    /// refused until `lianlog witness add-log` adds it.
    #[arg(long)]
    pub vkey: String,
    /// The witness state directory that remembers what this key cosigned (created if missing;
    /// the same directory `witness serve` uses). A checkpoint of a smaller size, or of the same
    /// size with another root, is refused (exit 1).
    #[arg(long)]
    pub state: PathBuf,
    /// The consistency proof from the size last cosigned to this checkpoint's size
    /// (`lianlog prove consistency OLD NEW` on the ledger); needed when the checkpoint is larger.
    #[arg(long)]
    pub proof: Option<PathBuf>,
}
