// ManualClock: a RunClock that never sleeps. Its time moves only when something waits on it (a wait
// passes at once and moves the time by its length) or the test calls Advance; it remembers the
// waits, so a test can check a backoff without spending it. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "core/clock.h"

namespace tether::testing {

class ManualClock : public RunClock {
 public:
  std::chrono::steady_clock::time_point Now() override {
    std::lock_guard<std::mutex> lk(mu_);
    return now_;
  }
  bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel = nullptr) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (cancel && cancel->load()) return false;
    waits_.push_back(d);
    now_ += d;
    return true;
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lk(mu_);
    now_ += d;
  }
  std::vector<std::chrono::milliseconds> waits() {
    std::lock_guard<std::mutex> lk(mu_);
    return waits_;
  }

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point now_{};
  std::vector<std::chrono::milliseconds> waits_;
};

}  // namespace tether::testing
