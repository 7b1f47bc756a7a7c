// Status and StatusOr<T>: how every gspo library reports failure instead of throwing.
//
// Both are plain value types that own their contents. Like std::string, concurrent reads of one
// object are safe and anything else needs external synchronisation.
//
// The codes follow gRPC's numbering so the server can put a Status on the wire unchanged.
#ifndef GSPO_COMMON_STATUS_H_
#define GSPO_COMMON_STATUS_H_

#include <iosfwd>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace gspo::common {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT" etc.; "UNKNOWN_CODE" for values outside the enum.
const char* StatusCodeName(StatusCode code);

class Status {
 public:
  // OK.
  Status() = default;
  // An OK code drops the message: an OK status carries no information.
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool ok() const { return code_ == StatusCode::kOk; }

  // "OK" or "INVALID_ARGUMENT: message".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }
  friend bool operator!=(const Status& a, const Status& b) { return !(a == b); }
  // Writes ToString(); also how test failures show a Status.
  friend std::ostream& operator<<(std::ostream& os, const Status& status);

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status CancelledError(std::string message);
Status UnknownError(std::string message);
Status InvalidArgumentError(std::string message);
Status DeadlineExceededError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status FailedPreconditionError(std::string message);
Status AbortedError(std::string message);
Status OutOfRangeError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
Status UnavailableError(std::string message);
Status DataLossError(std::string message);
Status UnauthenticatedError(std::string message);

// Process exit code for a command-line tool that ends with `status`: 0 when ok, 2 when the user's
// input was at fault (bad argument, missing file, failed check), 1 for everything else.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
int ExitCodeFor(const Status& status);

namespace internal {
// Out of line so this header needs no <iostream>.
[[noreturn]] void DieOnBadStatusOrAccess(const Status& status);
Status OkStatusOrError();
}  // namespace internal

// Either a value of type T or the non-OK Status explaining why there is none.
template <typename T>
class StatusOr {
 public:
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "StatusOr<Status> is not meaningful");

  // Implicit on purpose, so that functions can `return value;` or `return SomeError(...);`.
  // An OK status has no value to go with it; that is a bug and is turned into kInternal.
  StatusOr(const Status& status)  // NOLINT(runtime/explicit)
      : status_(status.ok() ? internal::OkStatusOrError() : status) {}
  StatusOr(Status&& status)  // NOLINT(runtime/explicit)
      : status_(status.ok() ? internal::OkStatusOrError() : std::move(status)) {}

  // Only conversions T allows implicitly; use std::in_place for explicit constructors.
  template <typename U = T,
            typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, StatusOr> &&
                                        !std::is_same_v<std::decay_t<U>, std::in_place_t>>>
  StatusOr(U&& value)  // NOLINT(runtime/explicit)
      : value_(std::forward<U>(value)) {}

  template <typename... Args>
  explicit StatusOr(std::in_place_t, Args&&... args)
      : value_(std::in_place, std::forward<Args>(args)...) {}

  bool ok() const { return status_.ok(); }

  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  // Aborts the process with the status on stderr when there is no value.
  T& value() & {
    CheckHasValue();
    return *value_;
  }
  const T& value() const& {
    CheckHasValue();
    return *value_;
  }
  T&& value() && {
    CheckHasValue();
    return std::move(*value_);
  }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void CheckHasValue() const {
    if (!status_.ok()) internal::DieOnBadStatusOrAccess(status_);
  }

  Status status_;
  std::optional<T> value_;
};

namespace internal {
inline const Status& AsStatus(const Status& status) { return status; }
template <typename T>
const Status& AsStatus(const StatusOr<T>& status_or) {
  return status_or.status();
}
}  // namespace internal

}  // namespace gspo::common

#define GSPO_STATUS_CONCAT_INNER_(a, b) a##b
#define GSPO_STATUS_CONCAT_(a, b) GSPO_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status or a StatusOr) is not OK.
#define GSPO_RETURN_IF_ERROR(expr)                                                            \
  do {                                                                                        \
    const auto& GSPO_STATUS_CONCAT_(gspo_status_, __LINE__) = (expr);                         \
    if (!GSPO_STATUS_CONCAT_(gspo_status_, __LINE__).ok()) {                                  \
      return ::gspo::common::internal::AsStatus(GSPO_STATUS_CONCAT_(gspo_status_, __LINE__)); \
    }                                                                                         \
  } while (false)

// GSPO_ASSIGN_OR_RETURN(auto x, MakeX()); or GSPO_ASSIGN_OR_RETURN(existing, MakeX());
// Expands to several statements, so it cannot be the unbraced body of an `if`.
#define GSPO_ASSIGN_OR_RETURN(lhs, ...) \
  GSPO_ASSIGN_OR_RETURN_IMPL_(GSPO_STATUS_CONCAT_(gspo_status_or_, __COUNTER__), lhs, __VA_ARGS__)

#define GSPO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, ...) \
  auto tmp = (__VA_ARGS__);                        \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

#endif  // GSPO_COMMON_STATUS_H_
