#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/check_command.h"
#include "cli/common.h"
#include "cli/demo_command.h"
#include "cli/diff_command.h"
#include "cli/links_command.h"
#include "cli/runs_command.h"
#include "cli/schema_command.h"
#include "cli/serve_command.h"
#include "cli/sync_command.h"
#include "cli/track_command.h"
#include "core/version.h"

// The command line's set-up: every command's options (the one file that includes CLI11, slow to
// compile), each command's callback calling its function in <command>_command.h.
namespace tether::cli {
namespace {

void AddRunFlags(CLI::App* cmd, RunFlags* f, bool plan) {
  cmd->add_option("pipeline", f->pipeline, "Pipeline to run (default: the only one)");
  cmd->add_option("--entity,-e", f->entities, "Only these entities (repeatable)");
  if (!plan) cmd->add_flag("--dry-run,-n", f->dry_run, "Plan only: print what would change");
  cmd->add_option("--on-duplicate", f->on_duplicate, "merge | skip | update | error");
  cmd->add_option("--on-invalid", f->on_invalid, "skip | error");
  cmd->add_option("--from-date", f->from_date, "Only rows whose date column is on/after D");
  cmd->add_option("--to-date", f->to_date, "Only rows whose date column is on/before D");
  cmd->add_option("--where,-w", f->where,
                  "[entity.]column op value (op: = != < <= > >= like, is [not] null); bound, "
                  "never SQL");
  cmd->add_option("--format,-f", f->format, plan ? "table | json | csv" : "table | json")
      ->check(plan ? CLI::IsMember({"table", "json", "csv"}) : CLI::IsMember({"table", "json"}));
  cmd->add_option("--batch-size", f->batch_size, "Rows per batch (overrides the pipeline)")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  cmd->add_option("--limit", f->limit, "Records listed per entity in table output (0: all)")
      ->check(CLI::NonNegativeNumber);
  if (!plan) {
    cmd->add_flag("--restart", f->restart,
                  "Start from the beginning instead of resuming an interrupted run");
    cmd->add_flag("--create-tables", f->create_tables,
                  "Create missing target tables first (see `tether schema`)");
    cmd->add_flag("--watch", f->watch,
                  "Run incremental passes (--changes) until stopped (SIGINT / SIGTERM)");
    cmd->add_option("--interval", f->interval, "Pause between --watch passes (default 5s)");
    cmd->add_flag("--mark-synced", f->mark_synced,
                  "After --changes: prune the changes every pipeline has consumed");
    cmd->add_option("--wait", f->wait,
                    "When another run holds the pipeline, wait up to DURATION for it (default: "
                    "fail at once, exit 4)");
    cmd->add_option("--retries", f->retries,
                    "After a lost connection, a deadlock or a lock timeout, connect again and go "
                    "on from the last checkpoint up to N times, waiting 1s, 2s, 4s ... (default "
                    "3; 0: fail at once, exit 4)")
        ->check(CLI::Range(0, 100));
  }
  cmd->add_flag("--changes", f->changes,
                "Incremental: only records the source's change log (tether track) lists");
  cmd->add_option("--keys", f->keys_file,
                  "Only the records in FILE: one key per line (ENTITY<TAB>KEY with several "
                  "entities), or a `tether diff --format csv` report");
  cmd->add_option("--key", f->key_values,
                  "Only this record of the one selected entity (repeatable)");
  cmd->add_flag("--no-checksums", f->no_checksums,
                "Read and compare every record instead of skipping key ranges whose checksums "
                "agree");
  if (!plan) {
    cmd->add_flag("--verify", f->verify,
                  "After the sync, compare source and target (as `tether verify`); exit 8 if "
                  "they differ");
  }
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"tether — keeps business records in step between databases"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags (-c, -v, -q) may follow the subcommand
  app.set_version_flag("--version", std::string("tether ") + kTetherVersion);
  Globals g;
  app.add_option("--config,-c", g.config_path,
                 "Configuration file (default: tether.yaml, or $TETHER_CONFIG)")
      ->envname("TETHER_CONFIG");
  app.add_flag("-v,--verbose", g.verbose, "More detail (repeatable)");
  app.add_flag("-q,--quiet", g.quiet, "Only errors");
  int code = kExitOk;

  RunFlags sync_flags, plan_flags;
  plan_flags.limit = 20;
  CLI::App* sync = app.add_subcommand("sync", "Sync a pipeline: source → target");
  AddRunFlags(sync, &sync_flags, false);
  sync->callback([&] { code = SyncCommand(g, sync_flags, false); });

  CLI::App* plan =
      app.add_subcommand("plan", "Dry run: what sync would insert, update, skip, fail");
  AddRunFlags(plan, &plan_flags, true);
  plan->callback([&] { code = SyncCommand(g, plan_flags, true); });

  DiffFlags diff_flags;
  CLI::App* diff = app.add_subcommand(
      "diff", "Compare source and target: rows only in one, and changed fields (old → new)");
  diff->add_option("pipeline", diff_flags.pipeline, "Pipeline (default: the only one)");
  diff->add_option("--entity,-e", diff_flags.entities, "Only these entities (repeatable)");
  diff->add_option("--format,-f", diff_flags.format, "table | json | csv")->capture_default_str();
  diff->add_option("--output,-o", diff_flags.output, "Write the report to FILE instead of stdout");
  diff->add_option("--limit", diff_flags.limit,
                   "Differences listed per entity in table output (0: all)")
      ->capture_default_str();
  diff->add_flag("--no-checksums", diff_flags.no_checksums,
                 "Read and compare every record (no range checksums)");
  diff->callback([&] { code = DiffCommand(g, diff_flags); });

  DiffFlags verify_flags;
  CLI::App* verify = app.add_subcommand(
      "verify", "Exit 0 only if source and target are equal (exit 8 when they differ)");
  verify->add_option("pipeline", verify_flags.pipeline, "Pipeline (default: the only one)");
  verify->add_option("--entity,-e", verify_flags.entities, "Only these entities (repeatable)");
  verify->add_flag("--no-checksums", verify_flags.no_checksums,
                   "Read and compare every record (no range checksums)");
  verify->callback([&] {
    Config config;
    std::string pipeline;
    code = LoadPipeline(g, verify_flags.pipeline, &config, &pipeline);
    if (code == kExitOk) {
      code = Verify(g, config, pipeline, verify_flags.entities, !verify_flags.no_checksums);
    }
  });

  std::vector<std::string> check_pipelines;
  CLI::App* check = app.add_subcommand(
      "check", "Validate the config, reach every connection, find every table and column");
  check->add_option("pipeline", check_pipelines, "Pipelines to check (default: all)");
  check->callback([&] { code = CheckCommand(g, check_pipelines); });

  std::string runs_pipeline, runs_show, runs_format = "table";
  size_t runs_limit = 20;
  CLI::App* schema = app.add_subcommand(
      "schema", "Print (or --apply) the DDL of missing target tables and of columns they lack");
  std::string schema_pipeline;
  std::vector<std::string> schema_entities;
  bool schema_apply = false;
  schema->add_option("pipeline", schema_pipeline, "Pipeline (default: the only one)");
  schema->add_option("--entity,-e", schema_entities, "Only these entities (repeatable)");
  schema->add_flag("--apply", schema_apply, "Create the tables and add the columns on the target");
  schema->callback(
      [&] { code = SchemaCommand(g, schema_pipeline, schema_entities, schema_apply); });

  TrackFlags track_flags;
  CLI::App* track =
      app.add_subcommand("track", "Change tracking on a pipeline's source (for sync --changes)");
  track->require_subcommand(1);
  track->fallthrough();
  auto add_track = [&](const char* name, const char* help, TrackAction action) {
    CLI::App* cmd = track->add_subcommand(name, help);
    cmd->add_option("pipeline", track_flags.pipeline, "Pipeline (default: the only one)");
    cmd->add_option("--entity,-e", track_flags.entities,
                    "Only these entities (repeatable; default: the pipeline's)");
    cmd->callback([&, action] { code = TrackCommand(g, track_flags, action); });
    return cmd;
  };
  add_track("install", "Create tether_changes and the triggers on each entity's source table",
            TrackAction::kInstall);
  add_track("status", "What is tracked and how many changes wait", TrackAction::kStatus);
  add_track("uninstall", "Remove the triggers (the tables they watch are left as they are)",
            TrackAction::kUninstall)
      ->add_flag("--all", track_flags.all, "Every tracked table of the source, and tether_changes");
  add_track("prune", "Delete the changes every pipeline reading this source has consumed",
            TrackAction::kPrune);

  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the REST API, job runner and scheduler (until SIGINT / SIGTERM)");
  serve->add_option("--listen", serve_flags.listen,
                    "HOST:PORT to listen on (default 127.0.0.1:8080, or server.listen)");
  serve->add_option("--state", serve_flags.state,
                    "Where connections, pipelines and runs are kept (default "
                    "sqlite:tether-server.db beside the config; or postgres://...)");
  serve->add_option("--data-dir", serve_flags.data_dir,
                    "Folder of the SQLite files of connections made through the API (default "
                    "tether-data beside the config, or server.data_dir)");
  serve->add_option("--token", serve_flags.token,
                    "API bearer token (better: $TETHER_API_TOKEN or server.token; a flag shows in "
                    "ps)");
  serve->add_option("--max-concurrency", serve_flags.max_concurrency, "Runs at once (default 5)")
      ->check(CLI::Range(1, 64));
  serve
      ->add_option("--retry-attempts", serve_flags.retry_attempts,
                   "Retries of a run that failed for a reason that may pass (default 3)")
      ->check(CLI::Range(0, 20));
  serve->add_option("--retry-delay", serve_flags.retry_delay,
                    "Delay before the first retry; doubles each time (default 30s)");
  serve->add_option("--job-timeout", serve_flags.job_timeout,
                    "Longest an attempt may run before it is stopped (default 1h; 0: none)");
  serve->add_option("--cleanup-age", serve_flags.cleanup_age,
                    "Finished runs older than this are deleted with their logs (default 30d)");
  serve->callback([&] {
    const char* env = std::getenv("TETHER_CONFIG");
    code = ServeCommand(g, serve_flags, app.get_option("--config")->count() > 0 || (env && *env));
  });

  CLI::App* runs = app.add_subcommand("runs", "Run history with counts; --show RUN for records");
  runs->add_option("pipeline", runs_pipeline, "Pipeline (default: the only one)");
  runs->add_option("--show", runs_show, "A run id: its per-record results");
  runs->add_option("--limit", runs_limit, "How many (default 20; 0: all)")
      ->check(CLI::NonNegativeNumber);
  runs->add_option("--format,-f", runs_format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));
  runs->callback([&] { code = RunsCommand(g, runs_pipeline, runs_show, runs_limit, runs_format); });

