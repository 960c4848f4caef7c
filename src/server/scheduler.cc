#include "server/scheduler.h"

#include <fmt/format.h>

#include "core/temporal.h"

namespace tether {
namespace {

constexpr auto kReloadEvery = std::chrono::seconds(30);

}  // namespace

Scheduler::Scheduler(Catalog* catalog, JobRunner* runner, ServerStore* store)
    : clock_(runner->options().env.clock), catalog_(catalog), runner_(runner), store_(store) {}

Scheduler::~Scheduler() { Shutdown(); }

Status Scheduler::Start() {
  TETHER_ASSIGN_OR_RETURN(auto marks, store_->ListScheduleMarks());
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (ScheduleMark& m : marks) marks_[m.pipeline] = std::move(m);
  }
  Reload();
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void Scheduler::Shutdown() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Poke() {
  Reload();  // here, so that the caller's next read sees the change
  wake_.notify_all();
}

void Scheduler::Reload() {
  Result<std::vector<std::pair<std::string, std::string>>> all = catalog_->Schedules();
  if (!all.ok()) {
    std::fprintf(stderr, "tether serve: reading the schedules failed: %s\n",
                 all.status().ToString().c_str());
    return;
  }
  std::vector<ScheduleMark> fresh;
  {
    std::lock_guard<std::mutex> lk(mu_);
    std::map<std::string, Entry> entries;
    for (const auto& [pipeline, text] : *all) {
      Result<Schedule> s = ParseSchedule(text);
      if (!s.ok()) continue;  // the loader validated it; a schedule it refuses cannot get here
      Entry e{*s, {}};
      auto m = marks_.find(pipeline);
      if (m != marks_.end() && m->second.schedule == s->text) {
        e.mark = m->second;
      } else {
        // A new or changed schedule counts from now: its first tick is the next one.
        e.mark = {pipeline, s->text, IsoUtc(clock_->WallNow()), ""};
        marks_[pipeline] = e.mark;
        fresh.push_back(e.mark);
      }
      entries[pipeline] = std::move(e);
    }
    entries_ = std::move(entries);
    dirty_ = false;
  }
  for (const ScheduleMark& m : fresh) {
    Status st = store_->PutScheduleMark(m);
    if (!st.ok()) {
      std::fprintf(stderr, "tether serve: saving the schedule of %s failed: %s\n",
                   m.pipeline.c_str(), st.ToString().c_str());
    }
  }
}

void Scheduler::Tick(const std::string& pipeline) {
  std::string outcome = "started";
  std::string job_id;
  Result<Job> job = runner_->Submit(pipeline, "sync", "schedule", nlohmann::json{{"mode", "full"}});
  if (job.ok()) {
    job_id = job->id;
  } else if (job.status().code() == StatusCode::kAlreadyExists) {
    outcome = "skipped";  // the previous run is still going: not stacked
  } else {
    outcome = "failed";
    std::fprintf(stderr, "tether serve: scheduled run of %s not started: %s\n", pipeline.c_str(),
                 job.status().ToString().c_str());
  }
  ScheduleMark mark;
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++ticks_[pipeline][outcome];
    auto it = entries_.find(pipeline);
    if (it == entries_.end()) return;
    // The tick is "now", not the due time: ticks missed meanwhile collapse into this one.
    it->second.mark.last_tick = IsoUtc(clock_->WallNow());
    it->second.mark.last_job = job_id;
    marks_[pipeline] = it->second.mark;
    mark = it->second.mark;
  }
  Status st = store_->PutScheduleMark(mark);
  if (!st.ok()) {
    std::fprintf(stderr, "tether serve: saving the schedule of %s failed: %s\n", pipeline.c_str(),
                 st.ToString().c_str());
  }
}

void Scheduler::Loop() {
  auto last_reload = clock_->Now();
  std::unique_lock<std::mutex> lk(mu_);
  while (!stopping_) {
    const auto steady = clock_->Now();
    if (dirty_ || steady - last_reload >= kReloadEvery) {
      lk.unlock();
      Reload();
      lk.lock();
      last_reload = clock_->Now();
      continue;
    }
    const auto now = clock_->WallNow();
    auto wake_at = now + std::chrono::seconds(1);
    std::vector<std::string> due;
    for (const auto& [pipeline, e] : entries_) {
      std::optional<SystemTime> last = ParseIsoUtc(e.mark.last_tick);
      const SystemTime next = e.schedule.Next(last ? *last : now);
      if (next <= now) {
        due.push_back(pipeline);
      } else if (next < wake_at) {
        wake_at = next;
      }
    }
    if (!due.empty()) {
      lk.unlock();
      for (const std::string& p : due) Tick(p);
      lk.lock();
      continue;
    }
    clock_->WaitUntil(
        wake_, lk,
        steady + std::chrono::duration_cast<std::chrono::steady_clock::duration>(wake_at - now));
  }
}

std::vector<ScheduleView> Scheduler::List() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<ScheduleView> out;
  const auto now = clock_->WallNow();
  for (const auto& [pipeline, e] : entries_) {
    std::optional<SystemTime> last = ParseIsoUtc(e.mark.last_tick);
    SystemTime next = e.schedule.Next(last ? *last : now);
    out.push_back({pipeline, e.schedule.text, next == SystemTime::max() ? "" : IsoUtc(next),
                   e.mark.last_tick, e.mark.last_job});
  }
  return out;
}

std::map<std::string, std::map<std::string, int64_t>> Scheduler::TickCounts() {
  std::lock_guard<std::mutex> lk(mu_);
  return ticks_;
}

}  // namespace tether
