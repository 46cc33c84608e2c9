//! `probity thermal ...`: inspect and render radiometric thermal files (TH-02).
//!
//! Reads files given on the command line; writes only the rendering the user
//! names with `-o`. Live frames never pass through here (TH-03).
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use probity_thermal::{
    decode_frames, detect_anomalies, detect_hot_spots_relative, detect_people, render,
    render_relative, AnomalyParams, Calibration, DecodeOptions, Palette, PersonParams,
    RadiometricParams, Radiometry, RawEncoding, RelativeHotSpotParams, RelativeRegion,
    RenderOptions, SourceFormat, ThermalImage,
};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ThermalCommand {
    /// Print the camera, calibration constants and min/max/mean temperature of a file.
    Inspect {
        file: PathBuf,
        #[command(flatten)]
        cal: CalibrationArgs,
        /// Frame of a sequence file (0-based).
        #[arg(long, default_value_t = 0)]
        frame: usize,
        /// Also list heat-signature anomalies and person-like warm regions.
        #[arg(long)]
        detect: bool,
    },
    /// Render a file as a heat-signature PNG with a temperature scale bar.
    Render {
        file: PathBuf,
        /// iron, rainbow, white-hot or black-hot.
        #[arg(long, default_value = "iron")]
        palette: String,
        /// Output PNG file.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        cal: CalibrationArgs,
        /// Frame of a sequence file (0-based).
        #[arg(long, default_value_t = 0)]
        frame: usize,
        /// Temperature at the cold end of the palette, °C (default: frame minimum).
        #[arg(long, requires = "max")]
        min: Option<f32>,
        /// Temperature at the hot end of the palette, °C (default: frame maximum).
        #[arg(long, requires = "min")]
        max: Option<f32>,
        /// Integer enlargement; default enlarges small sensors to at least 240 rows.
        #[arg(long)]
        upscale: Option<u32>,
        /// Leave out the scale bar.
        #[arg(long)]
        no_scale_bar: bool,
    },
    /// Push a directory of radiometric files to a server as a live source, for demonstration
    /// (TH-01). Needs a deployment authorization in force for the source (TH-05).
    Replay(ReplayArgs),
}

/// Calibration for plain 16-bit frames (PGM/TIFF), or to override a FLIR file's own.
#[derive(Args)]
pub struct CalibrationArgs {
    /// Linear calibration: kelvin (= °C) per count, e.g. 0.04.
    #[arg(long, requires = "offset", conflicts_with = "planck")]
    scale: Option<f64>,
    /// Linear calibration: °C at count 0, e.g. -273.15.
    #[arg(long, requires = "scale", allow_hyphen_values = true)]
    offset: Option<f64>,
    /// Planck calibration "R1,R2,B,F,O" (emissivity 1, no distance).
    #[arg(long, value_name = "R1,R2,B,F,O", allow_hyphen_values = true)]
    planck: Option<String>,
}

impl CalibrationArgs {
    fn calibration(&self) -> anyhow::Result<Option<Calibration>> {
        if let (Some(scale), Some(offset)) = (self.scale, self.offset) {
            return Ok(Some(Calibration::Linear { scale, offset }));
        }
        if let Some(p) = &self.planck {
            let v: Vec<f64> = p
                .split(',')
                .map(|s| s.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| format!("--planck {p:?}: five numbers R1,R2,B,F,O expected"))?;
            let [r1, r2, b, f, o] = v[..] else {
                bail!("--planck {p:?}: five numbers R1,R2,B,F,O expected");
            };
            return Ok(Some(Calibration::Planck(RadiometricParams::from_planck(
                r1, r2, b, f, o,
            ))));
        }
        Ok(None)
    }
}

