//! `probity`: the server and the command-line tools in one binary.
//!
//! Each concern keeps its subcommands in its own module under `cmd/`; this file
//! only parses arguments and dispatches.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(name = "probity", version, about = "Impact and use policies, enforced")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (HTTPS by default; SQLite in the data directory unless --database-url).
    Serve(cmd::server::ServeArgs),
    /// Seed pseudonymous demonstration data, print the demo logins, and run the server.
    Demo(cmd::server::ServeArgs),
    /// Audit trail: verify the hash chain and its signed checkpoints.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Retention schedule: destroy what has reached its end, with disposition certificates (RET-11).
    #[command(subcommand)]
    Retention(cmd::retention::RetentionCommand),
    /// Thermographic imaging: inspect, render and replay radiometric files.
    #[command(subcommand)]
    Thermal(cmd::thermal::ThermalCommand),
    /// Faces: detect (boxes, scores, quality) and compare two images.
    #[command(subcommand)]
    Face(cmd::face::FaceCommand),
    /// Accuracy of the face algorithms on the development faces (LFW protocol, 1:N).
    Eval(cmd::eval::EvalArgs),
    /// Photo repository: import arrest and parole photographs from a manifest; search it.
    #[command(subcommand)]
    Gallery(cmd::gallery::GalleryCommand),
    /// Evidence intake: offload a memory card or device folder into a case (DC-05).
    #[command(subcommand)]
    Ingest(cmd::ingest::IngestCommand),
    /// Discovery packages for the prosecutor: export, and verify offline (DC-07).
    #[command(subcommand)]
    Discovery(cmd::discovery::DiscoveryCommand),
    /// Disposition certificates (RET-11): verify one offline.
    #[command(subcommand)]
    Disposition(cmd::disposition::DispositionCommand),
    /// Reports: the annual oversight report (OVR-03) for a period, as PDF and CSV.
    #[command(subcommand)]
    Report(cmd::report::ReportCommand),
}

fn main() -> std::process::ExitCode {
    // HEIC pixels are decoded in a separate process (probity_imaging::heif_worker): this same
    // binary, started with the worker argument, so an installation needs no second program.
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(
            probity_imaging::heif_worker::WORKER_ARGUMENT,
        ))
    {
        return probity_imaging::run_heif_worker();
    }
    // A probity-heif-worker installed beside the binary starts faster (a smaller program).
    if probity_imaging::HeifWorker::locate().is_err() {
        if let Ok(worker) = probity_imaging::HeifWorker::current_executable() {
            probity_imaging::set_heif_worker(worker);
        }
    }
    let cli = Cli::parse();
    // A department's own face models (FR-23): `[[onnx_model]]` entries of the TOML file
    // PROBITY_FACE_MODELS names, registered for every command (serve, eval, gallery, face).
    if let Some(path) = std::env::var_os("PROBITY_FACE_MODELS") {
        if let Err(e) = probity_face::algorithm::register_from_file(std::path::Path::new(&path)) {
            eprintln!("error: PROBITY_FACE_MODELS: {e}");
            return std::process::ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Serve(a) => cmd::server::run_serve(a),
        Command::Demo(a) => cmd::server::run_demo(a),
        Command::Audit(c) => cmd::audit::run(c),
        Command::Retention(c) => cmd::retention::run(c),
        Command::Thermal(c) => cmd::thermal::run(c),
        Command::Face(c) => cmd::face::run(c),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Gallery(c) => cmd::gallery::run(c),
        Command::Ingest(c) => cmd::ingest::run(c),
        Command::Discovery(c) => cmd::discovery::run(c),
        Command::Disposition(c) => cmd::disposition::run(c),
        Command::Report(c) => cmd::report::run(c),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
