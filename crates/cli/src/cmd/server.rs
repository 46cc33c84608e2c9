//! `probity serve` and `probity demo`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use probity_server::{build_state, demo, serve, Config};

#[derive(Args)]
pub struct ServeArgs {
    /// Configuration file (TOML). Environment variables PROBITY_* override it.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Data directory (database, encrypted evidence store, keys).
    #[arg(long, env = "PROBITY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://...) for the multi-node backend; default: SQLite in the data directory.
    #[arg(long, env = "PROBITY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Object store for the encrypted blobs: s3://bucket/prefix (endpoint, region and credentials
    /// from AWS_* variables); default: the folder blobs/ in the data directory.
    #[arg(long, env = "PROBITY_BLOB_URL")]
    pub blob_url: Option<String>,
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Serve plain HTTP (only behind a TLS-terminating proxy).
    #[arg(long)]
    pub no_tls: bool,
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(d) = &self.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &self.database_url {
            config.database_url = Some(u.clone());
        }
        if let Some(u) = &self.blob_url {
            config.blob_url = Some(u.clone());
        }
        if let Some(l) = self.listen {
            config.listen = l;
        }
        if self.no_tls {
            config.tls = false;
        }
        Ok(config)
    }
}

pub fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    runtime()?.block_on(async move {
        probity_server::observability::init_logging();
        let state = build_state(config).await?;
        start_scheduler(&state);
        serve(state).await
    })
}

pub fn run_demo(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    runtime()?.block_on(async move {
        probity_server::observability::init_logging();
        let state = build_state(config).await?;
        let logins = demo::seed(&state.store, &state.passwords).await?;
        // Work in progress for every role, through the same operations as the web pages.
        let activity = demo::seed_activity(&state).await?;
        let scheme = if state.config.tls { "https" } else { "http" };
        println!();
        println!("Probity demonstration (pseudonymous demo data, not real records)");
        println!("  URL:      {scheme}://{}/", state.config.listen);
        if state.config.tls {
            println!(
                "  TLS:      self-signed certificate in {}",
                state.config.data_dir.join("tls").display()
            );
        }
        println!(
            "  Data:     {} ({})",
            state.config.data_dir.display(),
            state.store.backend().as_str()
        );
        println!("  Password for every demo login: {}", demo::DEMO_PASSWORD);
        for l in &logins {
            println!("    {:<12} {}", l.username, l.what);
        }
        print_activity(&activity);
        match demo::live::spawn(state.clone()) {
            Ok(what) => println!("  Live thermal view: {what}"),
            Err(why) => println!("  WARNING: no live thermal view: {why}"),
        }
        println!();
        start_scheduler(&state);
        serve(state).await
    })
}

/// Says what demonstration work was written, what was already there and, loudly, what was not.
fn print_activity(a: &demo::ActivityReport) {
    println!(
        "  Demonstration work in progress ({} written, {} already there, in {:.1} s):",
        a.seeded.len(),
        a.present.len(),
        a.elapsed.as_secs_f64()
    );
    for s in &a.seeded {
        println!("    + {s}");
    }
    for s in &a.present {
        println!("    = {s}");
    }
    for s in &a.skipped {
        println!("    WARNING: not seeded: {s}");
    }
}

/// Starts the periodic jobs (retention runs) unless `scheduler_enabled` is false.
fn start_scheduler(state: &probity_server::AppState) {
    if state.config.scheduler_enabled {
        drop(probity_server::scheduler::spawn(state.clone()));
    } else {
        eprintln!("scheduler disabled (scheduler_enabled = false): no periodic jobs run here");
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
