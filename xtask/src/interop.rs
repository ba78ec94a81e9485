//! The interop matrix: every peer offers to every peer (itself included) in every scenario of
//! the CLI signaling contract (DESIGN.md, "Signaling used by the CLI"; interop/README.md).
//!
//! A row is: the answerer started with `answer --listen 127.0.0.1:PORT` on a free port, a wait
//! for `GET /health`, the offerer run with `offer --url http://127.0.0.1:PORT/offer --scenario S`,
//! its one JSON line parsed, everything killed. Each row runs inside a network namespace that
//! has only `lo` (Chromium probes every interface it sees): the matrix creates
//! `oxrtc-interop-<pid>`, runs each row as `ip netns exec NS xtask interop __row ...` (so the
//! row's own health check and both peers share that loopback), kills whatever a row left in the
//! namespace, and deletes it at the end.
//!
//! Results: a table on stdout and `target/interop/results.json`; peer logs under
//! `target/interop/logs/`.

use crate::{root, run, Result};
use serde_json::{json, Value};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A peer of the matrix: `PROGRAM... answer --listen ADDR` and `PROGRAM... offer --url URL
/// --scenario S` per the contract. Paths with a `/` are relative to the workspace root.
struct Peer {
    name: &'static str,
    command: &'static [&'static str],
    /// While this workspace path is missing the peer's rows are skipped ("not built yet");
    /// once it exists they run and must pass. `build` is then run first (cargo arguments).
    requires: Option<&'static str>,
    build: &'static [&'static str],
}

const PEERS: &[Peer] = &[
    Peer {
        name: "aiortc",
        command: &["target/interop/venv/bin/python", "interop/aiortc_peer.py"],
        requires: None,
        build: &[],
    },
    Peer {
        name: "chromium",
        command: &["node", "interop/chromium_peer.mjs"],
        requires: None,
        build: &[],
    },
    Peer {
        name: "oxrtc",
        command: &["target/release/oxrtc"],
        requires: Some("crates/cli"),
        build: &[
            "build",
            "--release",
            "--manifest-path",
            "crates/cli/Cargo.toml",
        ],
    },
];

/// A scenario: its name, extra offerer arguments and the offerer's time limit.
struct Scenario {
    name: &'static str,
    args: &'static [&'static str],
    timeout: Duration,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "dc-echo",
        args: &[],
        timeout: Duration::from_secs(60),
    },
    Scenario {
        // 64 MiB (the contract's default) in 64 KiB messages.
        name: "dc-bulk",
        args: &[],
        timeout: Duration::from_secs(240),
    },
    Scenario {
        name: "media-echo",
        args: &[],
        timeout: Duration::from_secs(90),
    },
];

/// How long an answerer may take to answer `GET /health` (Chromium starts in about a second).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

/// The hidden subcommand that runs one row inside the namespace.
pub(crate) const ROW_COMMAND: &str = "__row";

fn resolve(part: &str) -> PathBuf {
    if part.contains('/') {
        root().join(part)
    } else {
        PathBuf::from(part)
    }
}

fn peer_command(peer: &Peer) -> Command {
    let mut c = Command::new(resolve(peer.command[0]));
    for p in &peer.command[1..] {
        c.arg(resolve(p));
    }
    c.current_dir(root());
    c
}

fn find_peer(name: &str) -> Result<&'static Peer> {
    PEERS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| format!("no interop peer `{name}`"))
}

fn find_scenario(name: &str) -> Result<&'static Scenario> {
    SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("no interop scenario `{name}`"))
}

fn logs_dir() -> PathBuf {
    root().join("target/interop/logs")
}

// ---------------------------------------------------------------------------------------------
// processes
// ---------------------------------------------------------------------------------------------

/// A started process, ended (SIGTERM, then SIGKILL) when dropped.
struct Guard {
    child: Child,
    what: String,
}

