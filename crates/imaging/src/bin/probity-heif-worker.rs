//! `probity-heif-worker`: decodes one HEIC/HEIF file with libheif, in a process of its own, for
//! `probity-imaging` (see `heif_worker`). It reads a request and the file on standard input,
//! lowers its own resource limits before reading the file, and writes the pixels on standard
//! output. A crash or hang here fails that one file, never the program that started it.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    probity_imaging::run_heif_worker()
}
