//! Command-line front end (pipeline driver): parses arguments, calls the library, prints.

mod bench;
mod calibrate;
mod checkpoint;
mod env;
mod generate;
mod history;
mod inspect;
mod run;
mod summary;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: a block was rejected or a root mismatched.
pub const EXIT_REJECTED: i32 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: an internal error (a bug in txwave: a panic caught in one of its threads).
pub const EXIT_INTERNAL: i32 = 3;

#[derive(Parser)]
#[command(
    name = "txwave",
    version,
    about = "GPU-accelerated batch transaction processor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Process block logs on top of a genesis JSON or a state snapshot.
    Run(run::RunArgs),
    /// Generate a seeded, self-checking workload (genesis.json + blocks.blk).
    Gen(generate::GenArgs),
    /// Show block logs, states, or a block's wave schedule.
    Inspect(inspect::InspectArgs),
    /// Time CPU and GPU side by side: end to end per stage on a generated workload (the
    /// `gen` options; by default 4 blocks × 2,500 txs) or a given log, and with --sweep
    /// verify and hash over batch sizes, every GPU variant and the break-even sizes.
    Bench(Box<bench::BenchArgs>),
    /// Measure the break-even sizes and rates `--backend auto` needs and write them to a
    /// calibration file.
    Calibrate(calibrate::CalibrateArgs),
    /// List GPU adapters with the limits that matter.
    Devices(DevicesArgs),
    /// Index block logs: height, file, byte offset, length and hash of every block, from
    /// one pass that checks checksums and hashes txs (no signature, no execution).
    Index(history::IndexArgs),
    /// Replay one range from a snapshot (or genesis) and check it ends on a target
    /// snapshot: state root, height and last block hash.
    Replay(Box<history::ReplayArgs>),
    /// State-free checks of a range of heights: checksums, tx ids and roots, the
    /// parent-hash chain, every signature.
    Audit(Box<history::AuditArgs>),
    /// The ranges between snapshots that cover a history, each snapshot checked against
    /// the index (JSON).
    Plan(history::PlanArgs),
}

#[derive(clap::Args)]
struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `--backend` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// rayon on the CPU.
    Cpu,
    /// wgpu on the GPU.
    Gpu,
    /// GPU when an adapter opens, else CPU.
    Auto,
}

impl From<BackendArg> for txwave::Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Cpu => txwave::Backend::Cpu,
            BackendArg::Gpu => txwave::Backend::Gpu,
            BackendArg::Auto => txwave::Backend::Auto,
        }
    }
}

/// GPU knobs shared by `run` and `bench` (see `txwave::internal::gpu::tunables`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct GpuArgs {
    /// Code shape of the GPU verifier: `register` (an interpreter over a private array of
    /// field elements) or `straight` (straight-line code on locals).
    #[arg(long, value_name = "SHAPE", value_parser = parse_shape)]
    verify_shape: Option<txwave::internal::gpu::tunables::VerifyShape>,
    /// Read [1..8]B from a precomputed table in a storage buffer instead of computing it
    /// in every verifier invocation.
    #[arg(long)]
    basepoint_table: bool,
    /// Workgroup sizes as KERNEL=SIZE pairs (kernels: hash, verify, resolve, exec,
    /// state_leaves, merkle, or all), e.g. `verify=128,hash=256`; powers of two.
    #[arg(long, value_name = "SPEC")]
    workgroup_size: Option<String>,
}

fn parse_shape(s: &str) -> Result<txwave::internal::gpu::tunables::VerifyShape, String> {
    s.parse().map_err(|e: txwave::Error| e.to_string())
}

impl GpuArgs {
    /// The tunables these flags ask for.
    pub fn tunables(&self) -> anyhow::Result<txwave::internal::gpu::tunables::GpuTunables> {
        let mut t = txwave::internal::gpu::tunables::GpuTunables::default();
        if let Some(shape) = self.verify_shape {
            t.verify.shape = shape;
        }
        t.verify.basepoint_table = self.basepoint_table;
        if let Some(spec) = &self.workgroup_size {
            t.apply_workgroup_spec(spec).context("--workgroup-size")?;
        }
        Ok(t)
    }
}

/// Bounds on what a block log may declare, shared by the commands that read logs.
#[derive(clap::Args, Clone, Debug)]
pub struct LimitArgs {
    /// Largest block accepted, in bytes (header to checksum); a block that declares more
    /// is refused before it is read (exit code 1). At most 4294967295.
    #[arg(long, value_name = "BYTES", default_value_t = txwave::internal::tx::MAX_BLOCK_BYTES,
          value_parser = clap::value_parser!(u64).range(148..=txwave::internal::tx::BLOCK_BYTES_CEILING))]
    max_block_bytes: u64,
    /// Most transactions accepted in one block.
    #[arg(long, value_name = "N", default_value_t = txwave::internal::tx::MAX_BLOCK_TXS)]
    max_block_txs: u32,
}

impl LimitArgs {
    /// The decode limits these flags ask for.
    pub fn limits(&self) -> txwave::DecodeLimits {
        txwave::DecodeLimits {
            max_block_bytes: self.max_block_bytes,
            max_block_txs: self.max_block_txs,
        }
    }
}