impl Guard {
    fn spawn(mut cmd: Command, what: &str) -> Result<Guard> {
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {what} ({cmd:?}): {e}"))?;
        Ok(Guard {
            child,
            what: what.to_string(),
        })
    }

    /// Waits until the process exits or `limit` passes.
    fn wait_timeout(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(50)),
                _ => return None,
            }
        }
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.exited() {
            return;
        }
        // A chance to clean up (Chromium's profile directory), then the hard way.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if self.wait_timeout(Duration::from_secs(3)).is_none() {
            eprintln!("xtask: killing {}", self.what);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback-only network namespace, deleted (with every process left in it) when dropped.
struct Netns {
    name: String,
}

impl Netns {
    fn create() -> Result<Netns> {
        remove_stale_namespaces();
        let name = format!("oxrtc-interop-{}", std::process::id());
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .map_err(|e| format!("cannot run `ip netns add` (iproute2): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`ip netns add {name}` failed ({}): the interop matrix runs each row in a \
                 loopback-only network namespace, which needs root",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let ns = Netns { name };
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]);
        run(c)?;
        Ok(ns)
    }

    /// Kills every process still in the namespace; true when some had to be killed.
    fn sweep(&self) -> bool {
        kill_namespace_processes(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.sweep();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn kill_namespace_processes(name: &str) -> bool {
    let mut killed = false;
    for _ in 0..50 {
        let pids: Vec<String> = Command::new("ip")
            .args(["netns", "pids", name])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if pids.is_empty() {
            return killed;
        }
        killed = true;
        let _ = Command::new("kill").arg("-KILL").args(&pids).status();
        thread::sleep(Duration::from_millis(100));
    }
    killed
}

/// Namespaces of earlier runs whose xtask died without cleaning up (e.g. on Ctrl-C).
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name.strip_prefix("oxrtc-interop-") else {
            continue;
        };
        if Path::new("/proc").join(pid).exists() {
            continue; // another run, still alive
        }
        eprintln!("xtask: removing stale network namespace {name}");
        kill_namespace_processes(name);
        let _ = Command::new("ip").args(["netns", "del", name]).status();
    }
}

// ---------------------------------------------------------------------------------------------
// one row (runs inside the namespace)
// ---------------------------------------------------------------------------------------------

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn health_ok(port: u16) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).is_ok()
        && line
            .split_whitespace()
            .nth(1)
            .is_some_and(|code| code == "200")
}

