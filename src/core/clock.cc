#include "core/clock.h"

#include <algorithm>
#include <thread>

namespace tether {
namespace {

class SteadyClock : public RunClock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() override {
    return std::chrono::system_clock::now();
  }
  bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel) override {
    const auto until = std::chrono::steady_clock::now() + d;
    for (;;) {
      if (cancel && cancel->load()) return false;
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return true;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - now, std::chrono::milliseconds(50)));
    }
  }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lk,
                 std::chrono::steady_clock::time_point deadline) override {
    cv.wait_until(lk, deadline);
  }
};

}  // namespace

RunClock* RealClock() {
  static SteadyClock clock;
  return &clock;
}

}  // namespace tether