pub fn run(cmd: ThermalCommand) -> anyhow::Result<()> {
    match cmd {
        ThermalCommand::Replay(args) => replay(&args),
        ThermalCommand::Inspect {
            file,
            cal,
            frame,
            detect,
        } => inspect(&file, &cal, frame, detect),
        ThermalCommand::Render {
            file,
            palette,
            output,
            cal,
            frame,
            min,
            max,
            upscale,
            no_scale_bar,
        } => {
            let palette: Palette = palette.parse()?;
            let (img, _) = load(&file, &cal, frame)?;
            let upscale = upscale.unwrap_or_else(|| (240 / img.height().max(1)).clamp(1, 8));
            if let Some(reason) = img.radiometry().reason() {
                if min.is_some() {
                    bail!(
                        "{}: {} ({reason}); --min/--max are temperatures and cannot be applied",
                        file.display(),
                        Radiometry::UNAVAILABLE
                    );
                }
                let opts = RenderOptions {
                    palette,
                    upscale,
                    ..Default::default()
                };
                let heat = render_relative(&img.relative_intensity(), &opts)?;
                std::fs::write(&output, heat.to_png()?)
                    .with_context(|| format!("cannot write {}", output.display()))?;
                println!(
                    "{}: {}x{} {} rendering of relative intensity, no temperature scale: {} ({reason})",
                    output.display(),
                    heat.width(),
                    heat.height(),
                    palette.name(),
                    Radiometry::UNAVAILABLE
                );
                return Ok(());
            }
            let temps = img.temperatures()?;
            let opts = RenderOptions {
                palette,
                range_c: min.zip(max),
                scale_bar: !no_scale_bar,
                upscale,
            };
            let heat = render(&temps, &opts)?;
            let png = heat.to_png()?;
            std::fs::write(&output, png)
                .with_context(|| format!("cannot write {}", output.display()))?;
            println!(
                "{}: {}x{} {} rendering, {:.2} °C .. {:.2} °C",
                output.display(),
                heat.width(),
                heat.height(),
                palette.name(),
                heat.range_c.0,
                heat.range_c.1
            );
            Ok(())
        }
    }
}

/// Decodes frame `index` of a file; also returns the number of frames seen.
fn load(
    file: &PathBuf,
    cal: &CalibrationArgs,
    index: usize,
) -> anyhow::Result<(ThermalImage, usize)> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let opts = DecodeOptions {
        calibration: cal.calibration()?,
        ..Default::default()
    };
    let name = file.display();
    let mut chosen = None;
    let mut count = 0;
    for frame in decode_frames(&bytes, &opts).with_context(|| format!("{name}"))? {
        let frame = frame.with_context(|| format!("{name}: frame {count}"))?;
        if count == index {
            chosen = Some(frame);
        }
        count += 1;
    }
    match chosen {
        Some(img) => Ok((img, count)),
        None => bail!("{name}: frame {index} requested but the file holds {count}"),
    }
}

