//! `lianlog demo` (演示): builds a demonstration ledger and tells its story on the terminal.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use lianlog_ledger::{Draft, Error, Holder, KeyName, Ledger, Role, SecretKey, VerifyOptions};
use lianlog_workload::{Author, demo_story, demo_story_kinds};

use crate::io::print_json;
use crate::render;

/// Marks a directory as made by `lianlog demo`, so that a later demo may replace it.
const MARKER: &str = ".lianlog-demo";
const ORIGIN: &str = "demo.jw.example.gov.cn/accountability";

pub fn run(dir: &Path, json_output: bool) -> Result<ExitCode> {
    prepare(dir)?;
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir).map_err(|err| Error::io("create directory", &keys_dir, err))?;
    let new_key = |name: &str| -> Result<SecretKey> {
        let key = SecretKey::generate(KeyName::parse(name)?)?;
        key.write_new_file(&keys_dir.join(format!("{name}.pem")))?;
        Ok(key)
    };
    let admin = new_key("admin.zhao")?;
    let first_officer = new_key("officer.qian")?;
    let second_officer = new_key("officer.sun")?;
    let auditor = new_key("auditor.li")?;

    let ledger_dir = dir.join("ledger");
    let holder = |name: &str, unit: &str, title: Option<&str>| Holder {
        name: name.into(),
        unit: unit.into(),
        title: title.map(str::to_string),
    };
    let mut ledger =
        Ledger::init(&ledger_dir, &KeyName::parse(ORIGIN)?, &admin, holder("赵主任", "市纪委监委", Some("常委")))?;
    ledger.grant(
        &first_officer.public().vkey(),
        &[Role::Officer],
        &holder("钱干事", "第一监督检查室", None),
        &admin,
    )?;
    ledger.grant(
        &second_officer.public().vkey(),
        &[Role::Officer],
        &holder("孙干事", "第二监督检查室", None),
        &admin,
    )?;
    ledger.grant(&auditor.public().vkey(), &[Role::Auditor], &holder("李审计", "审计室", None), &admin)?;
    for (author, kind, body) in demo_story() {
        let key = match author {
            Author::FirstOfficer => &first_officer,
            Author::SecondOfficer => &second_officer,
        };
        ledger.append(&Draft::new(kind, body), key).with_context(|| format!("appending the demo's {kind} record"))?;
    }
    let narrative = append_kinds_story(&mut ledger, &first_officer, &second_officer)?;
    let opinion_day = append_collective_story(&mut ledger, &keys_dir, &admin, &first_officer)?;
    if json_output {
        return print_summary_json(&ledger, &ledger_dir, &keys_dir);
    }

    println!("演示台账 demo ledger: {}  (keys in {})", ledger_dir.display(), keys_dir.display());
    println!();
    let lines = ledger.lines_from(0)?.collect::<Result<Vec<_>, _>>()?;
    render::print_log(&lines, ledger.registry(), &ledger.queries().redaction_notes(&lines)?);
    println!();
    render::print_keys(ledger.registry());
    println!();

    for person in ["P-1001", "P-1003"] {
        let records = ledger.dossier(person)?;
        render::print_dossier(person, &records, ledger.registry());
        println!();
    }
    println!("一年的督办、函询、通报与考核 the rest of the year (supervision, inquiries, circulars, assessment):");
    for (seq, line) in &narrative {
        println!("  [{seq}] {line}");
    }
    println!();
    render::print_dossier("P-1004", &ledger.dossier("P-1004")?, ledger.registry());
    println!();
    tell_collective_story(&ledger, opinion_day)?;
    println!("统计 statistics for the annual assessment (考核评价), by unit:");
    render::print_stats(
        &ledger.stats(lianlog_ledger::query::StatsGrouping::Unit, None)?,
        lianlog_ledger::query::StatsGrouping::Unit,
    );
    render::print_assessments(&ledger.queries().assessments(None)?);
    println!();

    let started = std::time::Instant::now();
    let report =
        ledger.verify(VerifyOptions::default())?.map_err(|failure| Error::verification(failure.to_string()))?;
    println!("完整性校验 verification: OK in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    println!("  entries {}  head {}", report.entries, report.head);
    println!("  root    {}", lianlog_ledger::encoding::hex(&report.root));
    println!();
    let witnessed = witness_checkpoint(&ledger, dir, &new_key)?;
    println!(
        "见证检查点 witnessed checkpoint (上级纪委监委、审计机关、档案馆 cosigned; 2 of 3 required) → {}:",
        witnessed.display()
    );
    print!("{}", std::fs::read_to_string(&witnessed).map_err(|err| Error::io("read", &witnessed, err))?);
    println!();
    println!("Try:");
    let ledger_arg = ledger_dir.display();
    println!("  lianlog --ledger {ledger_arg} show 8");
    println!("  lianlog --ledger {ledger_arg} dossier P-1003");
    println!("  lianlog --ledger {ledger_arg} cases --open");
    if let Some(seq) = ledger.queries().decision_state("D-2026-002")?.and_then(|state| state["seq"].as_u64()) {
        println!(
            "  lianlog --ledger {ledger_arg} show {seq}          # 集体研究: the approvals and the influence period"
        );
    }
    println!("  lianlog --ledger {ledger_arg} opinion P-1005 --purpose 拟提拔任用 --requested-by 市委组织部");
    println!("  lianlog --ledger {ledger_arg} key list");
    println!("  lianlog --ledger {ledger_arg} export --without-bodies --out audit.jsonl");
    println!("  lianlog verify --file audit.jsonl");
    let witness_flags: Vec<String> = WITNESSES
        .iter()
        .map(|(name, _)| format!("--witness \"$(lianlog key show {}/{name}.pem --cosigner)\"", keys_dir.display()))
        .collect();
    println!(
        "  lianlog --ledger {ledger_arg} verify --checkpoint {} {} --witness-quorum 2",
        witnessed.display(),
        witness_flags.join(" ")
    );
    Ok(ExitCode::SUCCESS)
}

