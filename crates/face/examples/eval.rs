//! The evaluation without the rest of the binary (same library calls as `probity eval`):
//! `cargo run --release -p probity-face --example eval -- [ALGORITHM ...]`.
//! Env: PROBITY_TEST_DATA (faces), PROBITY_EVAL_DIR (default .probity/eval),
//! PROBITY_EVAL_DETECTION (`probe`, the default, or `repository`).

use std::path::{Path, PathBuf};

use probity_face::eval::{evaluate_algorithm, roc::roc_svg, EvalDetection, LfwData};
use probity_face::{lookup, model_dir, REGISTRY};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data_root = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared/data"));
    let out = std::env::var_os("PROBITY_EVAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".probity/eval"));
    std::fs::create_dir_all(&out)?;
    let data = LfwData::open(&data_root.join("faces"))?;
    let names: Vec<String> = std::env::args().skip(1).collect();
    let specs = if names.is_empty() {
        REGISTRY.iter().collect::<Vec<_>>()
    } else {
        names
            .iter()
            .map(|n| lookup(n))
            .collect::<Result<Vec<_>, _>>()?
    };
    let detection: EvalDetection = std::env::var("PROBITY_EVAL_DETECTION")
        .unwrap_or_else(|_| "probe".into())
        .parse()?;
    let mut curves = Vec::new();
    for spec in specs {
        let suffix = detection.cache_suffix();
        let t = std::time::Instant::now();
        let record = evaluate_algorithm(
            spec,
            &data,
            &model_dir(),
            &out,
            detection,
            2,
            None,
            &|id, d, n| {
                if d % 500 == 0 || d == n {
                    eprintln!("{id}: {d}/{n}");
                }
            },
        )?;
        eprintln!(
            "{}: evaluated in {:.0}s",
            spec.name,
            t.elapsed().as_secs_f64()
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "algorithm": record.algorithm.to_string(),
                "verification": record.verification,
                "identification": record.identification,
                "faces_by_hog": record.faces_by_hog,
                "faces_by_cnn": record.faces_by_cnn,
                "faces_by_centre_box": record.faces_by_centre_box,
            }))?
        );
        std::fs::write(
            out.join(format!(
                "evaluation-{}-{}{suffix}.json",
                spec.name, spec.version
            )),
            serde_json::to_string_pretty(&record)?,
        )?;
        curves.push((record.algorithm.to_string(), record.roc.clone()));
    }
    std::fs::write(out.join("roc.svg"), roc_svg(&curves))?;
    Ok(())
}
