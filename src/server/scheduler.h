// Scheduler: starts the runs of pipelines that have a `schedule`, on its own thread. A tick that
// comes while the pipeline's previous run is still queued or running is skipped, not stacked;
// ticks missed while the server was down fire once at start-up. The last tick of each pipeline is
// kept in the ServerStore, so schedules survive restarts. Time is the JobRunner's clock
// (RunnerOptions::env.clock): when a tick is due, and the reload of the schedules every 30 s, are
// decided from it, so a test that advances a ManualClock makes ticks fire. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/schedule.h"
#include "server/catalog.h"
#include "server/job_runner.h"
#include "server/server_store.h"

namespace tether {

struct ScheduleView {
  std::string pipeline;
  std::string schedule;
  std::string next_at;
  std::string last_tick;
  std::string last_job;
};

class Scheduler {
 public:
  Scheduler(Catalog* catalog, JobRunner* runner, ServerStore* store);
  ~Scheduler();
  Status Start();
  void Shutdown();
  // The pipelines changed: read their schedules again now.
  void Poke();
  std::vector<ScheduleView> List();
  // pipeline -> outcome (started | skipped | failed) -> ticks since start.
  std::map<std::string, std::map<std::string, int64_t>> TickCounts();

 private:
  struct Entry {
    Schedule schedule;
    ScheduleMark mark;
  };
  void Loop();
  void Reload();  // with mu_ not held
  void Tick(const std::string& pipeline);

  RunClock* clock_;  // the runner's
  Catalog* catalog_;
  JobRunner* runner_;
  ServerStore* store_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool dirty_ = true;
  std::map<std::string, Entry> entries_;
  std::map<std::string, ScheduleMark> marks_;  // as stored
  std::map<std::string, std::map<std::string, int64_t>> ticks_;
  std::thread thread_;
};

}  // namespace tether
