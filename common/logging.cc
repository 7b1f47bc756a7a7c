#include "common/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "common/files.h"
#include "common/strings.h"

namespace gspo::common {
namespace {

void AppendHexByte(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\\x");
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xf]);
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Escapes control characters so that one call always produces one line.
void AppendEscaped(std::string_view text, bool escape_quotes, std::string* out) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '"':
      case '\\':
        if (escape_quotes) out->push_back('\\');
        out->push_back(ch);
        break;
      default:
        if (IsControl(c)) {
          AppendHexByte(c, out);
        } else {
          out->push_back(ch);
        }
    }
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '"' || c == '=' || IsControl(c)) return true;
  }
  return false;
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/';
}

// One write(2) per line keeps lines whole even with several processes appending to one file.
void WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // Nowhere left to report a failing log sink.
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return InvalidArgumentError("unknown log level " + QuoteForMessage(text) +
                              "; expected one of debug, info, warning, error");
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

char LogLevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 'D';
    case LogLevel::kInfo:
      return 'I';
    case LogLevel::kWarning:
      return 'W';
    case LogLevel::kError:
      return 'E';
  }
  return '?';
}

std::string LogField::DoubleText(double value) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::string FormatLogLine(std::chrono::system_clock::time_point time, LogLevel level,
                          std::string_view message, std::initializer_list<LogField> fields) {
  std::string line = FormatRfc3339Utc(time);
  line.reserve(line.size() + 3 + message.size() + fields.size() * 16);
  line.push_back(' ');
  line.push_back(LogLevelLetter(level));
  line.push_back(' ');
  AppendEscaped(message, /*escape_quotes=*/false, &line);
  for (const LogField& field : fields) {
    line.push_back(' ');
    if (field.key().empty()) line.push_back('_');
    for (const char c : field.key()) line.push_back(IsKeyChar(c) ? c : '_');
    line.push_back('=');
    if (NeedsQuotes(field.value())) {
      line.push_back('"');
      AppendEscaped(field.value(), /*escape_quotes=*/true, &line);
      line.push_back('"');
    } else {
      line.append(field.value());
    }
  }
  return line;
}

Logger::Logger() : clock_(&SystemClock()) {}

Logger::~Logger() { CloseFile(); }

Logger& Logger::Global() {
  // Leaked so that logging from other static destructors stays safe.
  static Logger* const logger = new Logger();
  return *logger;
}

void Logger::SetStderr(bool enabled) {
  std::lock_guard<std::mutex> lock(mu_);
  to_stderr_ = enabled;
}

Status Logger::OpenFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus(errno, path + ": cannot open log file");
  std::lock_guard<std::mutex> lock(mu_);
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = fd;
  return Status::Ok();
}

void Logger::CloseFile() {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
}

void Logger::SetClock(Clock* clock) {
  std::lock_guard<std::mutex> lock(mu_);
  clock_ = clock != nullptr ? clock : &SystemClock();
}

void Logger::Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!IsEnabled(level)) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::string line = FormatLogLine(clock_->Now(), level, message, fields);
  line.push_back('\n');
  if (to_stderr_) WriteAll(STDERR_FILENO, line);
  if (file_fd_ >= 0) WriteAll(file_fd_, line);
}

void LogDebug(std::string_view message, std::initializer_list<LogField> fields) {
  Logger::Global().Log(LogLevel::kDebug, message, fields);
}
void LogInfo(std::string_view message, std::initializer_list<LogField> fields) {
  Logger::Global().Log(LogLevel::kInfo, message, fields);
}
void LogWarning(std::string_view message, std::initializer_list<LogField> fields) {
  Logger::Global().Log(LogLevel::kWarning, message, fields);
}
void LogError(std::string_view message, std::initializer_list<LogField> fields) {
  Logger::Global().Log(LogLevel::kError, message, fields);
}

}  // namespace gspo::common
