//! `kith`: the server and its command line.

use std::io::Read;

use clap::{Parser, Subcommand};
use kith::config::{ServeArgs, Settings, StorageArgs};
use kith_domain::{BoundedText, Email, LoginId, Password, Phone};

#[derive(Parser)]
#[command(
    name = "kith",
    version,
    about = "kith: a self-hostable community commerce engine"
)]
struct Cli {
    /// Log as JSON lines instead of text (env KITH_LOG_FORMAT=json). Levels: RUST_LOG.
    #[arg(long, global = true, env = "KITH_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrations are applied first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(StorageArgs),
    /// Rebuild the search index of this data directory from storage (stop the server
    /// using it first).
    Reindex(StorageArgs),
    /// Copy the SQLite store (database and media) into a new directory, while the server
    /// may be running. For PostgreSQL use pg_dump.
    Backup {
        #[command(flatten)]
        storage: StorageArgs,
        /// The new directory to write the backup into.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Put a backup made by `kith backup` back as the SQLite store. The server must be
    /// stopped.
    Restore {
        #[command(flatten)]
        storage: StorageArgs,
        /// The backup directory.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a store that is already there.
        #[arg(long)]
        force: bool,
    },
    /// Reconcile a Beijing day with a payment provider's statement (对账) for one owner or
    /// every owner with credentials there; exits 2 when a line differs.
    Reconcile(Box<kith::reconcile::ReconcileArgs>),
    /// Platform administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Benchmarks: make their own data, print each figure's ratio to a limit measured in
    /// the same run (`ratio <name> <value>` lines, 1.0 = at the limit, higher is better).
    Bench {
        #[command(subcommand)]
        command: kith::bench::BenchCommand,
    },
    /// Community insight reports (energy, repeat purchases, fission, KOL ranking, traffic
    /// pool, split suggestions) as tables, or JSON with --json.
    Analytics(kith::analytics::AnalyticsArgs),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a platform admin account.
    CreateAdmin {
        #[command(flatten)]
        storage: StorageArgs,
        /// The admin's login: a mainland mobile number or an email.
        #[arg(long)]
        login: String,
        /// Display name.
        #[arg(long, default_value = "平台管理员")]
        name: String,
        /// Read the password from standard input instead of KITH_ADMIN_PASSWORD.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn init_logging(json: bool, quiet: bool) {
    // Benches keep their output to figures unless RUST_LOG asks for more.
    let default = if quiet {
        "warn"
    } else {
        "info,tower_http=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json || std::env::var("KITH_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Rust's allocations go to mimalloc: with glibc's malloc, allocating and freeing took ~14 %
/// of the server's CPU per order (`perf` on `kith bench http`), and mimalloc's per-thread
/// heaps need no arena cap. Alternated with glibc's (`kith bench http --scale small
/// --clients 16`, 2026-12-08): SQLite 1 096 / 1 056 → 1 276 / 1 228 orders/s, server CPU
/// 1.24 / 1.31 → 1.05 / 1.10 ms per order.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its v3 `mi_option_e`, `include/mimalloc.h`; the sys
/// crate names only the options of v2's numbering). Pinned by a test reading its default.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// mimalloc gives memory freed back to the system a second after it is freed (its default
/// purge delay), and only when that thread allocates again: a password hash (argon2: one ~19
/// MiB block) on each of tokio's blocking threads left the server at ~235 MiB after 1,000
/// sign-ups against ~120 MiB idle. With no delay the block goes back as it is freed: ~92 MiB
/// idle, ~111 MiB after 200 sign-ups, as with glibc's malloc, and no slower.
///
/// C code (SQLite, its page cache) still allocates from glibc's malloc, which raises its mmap
/// threshold each time a large block is freed, up to 32 MiB, so later large blocks would
/// come from the heap arenas of whichever thread ran them and stay there when freed. A fixed
/// threshold keeps large blocks mapped on their own and returned to the system when freed;
/// and glibc gives each thread that allocates at once its own arena, up to 8 per core, each
/// keeping what was freed in it, so the arenas are capped at 2 per core. Set before any
/// thread starts.
fn tune_allocator() {
    // SAFETY: mi_option_set changes a mimalloc option; called once, before other threads
    // exist.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = i32::try_from(2 * cores).unwrap_or(i32::MAX);
        // SAFETY: mallopt changes malloc parameters; called once, before other threads exist.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime")
        .block_on(run_main())
}

async fn run_main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(
        cli.log_json,
        matches!(cli.command, Command::Bench { .. } | Command::Analytics(_)),
    );
    match run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let settings = Settings::resolve(&args)?;
            // Signal handlers first, so a SIGTERM at any later moment stops us gracefully.
            let shutdown = kith::shutdown_signal()?;
            let server = kith::Application::build(&settings).await?;
            if args.demo {
                kith::demo::ensure(server.app()).await?;
            }
            let addr = server.local_addr();
            tracing::info!(engine = %server.app().db.describe(), "kith is ready");
            println!("kith is serving on http://{addr}/  (API reference: http://{addr}/api/docs)");
            server.run_until(shutdown).await
        }
        Command::Reindex(storage) => {
            let settings = Settings::for_storage(&storage)?;
            let n = kith::reindex::reindex(&settings).await?;
            println!(
                "search index rebuilt in {}: {n} documents",
                settings.db.data_dir.join("search").display()
            );
            Ok(())
        }
        Command::Reconcile(args) => {
            let (text, clean) = kith::reconcile::reconcile(&args).await?;
            print!("{text}");
            if !clean {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Migrate(storage) => {
            let settings = Settings::for_storage(&storage)?;
            let app =
                kith::open_app(&settings, std::sync::Arc::new(kith_domain::SystemClock)).await?;
            let version = kith_store::migrate::current_version(&app.db).await?;
            println!("{} is at schema version {version}", app.db.describe());
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::CreateAdmin {
                    storage,
                    login,
                    name,
                    password_stdin,
                },
        } => {
            let settings = Settings::for_storage(&storage)?;
            let password = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                std::env::var("KITH_ADMIN_PASSWORD").map_err(|_| {
                    anyhow::anyhow!("set KITH_ADMIN_PASSWORD or pass --password-stdin")
                })?
            };
            let password = Password::parse(&password)?;
            let name = BoundedText::parse("name", &name, 1, 32)?;
            let (phone, email): (Option<Phone>, Option<Email>) = match LoginId::parse(&login)? {
                LoginId::Phone(p) => (Some(p), None),
                LoginId::Email(e) => (None, Some(e)),
            };
            let app =
                kith::open_app(&settings, std::sync::Arc::new(kith_domain::SystemClock)).await?;
            let account = app
                .create_account(phone, email, password, name, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("platform admin created: {} ({login})", account.id);
            Ok(())
        }
        Command::Backup { storage, out } => {
            let settings = Settings::for_storage(&storage)?;
            let copied = kith::backup::backup(&settings, &out)?;
            println!("backup written to {}: {copied}", out.display());
            Ok(())
        }
        Command::Restore {
            storage,
            from,
            force,
        } => {
            let settings = Settings::for_storage(&storage)?;
            let copied = kith::backup::restore(&settings, &from, force)?;
            println!(
                "restored {} into {}: {copied}",
                from.display(),
                settings.db.data_dir.display()
            );
            Ok(())
        }
        Command::Bench { command } => kith::bench::run(command).await,
        Command::Analytics(args) => {
            let settings = Settings::for_storage(&args.storage)?;
            let app =
                kith::open_app(&settings, std::sync::Arc::new(kith_domain::SystemClock)).await?;
            print!("{}", kith::analytics::report(&app, &args.report).await?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    /// The option number set is mimalloc's purge delay: untouched, it reads that option's
    /// default (1,000 ms in mimalloc v3), which none of its neighbours has.
    #[test]
    fn the_option_set_is_the_purge_delay() {
        // SAFETY: reads an option; no other thread of this test changes mimalloc's options.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000);
    }
}
