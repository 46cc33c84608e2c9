//! `probity eval`: accuracy of each registered algorithm on the development faces (FR-23):
//! LFW-protocol verification, 1:N identification, optional per-group breakdown; writes the
//! evaluation record (JSON) and the ROC curve (SVG).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use probity_face::eval::{evaluate_algorithm, read_labels, roc::roc_svg, EvalDetection, LfwData};
use probity_face::{lookup, model_dir, registered};

#[derive(Args)]
pub struct EvalArgs {
    /// Algorithm to evaluate (default: every registered algorithm).
    #[arg(long)]
    algorithm: Vec<String>,
    /// Labels file `name,group` for a per-group breakdown (aggregate audit only).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Folder with lfw/ and pairs_dev.txt (default: $PROBITY_TEST_DATA/faces).
    #[arg(long)]
    faces: Option<PathBuf>,
    /// Output folder for records, ROC and embedding caches.
    #[arg(long, default_value = ".probity/eval")]
    out: PathBuf,
    /// First detection pass: `probe` (one doubling, as probes are detected) or `repository`
    /// (the photo's own scale, doubled only when no face is found, as gallery photos are enrolled).
    #[arg(long, default_value = "probe")]
    detection: EvalDetection,
    /// Worker threads for embedding.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long, env = "PROBITY_MODEL_DIR")]
    models: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let faces = match args.faces {
        Some(f) => f,
        None => {
            let base = std::env::var_os("PROBITY_TEST_DATA")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("../shared/data"));
            base.join("faces")
        }
    };
    let data = LfwData::open(&faces).with_context(|| {
        format!(
            "development faces not found in {} (set --faces or PROBITY_TEST_DATA)",
            faces.display()
        )
    })?;
    let labels = args.labels.as_deref().map(read_labels).transpose()?;
    // The record names the data read, not a fixed description (FR-23).
    let described = data.describe();
    println!("data: {}", described.summary());
    let specs = if args.algorithm.is_empty() {
        registered()
    } else {
        args.algorithm
            .iter()
            .map(|a| lookup(a))
            .collect::<Result<Vec<_>, _>>()?
    };
    let models = args.models.clone().unwrap_or_else(model_dir);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let images = data.all_images();
    let mut curves = Vec::new();
    for spec in specs {
        let bar = ProgressBar::new(images.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} faces {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(spec.id().to_string());
        bar.enable_steady_tick(Duration::from_millis(500));
        let record = evaluate_algorithm(
            spec,
            &data,
            &models,
            &args.out,
            args.detection,
            args.threads,
            labels.as_ref(),
            &|id, d, _| {
                bar.set_message(id.to_string());
                bar.set_position(d)
            },
        )?;
        bar.finish();
        let v = &record.verification;
        let i = &record.identification;
        println!(
            "{}: verification {:.2}% ± {:.2} ({} folds, {} pairs), TAR@FAR=0.001 {:.2}%, AUC {:.4}",
            record.algorithm,
            v.accuracy_mean * 100.0,
            v.accuracy_std * 100.0,
            described.folds,
            v.pairs,
            v.tar_at_far_0_001 * 100.0,
            v.auc
        );
        if let Some(t) = &v.tar_at_far_0_001_all_non_mated {
            println!(
                "    TAR@FAR=0.001 against the 1:N split's non-mated comparisons: {:.2}% (threshold {:.4}, {} comparisons, FAR measured {:.5})",
                t.tar * 100.0,
                t.threshold,
                t.non_mated_comparisons,
                t.far_measured
            );
        }
        println!(
            "    identification ({} probes, gallery {}): rank-1 {:.2}%, rank-10 {:.2}%, FNIR@FPIR=0.003 {:.2}%, FNIR@50 candidates {:.2}%",
            i.probes,
            i.gallery_size,
            i.rank1 * 100.0,
            i.rank10 * 100.0,
            i.fnir_at_fpir_0_003 * 100.0,
            i.fnir_50_candidates * 100.0
        );
        println!(
            "    faces: {} HOG, {} CNN, {} centre box",
            record.faces_by_hog, record.faces_by_cnn, record.faces_by_centre_box
        );
        for b in &record.quality_buckets {
            println!(
                "    probes {}: {}, rank-1 {:.2}%, FNIR@50 candidates {:.2}%",
                b.bucket,
                b.probes,
                b.rank1 * 100.0,
                b.fnir_50_candidates * 100.0
            );
        }
        if let Some(f) = &record.fusion {
            let p = |x: &probity_face::fusion::FusionParams| {
                format!(
                    "weight {:.2}, non-mated mean {:.4}/{:.4}, sd {:.4}/{:.4}",
                    x.weight,
                    x.non_mated_mean[0],
                    x.non_mated_mean[1],
                    x.non_mated_std[0],
                    x.non_mated_std[1]
                )
            };
            for (k, fp) in f.fold_params.iter().enumerate() {
                println!(
                    "    fold {} scored with ({}), fitted on the others",
                    k + 1,
                    p(fp)
                );
            }
            println!("    fitted on every fold: {}", p(&f.fitted_on_all_folds));
            println!("    registered:           {}", p(&f.registered));
            let s = &f.shortlist;
            let pass = if s.rows == 0 {
                "no first pass (whole rows scanned)".to_string()
            } else {
                format!("shortlist {} rows", s.rows)
            };
            println!(
                "    {pass}: top-50 identical to the exact fused search for {}/{} probes, mate kept {}/{}; first-pass rank needed median {}, p99 {}, max {} ({:.1}% of the gallery)",
                s.top50_identical,
                s.probes,
                s.mate_kept,
                s.mate_in_exact_top50,
                s.rank_needed_p50,
                s.rank_needed_p99,
                s.rank_needed_max,
                s.rank_needed_max_share * 100.0
            );
        }
        for g in &record.groups {
            println!(
                "    group {}: {} pairs accuracy {:.2}% FMR {:.3}% FNMR {:.3}%, {} probes rank-1 {:.2}%",
                g.group,
                g.pairs,
                g.accuracy * 100.0,
                g.false_match_rate * 100.0,
                g.false_non_match_rate * 100.0,
                g.identification_probes,
                g.rank1 * 100.0
            );
        }
        let path = args
            .out
            .join(format!("evaluation-{}-{}.json", spec.name, spec.version));
        std::fs::write(&path, serde_json::to_string_pretty(&record)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("    record: {}", path.display());
        curves.push((record.algorithm.to_string(), record.roc.clone()));
    }
    let svg = args.out.join("roc.svg");
    std::fs::write(&svg, roc_svg(&curves))
        .with_context(|| format!("cannot write {}", svg.display()))?;
    println!("ROC: {}", svg.display());
    Ok(())
}