/// The demo's witnesses (见证方): key name and the office that holds it.
const WITNESSES: &[(&str, &str)] =
    &[("witness.upper", "上级纪委监委"), ("witness.audit", "审计机关"), ("witness.archive", "档案馆")];

/// The ledger's checkpoint cosigned by the three witness offices, each with its own witness state
/// (`witnesses/NAME/`, the same rule as `witness serve` and `checkpoint cosign`), checked with a
/// quorum of 2 and written to `checkpoint.witnessed` in the demo directory.
fn witness_checkpoint(
    ledger: &Ledger,
    dir: &Path,
    new_key: &dyn Fn(&str) -> Result<SecretKey>,
) -> Result<std::path::PathBuf> {
    let log_key = ledger.log_key(&mut crate::io::no_passphrase_for_log_key)?;
    let note = ledger.checkpoint(ledger.size(), &log_key)?;
    let now = u64::try_from(lianlog_ledger::Timestamp::now().as_millis() / 1000).unwrap_or(0);
    let (mut lines, mut vkeys) = (Vec::new(), Vec::new());
    for (name, _office) in WITNESSES {
        let cosigner = new_key(name)?.as_cosigner();
        let witness = lianlog_ledger::witness::Witness::create(&dir.join("witnesses").join(name))?;
        witness.add_log(ledger.origin(), log_key.public())?;
        let cosigned = witness.cosign_offline(&note, log_key.public(), &[], std::slice::from_ref(&cosigner), now)?;
        lines.extend(cosigned.lines().last().map(str::to_string));
        vkeys.push(cosigner.public().clone());
    }
    let witnessed = lianlog_ledger::witnessing::with_cosignatures(&note, &lines)?;
    lianlog_ledger::witnessing::open_witnessed(&witnessed, log_key.public(), &vkeys, 2)?;
    let path = dir.join("checkpoint.witnessed");
    std::fs::write(&path, &witnessed).map_err(|err| Error::io("write", &path, err))?;
    Ok(path)
}

/// The second part of the story (issue 17: supervision, inquiries, circulars, assessment),
/// appended after the first; returns the seq and narrative of each step.
fn append_kinds_story(ledger: &mut Ledger, first: &SecretKey, second: &SecretKey) -> Result<Vec<(u64, &'static str)>> {
    let mut told = Vec::new();
    for (author, kind, body, narrative) in demo_story_kinds() {
        let key = match author {
            Author::FirstOfficer => first,
            Author::SecondOfficer => second,
        };
        let appended = ledger
            .append(&Draft::new(kind, body), key)
            .with_context(|| format!("appending the demo's {kind} record"))?;
        told.push((appended.seq, narrative));
    }
    Ok(told)
}

