// ManualClock: a RunClock that never sleeps. Its time moves only when something sleeps on it (a
// SleepFor passes at once and moves the time by its length) or the test calls Advance; it
// remembers the sleeps, so a test can check a backoff without spending it. Its wall time starts
// at a fixed instant (or the one given) and moves with its steady time. A thread waiting in
// WaitUntil (the server's scheduler and monitor) stays there until the time passes its deadline
// through Advance or a SleepFor, or its condition variable is notified. Thread-safe; the mutexes
// of waiting threads must outlive the calls that move the time.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace tether::testing {

class ManualClock : public RunClock {
 public:
  // 2026-01-01T00:00:00Z: a schedule test knows where the minutes and hours fall.
  static constexpr std::chrono::system_clock::time_point kStart{std::chrono::seconds(1767225600)};

  explicit ManualClock(std::chrono::system_clock::time_point wall = kStart) : wall_start_(wall) {}

  std::chrono::steady_clock::time_point Now() override {
    std::lock_guard<std::mutex> lk(mu_);
    return now_;
  }
  std::chrono::system_clock::time_point WallNow() override {
    std::lock_guard<std::mutex> lk(mu_);
    return wall_start_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_.time_since_epoch());
  }
  bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel = nullptr) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (cancel && cancel->load()) return false;
      waits_.push_back(d);
    }
    Advance(d);
    return true;
  }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lk,
                 std::chrono::steady_clock::time_point deadline) override {
    const Waiter me{&cv, lk.mutex()};
    {
      std::lock_guard<std::mutex> g(mu_);
      if (now_ >= deadline) return;
      waiters_.push_back(me);
    }
    // Advance takes `lk`'s mutex before it notifies, so it cannot slip in before this wait.
    cv.wait(lk);
    std::lock_guard<std::mutex> g(mu_);
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), me));
  }
  // Moves the time on and wakes the threads waiting in WaitUntil to look at it.
  void Advance(std::chrono::milliseconds d) {
    std::vector<Waiter> waiting;
    {
      std::lock_guard<std::mutex> lk(mu_);
      now_ += d;
      waiting = waiters_;
    }
    for (const Waiter& w : waiting) {
      std::lock_guard<std::mutex> lk(*w.second);
      w.first->notify_all();
    }
  }
  std::vector<std::chrono::milliseconds> waits() {
    std::lock_guard<std::mutex> lk(mu_);
    return waits_;
  }

 private:
  using Waiter = std::pair<std::condition_variable*, std::mutex*>;

  std::mutex mu_;
  const std::chrono::system_clock::time_point wall_start_;
  std::chrono::steady_clock::time_point now_{};
  std::vector<std::chrono::milliseconds> waits_;
  std::vector<Waiter> waiters_;
};

}  // namespace tether::testing
