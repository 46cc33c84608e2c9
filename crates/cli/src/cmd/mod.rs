//! One module per concern; each defines a clap `Subcommand` enum and a `run` function.
pub mod audit;
pub mod discovery;
pub mod disposition;
pub mod eval;
pub mod face;
pub mod gallery;
pub mod ingest;
pub mod report;
pub mod retention;
pub mod server;
pub mod thermal;
