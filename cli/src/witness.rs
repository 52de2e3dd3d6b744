//! `lianlog witness …` and `lianlog checkpoint cosign`: the witness (见证方) of C2SP
//! tlog-witness on the command line. Arguments and rendering only; the rule is
//! `lianlog_ledger::witness`, the HTTP server `lianlog-server`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand};
use lianlog_ledger::witness::Witness;
use lianlog_ledger::{Error, KeyName, PublicKey, SecretKey};
use serde_json::json;

use crate::commands::{print_json, read_key, read_text};

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

/// Run `lianlog witness …`.
pub fn run(command: WitnessCommand, json_output: bool) -> Result<ExitCode> {
    match command {
        WitnessCommand::Serve { listen, key, state } => {
            let witness = Witness::open(&state)?;
            let cosigners =
                key.iter().map(|path| read_key(path).map(|key| key.as_cosigner())).collect::<Result<Vec<_>>>()?;
            let vkeys: Vec<String> = cosigners.iter().map(|cosigner| cosigner.public().vkey()).collect();
            let report: lianlog_server::Reporter = Arc::new(|line: String| eprintln!("lianlog witness: {line}"));
            let service = lianlog_server::WitnessService::new(witness, cosigners, report)?;
            for vkey in vkeys {
                eprintln!("witness key {vkey}");
            }
            lianlog_server::serve_witness(&listen, service, |address| println!("listening on {address}"))?;
        }
        WitnessCommand::AddLog { origin, vkey, state } => {
            let vkey = PublicKey::parse_vkey(&vkey)?;
            let witness = Witness::create(&state)?;
            let added = witness.add_log(&origin, &vkey)?;
            if json_output {
                print_json(&json!({"origin": origin, "vkey": vkey.vkey(), "added": added}));
            } else if added {
                println!("witnessing {origin} signed by {}", vkey.identity());
            } else {
                println!("already witnessing {origin} signed by {}", vkey.identity());
            }
        }
        WitnessCommand::List { state } => {
            let logs = Witness::open(&state)?.logs()?;
            if json_output {
                print_json(&json!(
                    logs.iter()
                        .map(|log| json!({
                            "origin": log.origin,
                            "witnessed": !log.vkeys.is_empty(),
                            "vkeys": log.vkeys.iter().map(PublicKey::vkey).collect::<Vec<_>>(),
                            "size": log.cosigned.as_ref().map(|c| c.size),
                            "root": log.cosigned.as_ref().map(|c| lianlog_ledger::encoding::hex(&c.root)),
                        }))
                        .collect::<Vec<_>>()
                ));
            } else {
                for log in &logs {
                    let cosigned = match &log.cosigned {
                        Some(cosigned) => format!(
                            "cosigned size {} root {}",
                            cosigned.size,
                            lianlog_ledger::encoding::hex(&cosigned.root)
                        ),
                        None => "nothing cosigned yet".to_string(),
                    };
                    let keys = if log.vkeys.is_empty() {
                        "removed".to_string()
                    } else {
                        log.vkeys.iter().map(PublicKey::vkey).collect::<Vec<_>>().join(" ")
                    };
                    println!("{}  {cosigned}  {keys}", log.origin);
                }
                if logs.is_empty() {
                    println!("no logs: add one with `lianlog witness add-log`");
                }
            }
        }
        WitnessCommand::Remove { origin, state } => {
            Witness::open(&state)?.remove_log(&origin)?;
            println!("no longer witnessing {origin} (what was cosigned is kept)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lianlog checkpoint cosign`: the witness rule offline, with a state directory.
pub fn cosign(args: CosignArgs) -> Result<()> {
    let note = read_text(&args.file)?;
    let log_key = PublicKey::parse_vkey(&args.vkey)?;
    let proof = match &args.proof {
        Some(path) => {
            lianlog_ledger::proof::parse_consistency_text(&read_text(path)?).map_err(|err| err.at(path.display()))?
        }
        None => Vec::new(),
    };
    let secret = read_key(&args.key)?;
    let secret: SecretKey = match args.name {
        Some(name) => secret.renamed(KeyName::parse(&name)?),
        None => secret,
    };
    let cosigner = secret.as_cosigner();
    let witness = Witness::create(&args.state)?;
    let now = u64::try_from(lianlog_ledger::Timestamp::now().as_millis() / 1000).unwrap_or(0);
    let cosigned = witness
        .cosign_offline(&note, &log_key, &proof, std::slice::from_ref(&cosigner), now)
        .map_err(|err: Error| err.at(args.file.display()))?;
    eprintln!("cosigned as {}", cosigner.public().vkey());
    print!("{cosigned}");
    Ok(())
}
