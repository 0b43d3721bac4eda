//! The `dangke` command. Each subcommand parses its arguments and calls into the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dangke::config::Config;
use dangke::orgs::demo::Seeded;
use dangke::{Application, Deps};

#[derive(Parser)]
#[command(
    name = "dangke",
    version,
    about = "dangke (党课) study platform backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default when no command is given).
    Serve {
        /// Seed the demo data set first if the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill an empty database with the demo county and print its logins (fails, changing
    /// nothing, when the database already has organizations or users).
    SeedDemo,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Statistics maintenance.
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// Generate files checked into the repository (`gen openapi`), or, with options and no
    /// subcommand, fill an empty database with a generated county (or province) for benchmarks.
    #[command(args_conflicts_with_subcommands = true)]
    Gen {
        #[command(subcommand)]
        command: Option<GenCommand>,
        #[command(flatten)]
        data: GenData,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user who can log in (prints a generated password when none is given).
    Create {
        #[arg(long)]
        phone: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Also create (or find) this root organization and make the user its admin.
        #[arg(long)]
        org_name: Option<String>,
        /// Kind of the root organization.
        #[arg(long, default_value = "county_committee", value_parser = ["county_committee", "township_committee"])]
        org_kind: String,
    },
}

/// Sizes of a generated county (or province of counties).
#[derive(clap::Args)]
struct GenData {
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    #[arg(long, default_value_t = 1_000)]
    branches: usize,
    /// Study events (three per completed lesson).
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Held meetings, spread over the branches and the year so far.
    #[arg(long, default_value_t = 50_000)]
    occurrences: usize,
    /// Counties under the root: above 1, the root stands for a province (a
    /// `county_committee` named 生成省委 — there is no province kind) with the branches spread
    /// evenly over its counties.
    #[arg(long, default_value_t = 1)]
    counties: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Recompute every statistics roll-up from the raw rows (in one transaction).
    Rebuild,
    /// Rebuild only the org totals from the digests (after the migration that adds them;
    /// `rebuild` rebuilds them too).
    Totals,
}

#[derive(Subcommand)]
enum GenCommand {
    /// Print the OpenAPI document (the content of api-spec/openapi.json).
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Gen {
        command: Some(GenCommand::Openapi),
        ..
    }) = &cli.command
    {
        print!("{}", dangke::http::openapi::document_json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dangke: {e}");
            return ExitCode::from(2);
        }
    };
    dangke::memory::limit_arenas(config.malloc_arenas);
    dangke::telemetry::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dangke: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "fatal");
            eprintln!("dangke: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>, config: Config) -> anyhow::Result<()> {
    match command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let cfg = config.clone();
            tokio::task::spawn_blocking(move || dangke::open_database(&cfg)).await??;
            println!("migrations applied ({:?})", config.database_url);
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    phone,
                    name,
                    password,
                    org_name,
                    org_kind,
                },
        } => {
            let state = dangke::build_state(config, Deps::default()).await?;
            let root = org_name.map(|name| dangke::auth::admin::RootOrg {
                name,
                kind: dangke::orgs::model::OrgKind::parse(&org_kind)
                    .unwrap_or(dangke::orgs::model::OrgKind::CountyCommittee),
            });
            let created =
                dangke::auth::admin::create_admin(&state, &phone, &name, password, root).await?;
            println!("created user {} ({})", created.user_id, created.phone);
            if let Some(org_id) = created.root_org_id {
                println!("admin of organization {org_id}");
            }
            if let Some(p) = created.generated_password {
                println!("generated password: {p}");
            }
            Ok(())
        }
        Command::Stats {
            command: StatsCommand::Rebuild,
        } => {
            let state = dangke::build_state(config, Deps::default()).await?;
            let started = std::time::Instant::now();
            let (members, occurrences) = state.db.write(dangke::stats::rollup::rebuild).await?;
            println!(
                "statistics rebuilt: {members} users, {occurrences} occurrences in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Stats {
            command: StatsCommand::Totals,
        } => {
            let state = dangke::build_state(config, Deps::default()).await?;
            let started = std::time::Instant::now();
            let orgs = state
                .db
                .write(dangke::stats::totals::rebuild_locked)
                .await?;
            println!(
                "org totals rebuilt: {orgs} orgs in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Gen { command: _, data } => {
            let state = dangke::build_state(config, Deps::default()).await?;
            let plan = dangke::stats::generate::Plan {
                members: data.members,
                branches: data.branches,
                events: data.events,
                occurrences: data.occurrences,
                counties: data.counties,
                seed: data.seed,
            };
            let now = state.clock.now_naive();
            let started = std::time::Instant::now();
            let g = state
                .db
                .write(move |c| dangke::stats::generate::run(c, now, plan))
                .await?;
            let db = state.db.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let mut conn = db.raw_writer()?;
                dangke::db::sql::analyze_after_bulk_load(&mut conn)?;
                Ok(())
            })
            .await??;
            println!(
                "generated {} orgs, {} members, {} study events ({} lessons completed), {} occurrences, {} attendance records in {:.1} s",
                g.orgs,
                g.members,
                g.study_events,
                g.lessons_completed,
                g.occurrences,
                g.attendance,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::SeedDemo => {
            let state = dangke::build_state(config, Deps::default()).await?;
            match dangke::demo::seed(&state).await? {
                (Seeded::Created(summary), courses) => {
                    print!("{}", summary.logins_table());
                    print_extras(courses);
                    Ok(())
                }
                (Seeded::AlreadyHasData(found), _) => {
                    anyhow::bail!("seed-demo: {found}; nothing changed")
                }
            }
        }
    }
}

fn print_extras(extras: Option<dangke::demo::Extras>) {
    if let Some(e) = extras {
        let c = e.courses;
        println!(
            "demo courses: {} courses, {} lessons, {} quizzes, {} assignments",
            c.courses, c.lessons, c.quizzes, c.assignments
        );
        let m = e.meetings;
        println!(
            "demo meetings this year: {} series and meetings scheduled, {} held ({} attendance records), {} cancelled, {} never recorded",
            m.activities, m.held, m.records, m.cancelled, m.unrecorded
        );
        let s = e.study;
        println!(
            "demo study this year: {} members studied, {} lessons and {} courses completed, {:.2} credit hours from lessons",
            s.members,
            s.lessons_completed,
            s.courses_completed,
            s.credit_centi as f64 / 100.0
        );
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let host = config
        .bind
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or_default();
    let db_url = format!("{:?}", config.database_url);
    let app = Application::build(config, Deps::default()).await?;
    if demo {
        let state = app.state();
        match dangke::demo::seed(&state).await? {
            (Seeded::Created(summary), courses) => {
                print!("{}", summary.logins_table());
                print_extras(courses);
            }
            (Seeded::AlreadyHasData(found), _) => eprintln!("demo: not seeded: {found}"),
        }
    }
    let url = format!("http://{host}:{}", app.port());
    tracing::info!(url = %url, database = %db_url, "dangke listening");
    eprintln!("dangke listening on {url} (database {db_url})");
    app.run_until_stopped().await?;
    Ok(())
}
