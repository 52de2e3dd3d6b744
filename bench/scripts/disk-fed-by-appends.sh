#!/usr/bin/env bash
# Disk per entry byte of a ledger fed only by single `lianlog append` processes (one record each),
# the second way the disk target of docs/PERFORMANCE.md is measured (`lianlog bench` measures a
# ledger filled by an import). Prints the ratio every 500 appends and at the end:
#
#   N=5000 LIANLOG=target/release/lianlog bash bench/scripts/disk-fed-by-appends.sh
#
# N: appends (default 5000; about 20 ms each). LIANLOG: the binary (default `lianlog` on the
# PATH). DIR: where to build the ledger (default a new temporary directory, removed at the end).
set -euo pipefail
lianlog="${LIANLOG:-lianlog}"
count="${N:-5000}"
dir="${DIR:-$(mktemp -d)}"
[ -n "${DIR:-}" ] || trap 'rm -rf "$dir"' EXIT
cd "$dir"
export LIANLOG_LEDGER="$dir/ledger"

"$lianlog" key new admin.zhao --out admin.pem >/dev/null
"$lianlog" key new officer.qian --out qian.pem >/dev/null
"$lianlog" init --origin jw.example.gov.cn/accountability --key admin.pem \
  --holder-name 赵主任 --holder-unit 市纪委监委 >/dev/null
"$lianlog" key grant "$("$lianlog" key show qian.pem)" --role officer \
  --holder-name 钱干事 --holder-unit 第一监督检查室 --key admin.pem >/dev/null

# The stored-line bytes (log/) and everything the ledger keeps (log, item files, sled, tables).
ratio() {
  local log all
  log=$(du -sb ledger/log | cut -f1)
  all=$(du -sb ledger | cut -f1)
  echo "$1 appends: log $log bytes, ledger $all bytes, $(awk -v a="$all" -v l="$log" 'BEGIN { printf "%.3f", a / l }') bytes per entry byte"
}

units=(市住建局 市交通局 市教育局 市卫健委 市财政局 市水务局 区人民政府 市自然资源局)
for i in $(seq 1 "$count"); do
  # 1,700 people in turn, 8 units: dossiers and unit indexes grow as in a commission's year.
  printf '{"interview_type":"reminder","subjects":[{"id":"P-%05d","name":"张某%d","unit":"%s"}],"interviewers":[{"id":"P-0101","name":"钱干事","unit":"第一监督检查室"}],"held_on":"2026-03-10","reason":"提醒谈话：反映其在工程项目招标中存在违规打招呼问题，第%d次"}' \
    $((i % 1700)) "$i" "${units[$((i % 8))]}" "$i" |
    "$lianlog" append interview --key qian.pem >/dev/null
  if [ $((i % 500)) -eq 0 ] || [ "$i" -eq "$count" ]; then
    ratio "$i"
  fi
done
"$lianlog" verify >/dev/null
