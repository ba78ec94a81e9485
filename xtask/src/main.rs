//! Project automation for oxrtc.
//!
//! ```text
//! cargo xtask ci [--no-fuzz] [--no-interop] [--fuzz-seconds N]
//! cargo xtask fuzz TARGET --seconds N | --all --seconds N | --list
//! cargo xtask bench [--package P] [FILTER]
//! cargo xtask interop [FILTER] [--matrix-only | --no-matrix] [--rows=PAT,...] [--all-pairs]
//! cargo xtask setup
//! ```
//!
//! Everything a step needs from the system (coturn, openssl, ...) is installed by
//! [`setup`] idempotently, so `cargo xtask ci` passes on a fresh Debian machine.

use std::collections::BTreeMap;
use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

mod bench;
mod interop;
mod package;
mod setup;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("interop") => interop(&args[1..]),
        Some("setup") => setup::system(),
        Some("package") => package::check(),
        _ => Err(
            "usage: cargo xtask <ci|fuzz|bench|interop|setup|package> [options]\n\
             \n  ci [--no-fuzz] [--no-interop] [--fuzz-seconds N]   every check CI runs\
             \n  fuzz TARGET --seconds N | --all --seconds N | --list\
             \n  bench [--package P] [FILTER]                       criterion benches + summary\
             \n  interop [FILTER]                                   tests against real peers\
             \n  setup                                              install system tools\
             \n  package                                            publishability checks"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs a command, echoing it, and fails with its description if it fails.
pub(crate) fn run(mut cmd: Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

pub(crate) fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn flag_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn ci(args: &[String]) -> Result {
    let fuzz_seconds: u64 = flag_value(args, "--fuzz-seconds")
        .map(|s| s.parse().map_err(|_| "--fuzz-seconds takes a number"))
        .transpose()?
        .unwrap_or(4);
    // A CI build starts from nothing and is not edited again: incremental data would only
    // cost time and gigabytes of disk.
    env::set_var("CARGO_INCREMENTAL", "0");
    let mut timings: BTreeMap<usize, (&str, f64)> = BTreeMap::new();
    let mut step = |name: &'static str, f: &mut dyn FnMut() -> Result| -> Result {
        let t = Instant::now();
        eprintln!("xtask: ==== {name}");
        let r = f();
        timings.insert(timings.len(), (name, t.elapsed().as_secs_f64()));
        r.map_err(|e| format!("step `{name}`: {e}"))
    };

    step("fmt", &mut || {
        let mut c = cargo();
        c.args(["fmt", "--all", "--check"]);
        run(c)
    })?;
    step("clippy", &mut || {
        let mut c = cargo();
        c.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]);
        run(c)
    })?;
    step("test", &mut || test_workspace(&[]))?;
    step("doc", &mut || {
        let mut c = cargo();
        c.args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings");
        run(c)
    })?;
    step("package", &mut package::check)?;
    if !args.iter().any(|a| a == "--no-fuzz") {
        step("fuzz smoke", &mut || fuzz_all(fuzz_seconds))?;
    }
    if !args.iter().any(|a| a == "--no-interop") {
        step("interop", &mut || interop(&[]))?;
    }

    eprintln!("xtask: ci passed");
    for (name, secs) in timings.values() {
        eprintln!("xtask:   {name:<12} {secs:>7.1} s");
    }
    Ok(())
}

/// `cargo test` for the whole workspace: nextest when installed (faster on many
/// test binaries), then doctests, which nextest does not run.
fn test_workspace(extra: &[&str]) -> Result {
    if have("cargo-nextest") {
        let mut c = cargo();
        c.args([
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ])
        .args(extra);
        run(c)?;
        let mut c = cargo();
        c.args(["test", "--workspace", "--all-features", "--doc"]);
        run(c)
    } else {
        let mut c = cargo();
        c.args(["test", "--workspace", "--all-features", "--no-fail-fast"])
            .args(extra);
        run(c)
    }
}

/// Interop tests are `#[ignore]`d tests whose names start with `interop_`: plain
/// `cargo test` lists them as ignored; here the tools they need are installed first
/// and they run for real (and fail if a tool is missing).
///
/// Then the interop matrix (see `interop.rs`): `--matrix-only` skips the tests,
/// `--no-matrix` the matrix, `--rows=PAT` picks matrix rows, `--all-pairs` adds the rows
/// without oxrtc.
fn interop(args: &[String]) -> Result {
    if args.first().map(String::as_str) == Some(interop::ROW_COMMAND) {
        return interop::row(&args[1..]); // one matrix row, inside its namespace
    }
    setup::system()?;
    if args.iter().any(|a| a == "--matrix-only") {
        return interop::matrix(args);
    }
    let filter = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "interop_".into());
    let mut c = cargo();
    c.args([
        "test",
        "--workspace",
        "--all-features",
        "--release",
        "--",
        "--ignored",
        "--test-threads=1",
        &filter,
    ])
    .env("OXRTC_INTEROP", "1");
    // The matrix runs even when a test failed: both results are worth seeing.
    let tests = run(c);
    let matrix = interop::matrix(args);
    tests.and(matrix)
}

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

/// The fuzz targets: one file per target under `fuzz/fuzz_targets/`.
fn fuzz_targets() -> Result<Vec<String>> {
    let dir = fuzz_dir().join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "rs").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

fn ensure_cargo_fuzz() -> Result {
    let ok = cargo()
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Ok(());
    }
    let mut c = cargo();
    c.args(["install", "cargo-fuzz", "--locked"]);
    run(c)
}

fn fuzz_cmd(sub: &str) -> Command {
    let mut c = cargo();
    c.current_dir(fuzz_dir())
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", sub]);
    c
}

fn fuzz(args: &[String]) -> Result {
    if args.iter().any(|a| a == "--list") {
        for t in fuzz_targets()? {
            println!("{t}");
        }
        return Ok(());
    }
    let seconds: u64 = flag_value(args, "--seconds")
        .ok_or("fuzz needs --seconds N")?
        .parse()
        .map_err(|_| "--seconds takes a number")?;
    if args.iter().any(|a| a == "--all") {
        return fuzz_all(seconds);
    }
    let target = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .ok_or("fuzz needs a TARGET or --all")?;
    if !fuzz_targets()?.contains(target) {
        return Err(format!(
            "no fuzz target `{target}` (see `cargo xtask fuzz --list`)"
        ));
    }
    ensure_cargo_fuzz()?;
    fuzz_one(target, seconds)
}

fn fuzz_all(seconds: u64) -> Result {
    let targets = fuzz_targets()?;
    if targets.is_empty() {
        return Ok(());
    }
    ensure_cargo_fuzz()?;
    // One build of every target first: much cheaper than a build per run.
    let mut c = fuzz_cmd("build");
    c.arg("--release");
    run(c)?;
    for t in &targets {
        fuzz_one(t, seconds)?;
    }
    Ok(())
}

fn fuzz_one(target: &str, seconds: u64) -> Result {
    // New inputs go to a scratch corpus under target/; the committed seeds stay as they are.
    let scratch = root().join("target").join("fuzz-corpus").join(target);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let seeds = fuzz_dir().join("corpus").join(target);
    let mut c = fuzz_cmd("run");
    c.args(["--release", target]).arg(&scratch);
    if seeds.is_dir() {
        c.arg(&seeds);
    }
    c.args([
        "--",
        &format!("-max_total_time={seconds}"),
        "-rss_limit_mb=2048",
        "-max_len=65536",
        "-print_final_stats=1",
    ]);
    run(c)
}
