//! The `oxrtc serve` page in headless Chromium (Debian's `chromium`, driven over the
//! DevTools protocol by `tests/serve_page.mjs`): it loads, connects with the fake camera,
//! a chat message comes back echoed and the reflected camera plays; the screenshot goes to
//! `target/interop/serve-page.png`. Run by `cargo xtask interop`; fails if Chromium or node
//! is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_chromium_serve_page() {
    let mut serve = Guard(
        Command::new(env!("CARGO_BIN_EXE_oxrtc"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(serve.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serve prints its URL")
        .to_owned();
    let shot = root().join("target/interop/serve-page.png");
    let mut page = Guard(
        Command::new("node")
            .arg(root().join("crates/cli/tests/serve_page.mjs"))
            .arg(&url)
            .arg(&shot)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node must be installed (cargo xtask interop installs it)"),
    );
    let end = Instant::now() + Duration::from_secs(90);
    while page.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "the page test did not finish in 90 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut page.0.stdout.take().unwrap(), &mut out).unwrap();
    println!("{out}");
    let v: Value = serde_json::from_str(out.lines().last().unwrap_or("{}")).unwrap();
    assert!(v.get("error").is_none(), "{v}");
    let state = &v["state"];
    assert_eq!(state["state"], "connected", "{v}");
    assert_eq!(
        state["echoes"],
        serde_json::json!(["hello from Chromium"]),
        "{v}"
    );
    assert_eq!(
        state["videoOffered"], true,
        "the fake camera was not used: {v}"
    );
    // The camera came back: the reflected video plays (its size is known, and Chromium's
    // getStats counts frames decoded on the inbound video).
    assert_eq!(state["videoAnswered"], true, "{v}");
    assert_eq!(state["videoReflected"], true, "{v}");
    // (Chromium's encoder may scale its 320x240 camera down; never up.)
    let (w, h) = (
        state["reflectedWidth"].as_u64().unwrap_or(0),
        state["reflectedHeight"].as_u64().unwrap_or(0),
    );
    assert!((1..=320).contains(&w) && (1..=240).contains(&h), "{v}");
    assert!(state["framesDecoded"].as_u64().unwrap_or(0) > 30, "{v}");
    assert_eq!(state["serverReflected"], 1, "{v}");
    // Both ends' stats are on the page.
    let stats = v["stats"].as_str().unwrap();
    assert!(stats.contains("channel chat"), "{stats}");
    assert!(stats.contains("session"), "{stats}");
    assert!(stats.contains("inbound video"), "{stats}");
    assert!(stats.contains("outbound video (reflected)"), "{stats}");
    assert!(shot.exists());
}