fn log_file(path: &Path) -> Result<Stdio> {
    fs::File::create(path)
        .map(Stdio::from)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A path as shown to people: relative to the workspace root.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `xtask interop __row OFFERER ANSWERER SCENARIO`: prints one JSON line
/// `{"ok":..,"result":{offerer's line}|null,"error":".."}` and exits 0 either way.
pub(crate) fn row(args: &[String]) -> Result {
    let [offerer, answerer, scenario] = args else {
        return Err(format!(
            "usage: xtask interop {ROW_COMMAND} OFFERER ANSWERER SCENARIO"
        ));
    };
    let out = match run_row(offerer, answerer, scenario) {
        Ok(result) => {
            let ok = result.get("ok") == Some(&Value::Bool(true));
            let error = result.get("error").cloned().unwrap_or(Value::Null);
            json!({"ok": ok, "result": result, "error": error})
        }
        Err(e) => json!({"ok": false, "result": null, "error": e}),
    };
    println!("{out}");
    Ok(())
}

fn run_row(offerer: &str, answerer: &str, scenario: &str) -> Result<Value> {
    let (off, ans, sc) = (
        find_peer(offerer)?,
        find_peer(answerer)?,
        find_scenario(scenario)?,
    );
    let dir = logs_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stem = format!("{offerer}-to-{answerer}-{scenario}");
    let ans_log = dir.join(format!("{stem}.answer.log"));
    let off_log = dir.join(format!("{stem}.offer.log"));

    let port = free_port()?;
    let mut c = peer_command(ans);
    c.args(["answer", "--listen", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(log_file(&ans_log)?)
        .stderr(log_file(&ans_log)?);
    let mut answer = Guard::spawn(c, &format!("{answerer} answerer"))?;

    let t = Instant::now();
    while !health_ok(port) {
        if answer.exited() {
            return Err(format!(
                "the {answerer} answerer exited before GET /health answered (log: {}):\n{}",
                shown(&ans_log),
                tail(&ans_log, 15)
            ));
        }
        if t.elapsed() > HEALTH_TIMEOUT {
            return Err(format!(
                "the {answerer} answerer gave no 200 on GET /health within {} s (log: {}):\n{}",
                HEALTH_TIMEOUT.as_secs(),
                shown(&ans_log),
                tail(&ans_log, 15)
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }

    let mut c = peer_command(off);
    c.args([
        "offer",
        "--url",
        &format!("http://127.0.0.1:{port}/offer"),
        "--scenario",
        scenario,
    ])
    .args(sc.args)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(log_file(&off_log)?);
    let mut offer = Guard::spawn(c, &format!("{offerer} offerer"))?;
    let mut stdout = offer.child.stdout.take().ok_or("no offerer stdout")?;
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let status = offer.wait_timeout(sc.timeout);
    drop(offer); // ends it on a timeout, so the reader sees EOF
    let printed = reader.join().unwrap_or_default();
    let line = printed
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .find(|v| v.get("ok").is_some());
    drop(answer);
    let Some(status) = status else {
        return Err(format!(
            "the {offerer} offerer gave no result within {} s (log: {}):\n{}",
            sc.timeout.as_secs(),
            shown(&off_log),
            tail(&off_log, 15)
        ));
    };
    let Some(mut line) = line else {
        return Err(format!(
            "the {offerer} offerer ({status}) printed no JSON result line (log: {}):\n{}",
            shown(&off_log),
            tail(&off_log, 15)
        ));
    };
    // The line must agree with the exit status and name the right peer and scenario.
    let ok = line.get("ok") == Some(&Value::Bool(true));
    let mut problems = Vec::new();
    if ok != status.success() {
        problems.push(format!("\"ok\":{ok} but exit status {status}"));
    }
    if line.get("peer").and_then(Value::as_str) != Some(offerer) {
        problems.push(format!(
            "\"peer\" is {}",
            line.get("peer").unwrap_or(&Value::Null)
        ));
    }
    if line.get("scenario").and_then(Value::as_str) != Some(scenario) {
        problems.push(format!(
            "\"scenario\" is {}",
            line.get("scenario").unwrap_or(&Value::Null)
        ));
    }
    if !problems.is_empty() {
        if let Some(obj) = line.as_object_mut() {
            obj.insert("ok".into(), Value::Bool(false));
            obj.insert(
                "error".into(),
                Value::String(format!("contract: {}", problems.join("; "))),
            );
        }
    }
    Ok(line)
}

// ---------------------------------------------------------------------------------------------
// the matrix
// ---------------------------------------------------------------------------------------------

struct RowOutcome {
    offerer: &'static str,
    answerer: &'static str,
    scenario: &'static str,
    /// "ok", "failed" or "skipped"
    status: &'static str,
    note: String,
    result: Value,
    seconds: f64,
}

fn wanted(rows: &[String], label: &str) -> bool {
    rows.is_empty() || rows.iter().any(|r| label.contains(r.as_str()))
}

/// Runs the matrix. By default the rows with oxrtc on one side or both; `--all-pairs` adds
/// the rows between the outside peers. `--rows=PAT[,PAT]` keeps the rows whose label
/// (`offerer>answerer:scenario`) contains one of the patterns; `--no-matrix` skips it.
pub(crate) fn matrix(args: &[String]) -> Result {
    if args.iter().any(|a| a == "--no-matrix") {
        return Ok(());
    }
    let mut rows: Vec<String> = args
        .iter()
        .filter_map(|a| a.strip_prefix("--rows="))
        .flat_map(|v| v.split(','))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if rows.is_empty() && !args.iter().any(|a| a == "--all-pairs") {
        // Rows between two outside stacks check the harness, not oxrtc (about two minutes
        // of CI): they run on request.
        rows.push("oxrtc".to_owned());
    }

    // Which peers exist; build those that need it.
    let mut missing: Vec<(&str, String)> = Vec::new();
    for p in PEERS {
        if let Some(req) = p.requires {
            if !root().join(req).exists() {
                missing.push((p.name, format!("not built yet ({req} does not exist)")));
                continue;
            }
        }
        let used = SCENARIOS.iter().any(|s| {
            PEERS.iter().any(|q| {
                wanted(&rows, &format!("{}>{}:{}", p.name, q.name, s.name))
                    || wanted(&rows, &format!("{}>{}:{}", q.name, p.name, s.name))
            })
        });
        if used && !p.build.is_empty() {
            let mut c = crate::cargo();
            c.args(p.build);
            run(c)?;
        }
    }

    let exe = std::env::current_exe().map_err(|e| format!("cannot find xtask's binary: {e}"))?;
    let ns = Netns::create()?;
    let started = Instant::now();
    let mut outcomes: Vec<RowOutcome> = Vec::new();
    for off in PEERS {
        for ans in PEERS {
            for sc in SCENARIOS {
                let label = format!("{}>{}:{}", off.name, ans.name, sc.name);
                if !wanted(&rows, &label) {
                    continue;
                }
                let mut o = RowOutcome {
                    offerer: off.name,
                    answerer: ans.name,
                    scenario: sc.name,
                    status: "skipped",
                    note: String::new(),
                    result: Value::Null,
                    seconds: 0.0,
                };
                if let Some((name, why)) = missing
                    .iter()
                    .find(|(n, _)| *n == off.name || *n == ans.name)
                {
                    o.note = format!("{name} {why}");
                    outcomes.push(o);
                    continue;
                }
                eprint!(
                    "xtask: interop {} → {} {} ... ",
                    off.name, ans.name, sc.name
                );
                let _ = std::io::stderr().flush();
                let t = Instant::now();
                let r = run_row_in(&ns, &exe, off.name, ans.name, sc);
                o.seconds = t.elapsed().as_secs_f64();
                match r {
                    Ok(v) => {
                        let ok = v.get("ok") == Some(&Value::Bool(true));
                        o.status = if ok { "ok" } else { "failed" };
                        o.result = v.get("result").cloned().unwrap_or(Value::Null);
                        if let Some(e) = v.get("error").and_then(Value::as_str) {
                            o.note = e.to_string();
                        }
                    }
                    Err(e) => {
                        o.status = "failed";
                        o.note = e;
                    }
                }
                if ns.sweep() {
                    o.note = format!("{} (processes were left behind and killed)", o.note)
                        .trim()
                        .to_string();
                }
                eprintln!("{} ({:.1} s)", o.status, o.seconds);
                if o.status == "failed" {
                    eprintln!("xtask:   {}", o.note.replace('\n', "\nxtask:   "));
                }
                outcomes.push(o);
            }
        }
    }
    drop(ns);

    print_table(&outcomes, started.elapsed().as_secs_f64());
    write_results(&outcomes)?;
    let failed = outcomes.iter().filter(|o| o.status == "failed").count();
    if failed > 0 {
        return Err(format!("{failed} interop matrix row(s) failed"));
    }
    Ok(())
}

/// Runs one row in a child xtask inside the namespace; its time limit covers the answerer's
/// start, the scenario and the cleanup.
fn run_row_in(ns: &Netns, exe: &Path, off: &str, ans: &str, sc: &Scenario) -> Result<Value> {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &ns.name])
        .arg(exe)
        .args(["interop", ROW_COMMAND, off, ans, sc.name])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut g = Guard::spawn(c, "interop row")?;
    let mut stdout = g.child.stdout.take().ok_or("no row stdout")?;
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let limit = HEALTH_TIMEOUT + sc.timeout + Duration::from_secs(30);
    let status = g.wait_timeout(limit);
    drop(g);
    ns.sweep(); // so the reader sees EOF even if a peer kept the pipe open
    let printed = reader.join().unwrap_or_default();
    if status.is_none() {
        return Err(format!("the row took more than {} s", limit.as_secs()));
    }
    printed
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .ok_or_else(|| format!("the row process printed no result ({printed:?})"))
}

fn f64_of(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// MB/s (10^6 bytes per second) of the echoed payload, or None where it means nothing.
fn megabytes_per_second(o: &RowOutcome) -> Option<f64> {
    if o.status != "ok" || o.scenario == "media-echo" {
        return None;
    }
    let bytes = f64_of(&o.result, "bytes")?;
    let secs = f64_of(&o.result, "seconds")?;
    (secs > 0.0).then(|| bytes / secs / 1e6)
}

fn detail(o: &RowOutcome) -> String {
    let mut parts = Vec::new();
    if o.status == "ok" {
        let r = &o.result;
        match o.scenario {
            "media-echo" => {
                if let (Some(v), Some(a)) = (f64_of(r, "video_frames"), f64_of(r, "audio_frames")) {
                    parts.push(format!("{v} video + {a} audio frames back"));
                }
            }
            _ => {
                if let (Some(m), Some(b)) = (f64_of(r, "messages"), f64_of(r, "bytes")) {
                    parts.push(format!("{m} msgs, {:.1} MB", b / 1e6));
                }
            }
        }
        if let Some(s) = r.get("skipped_sizes").and_then(Value::as_array) {
            if !s.is_empty() {
                let list: Vec<String> = s.iter().map(Value::to_string).collect();
                parts.push(format!("skipped sizes {}", list.join(",")));
            }
        }
    }
    if !o.note.is_empty() {
        parts.push(o.note.lines().next().unwrap_or("").to_string());
    }
    parts.join("; ")
}

fn print_table(outcomes: &[RowOutcome], total: f64) {
    println!();
    println!(
        "{:<22} {:<11} {:<7} {:>8} {:>9} {:>7}  notes",
        "offerer → answerer", "scenario", "result", "MB/s", "setup ms", "secs"
    );
    println!("{}", "-".repeat(100));
    for o in outcomes {
        let pair = format!("{} → {}", o.offerer, o.answerer);
        let rate = megabytes_per_second(o).map_or("-".into(), |r| format!("{r:.2}"));
        let setup = f64_of(&o.result, "setup_ms").map_or("-".into(), |s| format!("{s:.0}"));
        let secs = if o.status == "skipped" {
            "-".into()
        } else {
            format!("{:.1}", o.seconds)
        };
        // `{:<22}` counts the arrow as one char, as it is displayed
        println!(
            "{pair:<22} {:<11} {:<7} {rate:>8} {setup:>9} {secs:>7}  {}",
            o.scenario,
            o.status,
            detail(o)
        );
    }
    let count = |s: &str| outcomes.iter().filter(|o| o.status == s).count();
    println!(
        "{} ok, {} failed, {} skipped in {total:.0} s",
        count("ok"),
        count("failed"),
        count("skipped")
    );
}

fn write_results(outcomes: &[RowOutcome]) -> Result {
    let rows: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "offerer": o.offerer,
                "answerer": o.answerer,
                "scenario": o.scenario,
                "status": o.status,
                "megabytes_per_second": megabytes_per_second(o),
                "row_seconds": (o.seconds * 10.0).round() / 10.0,
                "note": o.note,
                "result": o.result,
            })
        })
        .collect();
    let path = root().join("target/interop/results.json");
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&json!({ "rows": rows }))
        .map_err(|e| format!("results.json: {e}"))?;
    fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}
