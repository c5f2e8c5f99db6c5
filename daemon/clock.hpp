// Time is injected: everything that schedules, expires or backs off reads a Clock.
#pragma once

#include <atomic>
#include <cstdint>

namespace herald {

// Wall-clock time in seconds and milliseconds since the Unix epoch (UTC).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
  int64_t now() const { return now_ms() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
};

// A clock that tests move by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_s = 1'700'000'000) : m_ms(start_s * 1000) {}
  int64_t now_ms() const override { return m_ms.load(); }
  void set(int64_t s) { m_ms = s * 1000; }
  void advance(int64_t s) { m_ms += s * 1000; }
  void advance_ms(int64_t ms) { m_ms += ms; }

 private:
  std::atomic<int64_t> m_ms;
};

}  // namespace herald
