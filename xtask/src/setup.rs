//! Idempotent installation of what the interop tests need, so CI passes on a fresh
//! Debian machine: Debian packages via apt-get (when root) and Python packages in a
//! virtualenv under `target/interop/venv`.

use crate::{have, root, run, Result};
use std::path::PathBuf;
use std::process::Command;

/// (program that must be on PATH, Debian package that provides it)
const DEBIAN: &[(&str, &str)] = &[
    ("turnserver", "coturn"),
    ("turnutils_stunclient", "coturn"),
    // oxrtc-turn: the load generator and echo peer of its interop tests
    ("turnutils_uclient", "coturn"),
    ("turnutils_peer", "coturn"),
    ("openssl", "openssl"),
    // the interop matrix (xtask/src/interop.rs): Chromium driven over the DevTools protocol
    // by a Node script, each row in a loopback-only network namespace
    ("chromium", "chromium"),
    ("node", "nodejs"),
    ("ip", "iproute2"),
];

/// Python packages for the interop virtualenv, pinned so runs are repeatable.
const PYTHON: &[&str] = &[
    // oxrtc-srtp: libsrtp as the SRTP/SRTCP oracle (wheels bundle libsrtp with GCM)
    "pylibsrtp==1.0.0",
    // the interop matrix: aiortc as a peer (interop/aiortc_peer.py)
    "aiortc==1.16.0",
];

/// The virtualenv's python, for tests that drive Python peers.
pub(crate) fn venv_python() -> PathBuf {
    root().join("target/interop/venv/bin/python")
}

pub(crate) fn system() -> Result {
    let mut missing: Vec<&str> = DEBIAN
        .iter()
        .filter(|(bin, _)| !have(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        let root_user = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false);
        if !root_user {
            return Err(format!(
                "missing Debian packages {missing:?}; install them (apt-get install {})",
                missing.join(" ")
            ));
        }
        let mut c = Command::new("apt-get");
        c.args(["update", "-qq"]);
        run(c)?;
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(c)?;
    }
    if !PYTHON.is_empty() {
        python_venv()?;
    }
    Ok(())
}

fn python_venv() -> Result {
    let py = venv_python();
    if !py.exists() {
        let mut c = Command::new("python3");
        c.args(["-m", "venv"])
            .arg(root().join("target/interop/venv"));
        run(c)?;
    }
    // pip is quick when everything is already there.
    let mut c = Command::new(&py);
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(PYTHON);
    run(c)
}
