//! The figures of `lianlog bench` (性能基准): one table per group, each value in its unit, or the
//! JSON object `--json` prints (keys as in docs/PERFORMANCE.md).

use lianlog_bench::BenchReport;
use serde_json::{Map, Value, json};

const GROUPS: &[(&str, &str)] = &[
    ("limits", "机器上限 machine limits (measured first)"),
    ("write", "写入 writing"),
    ("read", "读取与校验 reading and verifying"),
    ("memory and disk", "内存与磁盘 memory and disk"),
    ("serve", "服务 serving (`lianlog serve`, clients on loopback)"),
    ("wall time", "用时 wall time of the run, by phase (s)"),
];

pub fn print_report(report: &BenchReport) {
    println!(
        "lianlog bench: {} generated records, {} threads, {:.1} s in all",
        report.entries, report.threads, report.seconds
    );
    for (group, title) in GROUPS {
        if !report.figures.iter().any(|f| f.group == *group) {
            continue;
        }
        println!();
        println!("{title}");
        let rows: Vec<Vec<String>> = report
            .figures
            .iter()
            .filter(|f| f.group == *group)
            .map(|f| vec![f.label.clone(), format_value(f.key, f.value), f.key.to_string()])
            .collect();
        super::print_table(&["figure", "value", "key (--json)"], &rows);
    }
}

fn format_value(key: &str, value: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    if key.ends_with("_per_s") && value >= 100.0 {
        return with_thousands(value.round() as u64);
    }
    if key.ends_with("_ms") {
        return format!("{value:.3} ms");
    }
    if key.ends_with("_mib") {
        return format!("{value:.1} MiB");
    }
    format!("{value:.2}")
}

fn with_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

pub fn report_json(report: &BenchReport) -> Value {
    let figures: Map<String, Value> = report.figures.iter().map(|f| (f.key.to_string(), json!(f.value))).collect();
    json!({"entries": report.entries, "threads": report.threads, "seconds": report.seconds, "figures": figures})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_by_unit() {
        assert_eq!(format_value("verify_entries_per_s", 1_234_567.4), "1,234,567");
        assert_eq!(format_value("dossier_p99_ms", 0.12345), "0.123 ms");
        assert_eq!(format_value("verify_peak_rss_mib", 15.96), "16.0 MiB");
        assert_eq!(format_value("verify_to_batch_ratio", 0.456), "0.46");
        assert_eq!(format_value("fsync_per_s", f64::NAN), "n/a");
    }
}