/// A clap parser for `STAGE:HEIGHT` (the hidden `--inject-panic` test hook).
pub fn parse_panic_point(s: &str) -> Result<(txwave::internal::engine::PanicPoint, u64), String> {
    use txwave::internal::engine::PanicPoint;
    let (stage, height) = s.split_once(':').ok_or("expected STAGE:HEIGHT")?;
    let point = match stage {
        "read" => PanicPoint::Read,
        "prepare" => PanicPoint::Prepare,
        "apply" => PanicPoint::Apply,
        other => return Err(format!("unknown stage {other:?}: read, prepare or apply")),
    };
    let height = height.parse().map_err(|e| format!("height: {e}"))?;
    Ok((point, height))
}

/// A clap parser for a positive number of seconds.
pub fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

/// An error with the exit code it deserves.
pub struct Failure {
    code: i32,
    err: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let err = e.into();
        let code = match err.downcast_ref::<txwave::Error>() {
            Some(
                txwave::Error::BlockDecode { .. }
                | txwave::Error::BlockTooLarge { .. }
                | txwave::Error::WrongHeight { .. }
                | txwave::Error::WrongParent { .. }
                | txwave::Error::StateRootMismatch { .. },
            ) => EXIT_REJECTED,
            Some(txwave::Error::Internal { .. }) => EXIT_INTERNAL,
            _ => EXIT_USAGE,
        };
        Failure { code, err }
    }
}

impl Failure {
    /// An error with a chosen exit code.
    pub fn with_code(code: i32, err: anyhow::Error) -> Self {
        Failure { code, err }
    }

    /// The exit code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The error.
    pub fn error(&self) -> &anyhow::Error {
        &self.err
    }

    /// The error, without its exit code.
    pub fn into_error(self) -> anyhow::Error {
        self.err
    }
}

/// Result of a subcommand.
pub type CliResult = Result<(), Failure>;

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Gen(a) => generate::generate(a),
        Command::Inspect(a) => inspect::inspect(a),
        Command::Bench(a) => bench::bench(*a),
        Command::Calibrate(a) => calibrate::calibrate(a),
        Command::Devices(a) => devices(a),
        Command::Index(a) => history::index(a),
        Command::Replay(a) => history::replay(*a),
        Command::Audit(a) => history::audit(*a),
        Command::Plan(a) => history::plan(a),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(f) => {
            eprintln!("txwave: {:#}", f.err);
            f.code
        }
    }
}

fn devices(args: DevicesArgs) -> CliResult {
    let backends = env::wgpu_backends();
    let adapters = txwave::internal::gpu::list_adapters(backends.as_deref());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&adapters)?);
        return Ok(());
    }
    if adapters.is_empty() {
        println!(
            "no GPU adapter found.\n{}",
            txwave::internal::gpu::no_adapter_help(backends.as_deref())
        );
        return Ok(());
    }
    for (i, a) in adapters.iter().enumerate() {
        println!(
            "[{i}] {} — {} {}, driver {}",
            a.name, a.backend, a.device_type, a.driver
        );
        println!(
            "    compute {}  timestamps {}  max storage binding {} MiB  max buffer {} MiB",
            if a.compute { "yes" } else { "no" },
            if a.timestamp_query { "yes" } else { "no" },
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20
        );
        println!(
            "    max workgroups/dim {}  max invocations/workgroup {}",
            a.max_compute_workgroups_per_dimension, a.max_compute_invocations_per_workgroup
        );
    }
    Ok(())
}

/// Reads a genesis JSON or a snapshot, whichever the file holds.
pub fn load_state(path: &Path) -> anyhow::Result<txwave::State> {
    use std::io::Read;
    let cannot_read = || format!("cannot read {}", path.display());
    let mut file = std::fs::File::open(path).with_context(cannot_read)?;
    let mut head = Vec::new();
    (&mut file)
        .take(64)
        .read_to_end(&mut head)
        .with_context(cannot_read)?;
    if txwave::internal::state::is_snapshot(&head) {
        let mut bytes = head;
        file.read_to_end(&mut bytes).with_context(cannot_read)?;
        txwave::State::from_snapshot(&bytes)
            .with_context(|| format!("{}: not a valid state snapshot", path.display()))
    } else {
        // A genesis is parsed as it is read: its text is never in memory whole.
        let reader = std::io::BufReader::new(std::io::Cursor::new(head).chain(file));
        txwave::State::from_genesis_reader(reader)
            .with_context(|| format!("{}: not a valid genesis", path.display()))
    }
}

/// Reads and decodes one block log file, every block under the default
/// [`txwave::DecodeLimits`] (checked before the block is buffered).
pub fn load_blocks(path: &Path) -> Result<Vec<txwave::Block>, Failure> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    txwave::LogReader::new(file)
        .collect::<txwave::Result<Vec<_>>>()
        .map_err(|e| {
            let code = match e {
                txwave::Error::Io { .. } => EXIT_USAGE,
                _ => EXIT_REJECTED,
            };
            Failure {
                code,
                err: anyhow::Error::new(e).context(format!("{}", path.display())),
            }
        })
}

/// Writes a file atomically: to a temporary name beside it, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
}

/// The temporary name used while writing `path`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