fn inspect(
    file: &PathBuf,
    cal: &CalibrationArgs,
    index: usize,
    detect: bool,
) -> anyhow::Result<()> {
    let (img, frames) = load(file, cal, index)?;
    let md = img.metadata();
    let format = match md.format {
        SourceFormat::FlirJpeg => "FLIR radiometric JPEG",
        SourceFormat::FlirFff => "FLIR FFF record",
        SourceFormat::Pgm16 => "16-bit PGM",
        SourceFormat::Tiff16 => "16-bit TIFF",
        SourceFormat::RawStream => "raw 16-bit stream",
    };
    let raw = match md.raw_encoding {
        RawEncoding::Png => "PNG (byte-swapped 16-bit)",
        RawEncoding::Raw16Le => "16-bit little-endian",
        RawEncoding::Raw16Be => "16-bit big-endian",
        RawEncoding::Plain => "16-bit samples",
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!("file:        {}", file.display());
    println!("format:      {format}, raw data {raw}; frame {index} of {frames}");
    println!("size:        {}x{}", img.width(), img.height());
    let c = &md.camera;
    println!(
        "camera:      make {}, model {}, serial {}, part {}, software {}, lens {}",
        opt(&c.make),
        opt(&c.model),
        opt(&c.serial),
        opt(&c.part_number),
        opt(&c.software),
        opt(&c.lens)
    );
    if let Some(t) = md.capture_time {
        println!("captured:    {}", t.format("%Y-%m-%d %H:%M:%S%.3f %:z"));
    }
    match img.calibration() {
        Calibration::Linear { scale, offset } => {
            println!("calibration: linear, °C = raw x {scale} + {offset}")
        }
        Calibration::Planck(p) => {
            println!(
                "calibration: Planck R1 {} R2 {} B {} F {} O {}",
                p.planck_r1, p.planck_r2, p.planck_b, p.planck_f, p.planck_o
            );
            println!(
                "object:      emissivity {:.2}, distance {:.2} m, reflected {:.1} °C",
                p.emissivity, p.object_distance_m, p.reflected_apparent_temperature_c
            );
            println!(
                "atmosphere:  {:.1} °C, humidity {:.1} %, transmission {:.4} (alpha1 {} alpha2 {} beta1 {} beta2 {} X {})",
                p.atmospheric_temperature_c,
                p.relative_humidity * 100.0,
                p.atmospheric_transmission(),
                p.atmospheric_trans_alpha1,
                p.atmospheric_trans_alpha2,
                p.atmospheric_trans_beta1,
                p.atmospheric_trans_beta2,
                p.atmospheric_trans_x
            );
            println!(
                "IR window:   {:.1} °C, transmission {:.2}",
                p.ir_window_temperature_c, p.ir_window_transmission
            );
        }
    }
    if let Some(r) = md.raw_value_stats {
        println!(
            "raw range:   camera display median {} range {} (limits {}..{})",
            r.median, r.range, r.range_min, r.range_max
        );
    }
    if let Some(reason) = img.radiometry().reason() {
        println!("radiometry:  {} ({reason})", Radiometry::UNAVAILABLE);
        println!("temperature: {}", Radiometry::UNAVAILABLE);
        if detect {
            let spots = detect_hot_spots_relative(
                &img.relative_intensity(),
                &RelativeHotSpotParams::default(),
            )?;
            print_relative(&spots);
        }
        return Ok(());
    }
    println!("radiometry:  radiometric");
    let temps = img.temperatures()?;
    let Some(s) = temps.stats() else {
        bail!("no pixel lies in the calibrated range");
    };
    println!(
        "temperature: min {:.2} °C at {:?}, max {:.2} °C at {:?}, mean {:.2} °C (sd {:.2})",
        s.min_c, s.min_at, s.max_c, s.max_at, s.mean_c, s.std_dev_c
    );
    if detect {
        let print = |label: &str, regions: &[probity_thermal::Region]| {
            println!("{label}: {}", regions.len());
            for r in regions.iter().take(20) {
                println!(
                    "  box x {} y {} w {} h {} ({} px): peak {:.2} °C at {:?}, mean {:.2} °C",
                    r.x, r.y, r.width, r.height, r.pixels, r.peak_c, r.peak_at, r.mean_c
                );
            }
        };
        print(
            "anomalies (mean + 3 sd)",
            &detect_anomalies(&temps, &AnomalyParams::default())?,
        );
        print(
            "person-like regions (28-38 °C)",
            &detect_people(&temps, &PersonParams::default())?,
        );
    }
    Ok(())
}

/// Hot spots of a frame without temperatures, labelled as relative intensity.
fn print_relative(spots: &[RelativeRegion]) {
    println!(
        "hot spots (brightest 1 % of raw counts; {}): {}",
        RelativeRegion::SCALE,
        spots.len()
    );
    for r in spots.iter().take(20) {
        println!(
            "  box x {} y {} w {} h {} ({} px): peak {:.3} relative at {:?}, mean {:.3} relative",
            r.x, r.y, r.width, r.height, r.pixels, r.peak_relative, r.peak_at, r.mean_relative
        );
    }
}

/// `probity thermal replay`: a directory of radiometric files pushed as a live source.
#[derive(Args)]
pub struct ReplayArgs {
    /// Directory of FLIR radiometric JPEGs or FFF frames, pushed in file-name order.
    dir: PathBuf,
    /// The source name: the service account the deployment authorization names.
    #[arg(long)]
    source: String,
    /// Base URL of the server, e.g. https://probity.example:8443.
    #[arg(long)]
    server: String,
    /// The source's API token.
    #[arg(long, env = "PROBITY_TOKEN", hide_env_values = true)]
    token: String,
    /// Frames per second.
    #[arg(long, default_value_t = 2.0)]
    fps: f64,
    /// How many times to play the directory (0 = until stopped).
    #[arg(long, default_value_t = 1)]
    loops: u32,
    /// Trust this PEM certificate (e.g. the server's self-signed tls/cert.pem).
    #[arg(long, conflicts_with = "insecure_demo_cert")]
    ca_file: Option<PathBuf>,
    /// Accept the server's self-signed certificate without checking it. For demonstrations on
    /// a trusted network only.
    #[arg(long)]
    insecure_demo_cert: bool,
}

fn replay_files(dir: &std::path::Path) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for p in paths {
        let bytes = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
        if probity_thermal::is_radiometric_jpeg(&bytes) || bytes.starts_with(b"FFF\0") {
            files.push((p, bytes));
        } else {
            eprintln!(
                "skipping {}: not a FLIR radiometric JPEG or FFF frame",
                p.display()
            );
        }
    }
    if files.is_empty() {
        bail!("{} holds no radiometric files to replay", dir.display());
    }
    Ok(files)
}