  std::string links_pipeline, links_entity, links_source, links_target, links_format = "table";
  CLI::App* links = app.add_subcommand("links", "The link registry: which record is which");
  links->require_subcommand(1);
  links->fallthrough();
  CLI::App* find = links->add_subcommand("find", "Find a link by source or target id");
  find->add_option("pipeline", links_pipeline, "Pipeline (default: the only one)");
  find->add_option("--entity,-e", links_entity, "Entity")->required();
  auto* sid = find->add_option("--source-id", links_source, "Source record id");
  auto* tid = find->add_option("--target-id", links_target, "Target record id");
  sid->excludes(tid);
  find->add_option("--format,-f", links_format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));
  find->callback([&] {
    if (links_source.empty() && links_target.empty()) {
      std::fprintf(stderr, "tether: links find needs --source-id or --target-id\n");
      code = kExitUsage;
      return;
    }
    code = LinksCommand(g, links_pipeline, links_entity, links_source, links_target, false,
                        links_format);
  });
  CLI::App* failed = links->add_subcommand("failed", "Records that failed, with attempts and why");
  failed->add_option("pipeline", links_pipeline, "Pipeline (default: the only one)");
  failed->add_option("--entity,-e", links_entity, "Entity")->required();
  failed->add_option("--format,-f", links_format, "table | json")
      ->check(CLI::IsMember({"table", "json"}));
  failed->callback(
      [&] { code = LinksCommand(g, links_pipeline, links_entity, "", "", true, links_format); });

  DemoOptions demo_opts;
  CLI::App* demo = app.add_subcommand("demo", "The bundled demo shop");
  demo->require_subcommand(1);
  demo->fallthrough();
  CLI::App* init = demo->add_subcommand("init", "Create demo/live.db and demo/staging.db");
  init->add_option("--dir", demo_opts.dir, "Folder (default: demo)");
  init->add_option("--scale", demo_opts.scale, "Multiply row counts (default 1)");
  init->callback([&] { code = DemoInitCommand(g, demo_opts); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tether: %s\nRun with --help for more information.\n", e.what());
    return kExitUsage;
  }
  return code;
}

}  // namespace tether::cli
