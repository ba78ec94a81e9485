//! Publishability checks: every library crate carries the metadata crates.io needs and
//! can be packaged on its own (path dependencies also carry versions).

use crate::{cargo, root, run, Result};
use serde_json::Value;

pub(crate) fn check() -> Result {
    let out = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let meta: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let crates_dir = root().join("crates");
    let mut problems = Vec::new();
    let mut names = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let manifest = pkg["manifest_path"].as_str().unwrap_or_default();
        if !manifest.starts_with(crates_dir.to_str().unwrap_or("\0")) {
            continue;
        }
        let name = pkg["name"].as_str().unwrap_or("?").to_string();
        let mut need = |ok: bool, what: &str| {
            if !ok {
                problems.push(format!("{name}: {what}"));
            }
        };
        let nonempty = |k: &str| pkg[k].as_str().is_some_and(|s| !s.trim().is_empty());
        need(nonempty("description"), "no description");
        need(nonempty("license"), "no license");
        need(nonempty("repository"), "no repository");
        need(
            pkg["publish"].as_array().is_none_or(|a| !a.is_empty()),
            "publish = false",
        );
        let kw = pkg["keywords"].as_array().map_or(0, Vec::len);
        need((1..=5).contains(&kw), "needs 1 to 5 keywords");
        let cats = pkg["categories"].as_array().map_or(0, Vec::len);
        need((1..=5).contains(&cats), "needs 1 to 5 categories");
        let readme_ok = pkg["readme"].as_str().is_some_and(|r| {
            std::path::Path::new(manifest)
                .parent()
                .is_some_and(|dir| dir.join(r).is_file())
        });
        need(readme_ok, "no README file");
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            // cargo strips versionless path dev-dependencies when packaging; others need one.
            let dev = dep["kind"].as_str() == Some("dev");
            if !dev && dep["path"].is_string() && dep["req"].as_str() == Some("*") {
                let dep_name = dep["name"].as_str().unwrap_or("?");
                problems.push(format!("{name}: path dependency {dep_name} has no version"));
            }
        }
        names.push(name);
    }
    if !problems.is_empty() {
        return Err(format!("not publishable:\n  {}", problems.join("\n  ")));
    }
    if names.is_empty() {
        return Ok(());
    }
    // cargo's own checks (file list, manifest normalisation, path deps carrying
    // versions), all crates at once so unpublished siblings resolve locally.
    let mut c = cargo();
    c.args(["package", "--no-verify", "--allow-dirty", "--quiet"]);
    for n in &names {
        c.args(["--package", n]);
    }
    run(c)
}
