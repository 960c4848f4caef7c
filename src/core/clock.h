// RunClock: the time a run reads and waits on, as a seam (LevelDB's Env): the engine takes a
// RunClock* (RunEnv) so that a test can pass one it advances instead of sleeping. RealClock() is
// the process's clock; it is thread-safe, and so must be any RunClock shared between threads.
#pragma once

#include <atomic>
#include <chrono>

namespace tether {

class RunClock {
 public:
  virtual ~RunClock() = default;
  // For intervals and deadlines.
  virtual std::chrono::steady_clock::time_point Now() = 0;
  // Waits `d`. Returns early, false, once *cancel (when given) is true; true when `d` passed.
  virtual bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel = nullptr) = 0;
};

// The real clock: steady_clock, and sleeps that look at `cancel` every 50 ms.
RunClock* RealClock();

}  // namespace tether
