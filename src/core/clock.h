// RunClock: the time a run and the server read and wait on, as a seam (LevelDB's Env): the engine
// (RunEnv) and the server's JobRunner and Scheduler (RunnerOptions::env) take a RunClock* so that
// a test can pass one it advances instead of sleeping. RealClock() is the process's clock; it is
// thread-safe, and so must be any RunClock shared between threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace tether {

class RunClock {
 public:
  virtual ~RunClock() = default;
  // For intervals and deadlines.
  virtual std::chrono::steady_clock::time_point Now() = 0;
  // Calendar time, for schedules and the times a server shows and keeps. It moves with Now().
  virtual std::chrono::system_clock::time_point WallNow() = 0;
  // Waits `d`. Returns early, false, once *cancel (when given) is true; true when `d` passed.
  virtual bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel = nullptr) = 0;
  // condition_variable::wait_until on this clock: `lk` (held, of the mutex `cv` is used with) is
  // released while waiting; returns once `cv` is notified, Now() has reached `deadline`, or
  // spuriously, so the caller decides again from what it reads. A thread that must stay
  // interruptible (shutdown) waits here rather than in SleepFor.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lk,
                         std::chrono::steady_clock::time_point deadline) = 0;
};

// The real clock: steady_clock and system_clock, sleeps that look at `cancel` every 50 ms, and
// condition variable waits on real time.
RunClock* RealClock();

}  // namespace tether
