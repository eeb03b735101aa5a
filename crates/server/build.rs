//! Embeds the built dashboard (`dashboard/dist`, made by `npm run build`) in the server
//! binary: each file with its precompressed brotli and gzip copies and an ETag. Without a
//! build the table is empty and the server says how to make one.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let default_dist = manifest.join("../../dashboard/dist");
    println!("cargo:rerun-if-changed={}", default_dist.display());
    println!("cargo:rerun-if-env-changed=OPTRALIS_DASHBOARD_DIST");
    let dist = std::env::var_os("OPTRALIS_DASHBOARD_DIST").map_or(default_dist, PathBuf::from);

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        walk(&dist, &mut files);
    }
    // Sorted by the served path: the server looks files up by binary search.
    let mut served = Vec::new();
    for path in files {
        if matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            continue;
        }
        let rel = path
            .strip_prefix(&dist)?
            .to_string_lossy()
            .replace('\\', "/");
        served.push((format!("/{rel}"), path.canonicalize()?));
    }
    served.sort();

    let mut out = String::from("pub static ASSETS: &[Asset] = &[\n");
    for (served_path, path) in &served {
        let bytes = std::fs::read(path)?;
        let variant = |ext: &str| -> Result<String, std::io::Error> {
            let p = PathBuf::from(format!("{}.{ext}", path.display()));
            Ok(if p.is_file() {
                format!("Some(include_bytes!({:?}))", p.canonicalize()?)
            } else {
                "None".to_owned()
            })
        };
        writeln!(
            out,
            "    Asset {{ path: {served_path:?}, etag: \"\\\"{:016x}\\\"\", raw: include_bytes!({path:?}), br: {}, gzip: {} }},",
            fnv1a(&bytes),
            variant("br")?,
            variant("gz")?,
        )?;
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR")?).join("dashboard.rs");
    std::fs::write(target, out)?;
    Ok(())
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// FNV-1a: a stable content hash for the ETag, with no build dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