fn replay_client(args: &ReplayArgs) -> anyhow::Result<reqwest::blocking::Client> {
    let url = reqwest::Url::parse(&args.server)
        .with_context(|| format!("{} is not a URL", args.server))?;
    let loopback = matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    if url.scheme() != "https" && !loopback {
        bail!("frames travel only over an encrypted link (TH-01): use an https:// server URL");
    }
    let mut b = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(30));
    if let Some(ca) = &args.ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
        b = b.tls_built_in_root_certs(false).add_root_certificate(cert);
    }
    if args.insecure_demo_cert {
        eprintln!("warning: the server's certificate is not checked (--insecure-demo-cert)");
        b = b.danger_accept_invalid_certs(true);
    }
    Ok(b.build()?)
}

fn problem(r: reqwest::blocking::Response) -> String {
    let status = r.status();
    let body: serde_json::Value = r.json().unwrap_or(serde_json::Value::Null);
    let detail = body["detail"].as_str().unwrap_or("no detail");
    match body["rule"].as_str() {
        Some(rule) => format!("{status}: {detail} [{rule}]"),
        None => format!("{status}: {detail}"),
    }
}

fn replay(args: &ReplayArgs) -> anyhow::Result<()> {
    if !(args.fps > 0.0 && args.fps <= 60.0) {
        bail!("--fps must be between 0 and 60");
    }
    let files = replay_files(&args.dir)?;
    let client = replay_client(args)?;
    let base = args.server.trim_end_matches('/');
    let push = format!("{base}/api/thermal/live/{}/frames", args.source);
    let period = std::time::Duration::from_secs_f64(1.0 / args.fps);
    let mut sent = 0u64;
    let mut round = 0u32;
    while args.loops == 0 || round < args.loops {
        round += 1;
        for (path, bytes) in &files {
            let started = std::time::Instant::now();
            let media = if bytes.starts_with(&[0xFF, 0xD8]) {
                "image/jpeg"
            } else {
                "application/octet-stream"
            };
            let r = client
                .post(&push)
                .bearer_auth(&args.token)
                .header(reqwest::header::CONTENT_TYPE, media)
                .body(bytes.clone())
                .send()
                .with_context(|| format!("cannot reach {base}"))?;
            if !r.status().is_success() {
                bail!("{} refused: {}", path.display(), problem(r));
            }
            sent += 1;
            println!("pushed {} (frame {sent})", path.display());
            if let Some(rest) = period.checked_sub(started.elapsed()) {
                std::thread::sleep(rest);
            }
        }
    }
    let r = client
        .delete(format!("{base}/api/thermal/live/{}", args.source))
        .bearer_auth(&args.token)
        .send()
        .with_context(|| format!("cannot reach {base}"))?;
    if !r.status().is_success() {
        eprintln!("ending the session: {}", problem(r));
    }
    println!(
        "{sent} frames pushed; the live session of {} ended",
        args.source
    );
    Ok(())
}
