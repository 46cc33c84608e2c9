//! One module per concern; each defines a clap `Subcommand` enum and a `run` function.
pub mod thermal;
