#!/usr/bin/env bash
# The README's tour, run as written (README.md quotes these lines; `cargo test -p lianlog --test it
# docs::` checks that every command of the README's tour is here, and runs this script).
#
# Runs in a new temporary directory, removed at the end, and creates every file it uses: keys,
# records.jsonl, checkpoints, archives, the log-key backup. Uses `lianlog` from the PATH, or the
# binary named by $LIANLOG:   LIANLOG=target/release/lianlog bash docs/tour.sh
# TOUR_SKIP_BENCH=1 leaves out the last step, `lianlog bench` (its own tests cover it).
# Each step is echoed (`+ lianlog …`) before it runs; the first failure stops the tour.
set -euo pipefail

LIANLOG_BIN=${LIANLOG:-lianlog}
command -v "$LIANLOG_BIN" >/dev/null || { echo "tour: $LIANLOG_BIN not found: cargo install --path cli, or set LIANLOG" >&2; exit 2; }
LIANLOG_BIN=$(command -v "$LIANLOG_BIN")
case $LIANLOG_BIN in /*) ;; *) LIANLOG_BIN=$PWD/$LIANLOG_BIN ;; esac
# `lianlog serve … &` runs in a background subshell: `exec` makes that subshell the server itself,
# so that `$!` is the server's pid and SIGTERM reaches it.
lianlog() {
  echo "+ lianlog $*" >&2
  if [ "${1:-}" = serve ]; then exec "$LIANLOG_BIN" "$@"; fi
  "$LIANLOG_BIN" "$@"
}

tour_dir=$(mktemp -d "${TMPDIR:-/tmp}/lianlog-tour.XXXXXX")
server=
trap '[ -z "$server" ] || kill -TERM "$server" 2>/dev/null || true; rm -rf "$tour_dir"' EXIT
cd "$tour_dir"
unset LIANLOG_LEDGER                                  # the tour's ledger is ./lianlog-data
export LIANLOG_PASSPHRASE='tour: 廉政台账 correct horse battery staple'   # for the --encrypt keys

lianlog demo --dir demo                             # a demonstration ledger with a realistic story, verified

# keys (private key files are created with mode 0600; the printed line is the public "vkey")
lianlog key new admin.zhao --out admin.pem
lianlog key new officer.qian --out qian.pem --encrypt   # passphrase from LIANLOG_PASSPHRASE or asked twice
lianlog key new archive.witness --out archive.pem      # a cosigner (an archive office), for `checkpoint cosign`

# a ledger (default directory ./lianlog-data, or --ledger DIR, or LIANLOG_LEDGER)
lianlog init --origin jw.example.gov.cn/accountability --key admin.pem --holder-name 赵主任 --holder-unit 市纪委监委
lianlog key grant "$(lianlog key show qian.pem)" --role officer --holder-name 钱干事 --holder-unit 第一监督检查室 --key admin.pem
lianlog key list
mkdir -m 700 backup
lianlog key export-log-key --out backup/log-key.pem --encrypt   # the only way the log key leaves the ledger
LOG_VKEY=$(lianlog key show backup/log-key.pem)     # the log key's vkey: give it to your auditors

# records: one at a time (JSON body from a file or stdin), or many at once, all or nothing
echo '{"interview_type":"reminder","subjects":[{"id":"P-1001","name":"张某","unit":"市住建局"}],"interviewers":[{"id":"P-0101","name":"钱干事","unit":"第一监督检查室"}],"held_on":"2026-03-10","reason":"提醒谈话"}' \
  | lianlog append interview --key qian.pem
cat > records.jsonl <<'RECORDS'
{"kind":"report.received","body":{"report_id":"R-2026-001","subjects":[{"id":"P-1001","name":"张某","unit":"市住建局","post":"副局长"}],"source":"petition","summary":"反映其在工程招标中履行全面从严治党主体责任不力","received_on":"2026-03-02"}}
{"kind":"report.received","body":{"report_id":"R-2026-002","subjects":[{"id":"P-1003","name":"刘某","unit":"区交通运输局","post":"局长"}],"source":"petition","summary":"反映其违规插手工程招标","received_on":"2026-03-05"}}
{"kind":"report.received","body":{"report_id":"R-2026-003","subjects":[{"id":"P-1004","name":"陈某","unit":"市住建局"}],"source":"petition","summary":"举报人李某（电话138…）反映陈某公款吃喝","received_on":"2026-03-06"}}
{"kind":"interview","body":{"interview_type":"accountability_interview","subjects":[{"id":"P-1001","name":"张某","unit":"市住建局","post":"副局长"}],"interviewers":[{"id":"P-0101","name":"钱干事","unit":"第一监督检查室"}],"held_on":"2026-03-10","reason":"工程项目招标监管中苗头性、倾向性问题","report_id":"R-2026-001","requirements":["一个月内报送整改方案"]}}
{"kind":"report.concluded","body":{"report_id":"R-2026-001","finding":"substantiated","disposition":"予以问责","concluded_on":"2026-04-20"}}
{"kind":"accountability.decision","body":{"decision_id":"D-2026-001","subjects":[{"id":"P-1001","name":"张某","unit":"市住建局","post":"副局长"}],"basis":[{"regulation":"中国共产党纪律处分条例","article":"第六十七条"}],"measure":"admonition","facts":"履行全面从严治党主体责任不力","decided_by":"市纪委常委会","decided_on":"2026-04-28","report_id":"R-2026-001"}}
{"kind":"rectification.ordered","body":{"rectification_id":"RC-2026-001","target":{"org_id":"ORG-ZJJ","name":"市住建局"},"issued_on":"2026-05-06","items":[{"content":"建立工程项目廉政风险台账","responsible":{"id":"P-1002","name":"王某","unit":"市住建局","post":"局长"},"due":"2026-06-30"},{"content":"完善招投标全过程监督机制","responsible":{"org_id":"ORG-ZJJ","name":"市住建局"},"due":"2026-08-31"}],"decision_id":"D-2026-001"}}
{"kind":"appeal.filed","body":{"appeal_id":"A-2026-001","decision_id":"D-2026-001","grounds":"认为对其责任认定过重","filed_on":"2026-05-12"}}
{"kind":"report.concluded","body":{"report_id":"R-2026-002","finding":"false_accusation","disposition":"予以澄清正名","concluded_on":"2026-06-10"}}
{"kind":"clarification","body":{"subject":{"id":"P-1003","name":"刘某","unit":"区交通运输局","post":"局长"},"report_id":"R-2026-002","scope":"区交通运输局全体干部职工会议","held_on":"2026-06-25","statement":"经查，反映刘某同志的问题不属实，系诬告陷害，予以澄清正名"}}
{"kind":"duty_report","body":{"reporter":{"id":"P-1002","name":"王某","unit":"市住建局","post":"局长"},"period":"2026-H1","occasion":"市住建局党组述责述廉会议","held_on":"2026-07-08","summary":"报告上半年履行全面从严治党主体责任和个人廉洁自律情况","assessment":"good"}}
RECORDS
for n in 1 2 3 4 5 6 7 8 9; do                       # and nine reminder talks (提醒谈话), one line each
  echo "{\"kind\":\"interview\",\"body\":{\"interview_type\":\"reminder\",\"subjects\":[{\"id\":\"P-20$n\",\"name\":\"干部$n\",\"unit\":\"区财政局\"}],\"interviewers\":[{\"id\":\"P-0101\",\"name\":\"钱干事\",\"unit\":\"第一监督检查室\"}],\"held_on\":\"2026-09-0$n\",\"reason\":\"提醒谈话\"}}"
done >> records.jsonl
lianlog import records.jsonl --key qian.pem        # lines of {"kind":…,"body":…}: seq 3..22

# reading
lianlog log --from 0 --limit 20
lianlog show 4
lianlog show 4 --raw > entry4.bin                  # the exact entry bytes that are hashed

# answers (projections rebuilt from the log)
lianlog dossier P-1001                             # 廉政档案: every record naming a cadre
lianlog query --unit 市住建局 --since 2026-01-01 --text 招标
lianlog cases --open                               # reports, decisions, appeals, rectifications
lianlog overdue --on 2026-09-01                    # rectification items, 督办, 函询 past due
lianlog stats --by unit --year 2026 --csv          # counts for the annual assessment
lianlog kinds 整改要求                              # a kind's fields, versions and lifecycle rule
lianlog opinion P-1001 --purpose 拟提拔任用 --requested-by 市委组织部   # 廉政意见 draft; --issue --by KEY records it
lianlog replay                                     # rebuild every projection and compare

# checking and handing over
lianlog verify                                     # exit code 1 and the first bad seq if anything was altered
cp -R lianlog-data copy
lianlog verify --log-only --ledger copy            # a copy of the ledger directory: the log alone, streaming, read-only
lianlog export --out ledger.jsonl
lianlog export --without-bodies --out audit.jsonl  # for outside auditors: no record contents
lianlog checkpoint > cp-2026Q3                     # C2SP signed checkpoint (origin, size, root)
lianlog verify --file audit.jsonl --vkey "$LOG_VKEY" --checkpoint cp-2026Q3
lianlog prove inclusion 11 > r11.tlog-proof        # C2SP tlog-proof bundle for one entry
lianlog check inclusion r11.tlog-proof --entry <(lianlog show 11 --raw) --vkey "$LOG_VKEY"
lianlog checkpoint --size 10 > cp10 && lianlog checkpoint --size 20 > cp20
lianlog prove consistency 10 20 > c.txt && lianlog check consistency c.txt --old cp10 --new cp20 --vkey "$LOG_VKEY"
lianlog checkpoint cosign cp-2026Q3 --key archive.pem --vkey "$LOG_VKEY" --state archive-witness/ > cp-2026Q3.cosigned
lianlog verify --checkpoint cp-2026Q3.cosigned --cosigner "$(lianlog key show archive.pem --cosigner)"

# archives (docs/ARCHIVING.md): full, then incrementals; check and restore with no ledger at hand
lianlog snapshot create --out archives                                   # full archive, seq 0..now

# privacy
lianlog redact 5 --reason "误录举报人信息" --key admin.pem   # removes the body, keeps every proof
lianlog disclose P-1003 --out P-1003.json --key qian.pem     # what concerns one person, others masked, signed
lianlog check disclosure P-1003.json --vkey "$LOG_VKEY"
lianlog reindex                                    # rebuild the derived store from the log

# archives, continued
lianlog snapshot create --out archives --since latest                    # incremental: what came since
lianlog snapshot create --out archives --since latest --if-grown 100     # for a timer: nothing until 100 more
lianlog snapshot list archives                                           # ranges; unbroken or not
lianlog snapshot verify archives/*.tar.zst --vkey "$LOG_VKEY"
lianlog snapshot restore archives/*.tar.zst --into restored --log-key backup/log-key.pem
lianlog snapshot redact archives/*.tar.zst --out rewritten              # after `redact`: copies without the removed bodies

# the past, and archives, queried like the ledger
today=$(TZ=Asia/Shanghai date +%F)                 # --as-of DATE means the end of that day in China time
lianlog dossier P-1001 --as-of "$today"            # the integrity file as it stood at the end of that day
lianlog stats --by unit --as-of 12                 # as it stood right after entry 12
full=$(ls archives/*.tar.zst | head -n 1) inc=$(ls archives/*.tar.zst | tail -n 1)
lianlog --archive "$full" --archive "$inc" dossier P-1001

# shell completions and manual pages, from the same definitions as --help (install: README, "Set up")
lianlog completions bash > lianlog.bash            # also zsh, fish, powershell
lianlog man --dir man/man1                         # one page per command: man -M man lianlog-key-grant

# performance (docs/PERFORMANCE.md): this machine's limits, then the ledger's speed beside them
# (about 15 s whatever the size: TOUR_SKIP_BENCH=1 leaves it out, as the integration test does)
[ "${TOUR_SKIP_BENCH:-}" = 1 ] || lianlog bench --entries 1000                       # fresh ledger of generated records; --json for the figures

# serve a commission (README, "Serve a commission"): the ledger above, served on loopback
lianlog serve --listen 127.0.0.1:7878 > served.txt &                     # holds the ledger; SIGTERM stops it cleanly
server=$!
for _ in $(seq 1 100); do grep -q '^listening on' served.txt && break; sleep 0.1; done
export LIANLOG_SERVER=http://127.0.0.1:7878                              # at every desk: the same commands, on the server
echo '{"interview_type":"reminder","subjects":[{"id":"P-1009","name":"李某","unit":"市交通局"}],"interviewers":[{"id":"P-0101","name":"钱干事","unit":"第一监督检查室"}],"held_on":"2026-10-12","reason":"提醒谈话"}' > talk.json
lianlog append interview --key qian.pem --body talk.json --receipt talk.receipt   # signed here, answered after fsync
lianlog check inclusion --receipt talk.receipt --vkey "$LOG_VKEY"          # offline proof that the ledger took it
lianlog --identity qian.pem dossier P-1009                                # a signed read (RFC 9421), kept in access.log
lianlog --identity admin.pem verify --vkey "$LOG_VKEY"                    # tiles and bundles fetched, all checked here
lianlog monitor --vkey "$LOG_VKEY" --state monitor-state --once           # an auditor's watch: from hash tiles only
lianlog login --key qian.pem                                              # web pages 网页: prints a one-time sign-in URL
unset LIANLOG_SERVER
kill -TERM "$server" && wait "$server" && server=
lianlog verify                                     # the served ledger, back on this desk

echo "tour: every step passed" >&2
