// Structured, line-oriented logging: `<RFC 3339 time> <level letter> <message> key=value ...`.
//
// Logger is thread-safe: every method may be called from any thread, and each line reaches its
// sinks with a single write, so concurrent lines never interleave. Logger::Global() is a
// process-wide instance that is never destroyed; the LogDebug/LogInfo/... helpers write to it.
// A Clock set with SetClock is borrowed and must outlive its use by the Logger.
#ifndef GSPO_COMMON_LOGGING_H_
#define GSPO_COMMON_LOGGING_H_

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/clock.h"
#include "common/status.h"

namespace gspo::common {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Accepts "debug", "info", "warning" and "error" (exactly; the flags and job files use these).
StatusOr<LogLevel> ParseLogLevel(std::string_view text);
// "debug", "info", "warning", "error".
const char* LogLevelName(LogLevel level);
// 'D', 'I', 'W', 'E'.
char LogLevelLetter(LogLevel level);

// One key=value pair of a log line. The value is rendered to text on construction, so a field
// may be built from temporaries.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value) : key_(key), value_(value) {}
  LogField(std::string_view key, const std::string& value) : key_(key), value_(value) {}
  LogField(std::string_view key, const char* value)
      : key_(key), value_(value != nullptr ? value : "(null)") {}
  // Templates rather than plain overloads so that pointers do not silently become bools and
  // every integer type picks the integer form.
  template <typename B, std::enable_if_t<std::is_same_v<B, bool>, int> = 0>
  LogField(std::string_view key, B value) : key_(key), value_(value ? "true" : "false") {}
  template <typename I,
            std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  LogField(std::string_view key, I value) : key_(key), value_(IntegerText(value)) {}
  template <typename F, std::enable_if_t<std::is_floating_point_v<F>, int> = 0>
  LogField(std::string_view key, F value)
      : key_(key), value_(DoubleText(static_cast<double>(value))) {}

  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }

 private:
  template <typename I>
  static std::string IntegerText(I value) {
    if constexpr (std::is_signed_v<I>) {
      return std::to_string(static_cast<long long>(value));
    } else {
      return std::to_string(static_cast<unsigned long long>(value));
    }
  }
  // Shortest text that reads back as the same double ("0.1", "1e-05", "inf", "nan").
  static std::string DoubleText(double value);

  std::string key_;
  std::string value_;
};

// The text of one log line, without the trailing newline. Values that are empty or contain
// spaces, quotes, '=' or control characters are double-quoted, with \" \\ \n \r \t escaped and
// other control bytes written as \xNN; control characters in the message are escaped likewise.
// Characters other than letters, digits, '_', '-', '.' and '/' in keys become '_'.
std::string FormatLogLine(std::chrono::system_clock::time_point time, LogLevel level,
                          std::string_view message, std::initializer_list<LogField> fields = {});

class Logger {
 public:
  // Level kInfo, writing to stderr, no file, SystemClock().
  Logger();
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  static Logger& Global();

  void SetLevel(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
  LogLevel level() const { return level_.load(std::memory_order_relaxed); }
  bool IsEnabled(LogLevel level) const { return level >= this->level(); }

  void SetStderr(bool enabled);
  // Appends to `path`, creating it if needed; replaces any file opened before. On error the
  // previous file, if any, stays in use.
  Status OpenFile(const std::string& path);
  void CloseFile();
  // nullptr returns to SystemClock().
  void SetClock(Clock* clock);

  void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

 private:
  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::mutex mu_;
  bool to_stderr_ = true;  // guarded by mu_
  int file_fd_ = -1;       // guarded by mu_
  Clock* clock_;           // guarded by mu_
};

// Shorthands for Logger::Global().Log(...).
void LogDebug(std::string_view message, std::initializer_list<LogField> fields = {});
void LogInfo(std::string_view message, std::initializer_list<LogField> fields = {});
void LogWarning(std::string_view message, std::initializer_list<LogField> fields = {});
void LogError(std::string_view message, std::initializer_list<LogField> fields = {});

}  // namespace gspo::common

#endif  // GSPO_COMMON_LOGGING_H_
