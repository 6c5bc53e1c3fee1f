//! The `rapport` command line: `rapport enrich` (the pipeline as flags, a contract other tools drive)
//! and `rapport demo` (the same pipeline on a generated demo corpus).

mod cli;
mod config;
mod demo;
mod enrich;
mod erase;
mod graph;
mod lifecycle;
#[cfg(feature = "parquet")]
mod parquet;
mod pipeline;
mod progress;
mod runner;
mod write;

use std::process::ExitCode;

use clap::Parser;

/// Mail is parsed on worker threads and its strings are freed on the engine's thread; glibc's
/// allocator spends a fifth of a run on that hand-over, mimalloc a fraction of it (bench/run.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Enrich(enrich_args) => enrich::run(&enrich_args).map(|_| ()),
        cli::Command::Demo(demo_args) => demo::run(&demo_args),
        cli::Command::Enrichment(enrichment_args) => lifecycle::run(&enrichment_args),
        cli::Command::Serve(serve_args) => lifecycle::serve(&serve_args),
        cli::Command::Erase(erase_args) => erase::run(&erase_args),
        cli::Command::Graph(graph_args) => graph::run(&graph_args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rapport: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// A closed stdout (`rapport ... | head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