/// The collective decision (集体研究) and the integrity opinion (廉政意见), after the story: the
/// standing committee's members get officer keys of their own; the decision about 孙某 needs two
/// of their three approvals, each signed by the member's key; then an opinion about 刘某 (cleared
/// earlier) is issued with the records it cites. Returns the day the opinion speaks for.
fn append_collective_story(
    ledger: &mut Ledger,
    keys_dir: &Path,
    admin: &SecretKey,
    officer: &SecretKey,
) -> Result<lianlog_ledger::Date> {
    let mut members = Vec::new();
    for (name, member) in lianlog_workload::demo_members() {
        let key = SecretKey::generate(KeyName::parse(name)?)?;
        key.write_new_file(&keys_dir.join(format!("{name}.pem")))?;
        let holder = Holder {
            name: member["name"].as_str().unwrap_or_default().into(),
            unit: member["unit"].as_str().unwrap_or_default().into(),
            title: member["post"].as_str().map(str::to_string),
        };
        ledger.grant(&key.public().vkey(), &[Role::Officer], &holder, admin)?;
        members.push((name, key));
    }
    for (key_name, kind, mut body) in lianlog_workload::demo_collective_story() {
        if let lianlog_workload::Needs::DecisionEntry(id) = lianlog_workload::needs(kind, &body) {
            let seq = ledger.queries().decision_state(id)?.and_then(|state| state["seq"].as_u64()).unwrap_or(0);
            let hash = ledger.read(seq)?.entry_hash.to_hex();
            lianlog_workload::fill_decision_entry(&mut body, seq, &hash);
        }
        let key = members.iter().find(|(name, _)| *name == key_name).map(|(_, key)| key).unwrap_or(officer);
        ledger.append(&Draft::new(kind, body), key).with_context(|| format!("appending the demo's {kind} record"))?;
    }
    let day =
        lianlog_ledger::Date::parse("2026-11-20").unwrap_or_else(|| lianlog_ledger::Timestamp::now().date_in_china());
    let request = lianlog_ledger::opinion::OpinionRequest {
        person: "P-1003".into(),
        purpose: "拟提拔任用".into(),
        requested_by: "市委组织部".into(),
        as_of: day,
    };
    let draft = lianlog_ledger::opinion::draft(&ledger.queries(), &request)?;
    let size = ledger.size();
    let body = draft.issued_body("YJ-2026-001", day, size, &ledger.root_at(size)?);
    ledger.append(&Draft::new("opinion.issued", body), officer).context("issuing the demo's integrity opinion")?;
    Ok(day)
}

/// The collective decision's approvals, 孙某's influence period, and the opinions about 刘某
/// (cleared: 无不良反映) and 张某 (admonished: influence period over by the opinion's day).
fn tell_collective_story(ledger: &Ledger, day: lianlog_ledger::Date) -> Result<()> {
    let queries = ledger.queries();
    println!("集体研究 collective decision D-2026-002 (two of three members' approvals put it in effect):");
    if let Some(state) = queries.decision_state("D-2026-002")? {
        render::print_approvals(&state);
    }
    let records = ledger.dossier("P-1005")?;
    render::print_dossier("P-1005", &records, ledger.registry());
    render::print_influence(&lianlog_ledger::opinion::periods(&queries, &records, day)?, day);
    println!();
    for person in ["P-1003", "P-1001"] {
        let request = lianlog_ledger::opinion::OpinionRequest {
            person: person.into(),
            purpose: "拟提拔任用".into(),
            requested_by: "市委组织部".into(),
            as_of: day,
        };
        let draft = lianlog_ledger::opinion::draft(&queries, &request)?;
        println!("廉政意见 integrity opinion about {person} (draft):");
        render::print_opinion(&draft, ledger.size());
        println!();
    }
    Ok(())
}

/// `demo --json`: the story is not told; what was built, verified, as one JSON document.
fn print_summary_json(ledger: &Ledger, ledger_dir: &Path, keys_dir: &Path) -> Result<ExitCode> {
    let report =
        ledger.verify(VerifyOptions::default())?.map_err(|failure| Error::verification(failure.to_string()))?;
    print_json(&serde_json::json!({
        "ledger": ledger_dir,
        "keys": keys_dir,
        "origin": ledger.origin(),
        "entries": report.entries,
        "head": report.head.to_hex(),
        "root": lianlog_ledger::encoding::hex(&report.root),
        "verified": true,
    }));
    Ok(ExitCode::SUCCESS)
}

/// Empty `dir`, refusing to touch a directory that an earlier demo did not make.
fn prepare(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(Error::io("read directory", dir, err).into()),
        Ok(mut listing) => {
            let is_empty = listing.next().is_none();
            if !is_empty {
                if !dir.join(MARKER).exists() {
                    return Err(Error::bad_input(format!(
                        "{} exists and was not made by `lianlog demo`; remove it or pass --dir",
                        dir.display()
                    ))
                    .into());
                }
                std::fs::remove_dir_all(dir).map_err(|err| Error::io("remove the earlier demo", dir, err))?;
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|err| Error::io("create directory", dir, err))?;
    std::fs::write(dir.join(MARKER), "made by `lianlog demo`; the next demo replaces this directory\n")
        .map_err(|err| Error::io("write", dir.join(MARKER), err))?;
    Ok(())
}
