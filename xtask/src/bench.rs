//! `cargo xtask bench`: runs the criterion benches, then prints one table of every
//! result criterion recorded under `target/criterion` (time per iteration and
//! throughput, in elements/s or MB/s), and of the results that benches which are not
//! criterion's (`harness = false` programs such as oxrtc-turn's `relay_throughput`) left in
//! `target/bench-results/*.json` as `{"full_id", "mean_ns", "throughput"}`, with
//! criterion's meanings.

use crate::{cargo, root, Result};
use serde_json::Value;
use std::path::Path;
use std::time::SystemTime;

pub(crate) fn run_benches(args: &[String]) -> Result {
    let mut c = cargo();
    // Only the criterion targets: the libtest harnesses would reject criterion's options.
    c.args(["bench", "--bench", "*"]);
    let mut rest = Vec::new();
    let mut it = args.iter();
    let mut package = false;
    while let Some(a) = it.next() {
        if a == "--package" || a == "-p" {
            let p = it.next().ok_or("--package needs a name")?;
            c.args(["--package", p]);
            package = true;
        } else {
            rest.push(a.clone());
        }
    }
    if !package {
        c.arg("--workspace");
    }
    c.arg("--");
    c.args(&rest);
    crate::run(c)
}

pub(crate) fn run(args: &[String]) -> Result {
    let started = SystemTime::now();
    run_benches(args)?;
    summary(started)
}

/// Prints the results criterion wrote since `since` (older runs' results stay out).
fn summary(since: SystemTime) -> Result {
    let dir = root().join("target").join("criterion");
    let mut rows = Vec::new();
    walk(&dir, since, &mut rows);
    others(
        &root().join("target").join("bench-results"),
        since,
        &mut rows,
    );
    rows.sort();
    println!(
        "\n{:<64} {:>14} {:>18}",
        "benchmark", "time/iter", "throughput"
    );
    println!("{}", "-".repeat(98));
    for (name, time, thr) in rows {
        println!("{name:<64} {time:>14} {thr:>18}");
    }
    Ok(())
}

fn walk(dir: &Path, since: SystemTime, rows: &mut Vec<(String, String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        if p.file_name().is_some_and(|n| n == "new") {
            let fresh = std::fs::metadata(p.join("estimates.json"))
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since);
            if let Some(row) = row(&p).filter(|_| fresh) {
                rows.push(row);
            }
        } else if p.file_name().is_some_and(|n| n != "report" && n != "base") {
            walk(&p, since, rows);
        }
    }
}

/// Results of benches that are not criterion's, written since `since`.
fn others(dir: &Path, since: SystemTime, rows: &mut Vec<(String, String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let fresh = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if !fresh || p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Some(v) = read(&p) else {
            continue;
        };
        if let (Some(name), Some(ns)) = (v["full_id"].as_str(), v["mean_ns"].as_f64()) {
            rows.push(format_row(name.to_string(), ns, &v["throughput"]));
        }
    }
}

fn read(p: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

fn row(new: &Path) -> Option<(String, String, String)> {
    let est = read(&new.join("estimates.json"))?;
    let bench = read(&new.join("benchmark.json"))?;
    let ns = est["mean"]["point_estimate"].as_f64()?;
    let name = bench["full_id"].as_str()?.to_string();
    Some(format_row(name, ns, &bench["throughput"]))
}

/// A table row: name, time per iteration (`ns`), and the rate `throughput` (criterion's
/// `{"Bytes": n}` / `{"Elements": n}` per iteration) gives.
fn format_row(name: String, ns: f64, throughput: &Value) -> (String, String, String) {
    let time = if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    };
    let thr = match throughput {
        Value::Object(m) => {
            if let Some(b) = m
                .get("Bytes")
                .or(m.get("BytesDecimal"))
                .and_then(Value::as_f64)
            {
                format!("{:.1} MB/s", b / ns * 1e9 / 1e6)
            } else if let Some(n) = m.get("Elements").and_then(Value::as_f64) {
                let per_s = n / ns * 1e9;
                if per_s >= 1e6 {
                    format!("{:.2} M elem/s", per_s / 1e6)
                } else {
                    format!("{:.1} k elem/s", per_s / 1e3)
                }
            } else {
                String::new()
            }
        }
        _ => String::new(),
    };
    (name, time, thr)
}
