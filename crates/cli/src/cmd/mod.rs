//! One module per concern; each defines a clap `Subcommand` enum and a `run` function.
pub mod audit;
pub mod eval;
pub mod face;
pub mod server;
pub mod thermal;
