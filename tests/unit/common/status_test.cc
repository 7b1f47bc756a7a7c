#include "common/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gspo::common {
namespace {

using ::testing::HasSubstr;

TEST(StatusTest, DefaultIsOk) {
  const Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_EQ(status, Status::Ok());
}

TEST(StatusTest, OkCodeDropsMessage) {
  const Status status(StatusCode::kOk, "ignored");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status, Status::Ok());
}

TEST(StatusTest, ToStringAndEquality) {
  const Status status = InvalidArgumentError("bad lr");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.ToString(), "INVALID_ARGUMENT: bad lr");
  EXPECT_EQ(status, Status(StatusCode::kInvalidArgument, "bad lr"));
  EXPECT_NE(status, InvalidArgumentError("bad lr!"));
  EXPECT_NE(status, NotFoundError("bad lr"));
}

TEST(StatusTest, CodesFollowGrpcNumbering) {
  struct Case {
    Status status;
    int number;
    const char* name;
  };
  const std::vector<Case> cases = {
      {Status::Ok(), 0, "OK"},
      {CancelledError("m"), 1, "CANCELLED"},
      {UnknownError("m"), 2, "UNKNOWN"},
      {InvalidArgumentError("m"), 3, "INVALID_ARGUMENT"},
      {DeadlineExceededError("m"), 4, "DEADLINE_EXCEEDED"},
      {NotFoundError("m"), 5, "NOT_FOUND"},
      {AlreadyExistsError("m"), 6, "ALREADY_EXISTS"},
      {PermissionDeniedError("m"), 7, "PERMISSION_DENIED"},
      {ResourceExhaustedError("m"), 8, "RESOURCE_EXHAUSTED"},
      {FailedPreconditionError("m"), 9, "FAILED_PRECONDITION"},
      {AbortedError("m"), 10, "ABORTED"},
      {OutOfRangeError("m"), 11, "OUT_OF_RANGE"},
      {UnimplementedError("m"), 12, "UNIMPLEMENTED"},
      {InternalError("m"), 13, "INTERNAL"},
      {UnavailableError("m"), 14, "UNAVAILABLE"},
      {DataLossError("m"), 15, "DATA_LOSS"},
      {UnauthenticatedError("m"), 16, "UNAUTHENTICATED"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(static_cast<int>(c.status.code()), c.number) << c.name;
    EXPECT_STREQ(StatusCodeName(c.status.code()), c.name);
    if (!c.status.ok()) {
      EXPECT_EQ(c.status.message(), "m");
      EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
    }
  }
  EXPECT_STREQ(StatusCodeName(static_cast<StatusCode>(99)), "UNKNOWN_CODE");
}

TEST(StatusTest, ExitCodeFor) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
  for (const Status& usage : {InvalidArgumentError("m"), NotFoundError("m"), OutOfRangeError("m"),
                              FailedPreconditionError("m"), AlreadyExistsError("m")}) {
    EXPECT_EQ(ExitCodeFor(usage), 2) << usage.ToString();
  }
  for (const Status& failure :
       {CancelledError("m"), UnknownError("m"), DeadlineExceededError("m"),
        PermissionDeniedError("m"), ResourceExhaustedError("m"), AbortedError("m"),
        UnimplementedError("m"), InternalError("m"), UnavailableError("m"), DataLossError("m"),
        UnauthenticatedError("m")}) {
    EXPECT_EQ(ExitCodeFor(failure), 1) << failure.ToString();
  }
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<std::string> result = std::string("weights");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.status().ok());
  EXPECT_EQ(result.value(), "weights");
  EXPECT_EQ(*result, "weights");
  EXPECT_EQ(result->size(), 7u);
  result->append(".bin");
  EXPECT_EQ(*result, "weights.bin");
  const StatusOr<std::string>& const_ref = result;
  EXPECT_EQ(const_ref.value(), "weights.bin");
  EXPECT_EQ(const_ref->size(), 11u);
}

TEST(StatusOrTest, ConvertsImplicitlyFromCompatibleValue) {
  const StatusOr<std::string> from_literal = "text";
  EXPECT_EQ(*from_literal, "text");
  const StatusOr<std::vector<int>> in_place(std::in_place, 3, 7);
  EXPECT_EQ(*in_place, (std::vector<int>{7, 7, 7}));
}

TEST(StatusOrTest, HoldsError) {
  const StatusOr<int> result = NotFoundError("no job 'x'");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status(), NotFoundError("no job 'x'"));
  EXPECT_EQ(result.value_or(42), 42);
}

TEST(StatusOrTest, OkStatusWithoutValueBecomesInternal) {
  const StatusOr<int> result = Status::Ok();
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInternal);
  EXPECT_THAT(result.status().message(), HasSubstr("OK status"));
}

TEST(StatusOrTest, MovesOutMoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> result = std::make_unique<int>(5);
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> taken = std::move(result).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 5);

  StatusOr<std::unique_ptr<int>> again = std::make_unique<int>(6);
  std::unique_ptr<int> dereferenced = *std::move(again);
  EXPECT_EQ(*dereferenced, 6);
}

TEST(StatusOrTest, StatusCanBeMovedOut) {
  StatusOr<int> result = AbortedError("stopped");
  const Status status = std::move(result).status();
  EXPECT_EQ(status, AbortedError("stopped"));
}

TEST(StatusOrDeathTest, ValueOnErrorAborts) {
  const StatusOr<int> result = DataLossError("checkpoint truncated");
  EXPECT_DEATH((void)result.value(), "DATA_LOSS: checkpoint truncated");
}

Status Check(int x) {
  if (x < 0) return OutOfRangeError("negative: " + std::to_string(x));
  return Status::Ok();
}

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

Status CheckBoth(int a, int b, int* calls) {
  GSPO_RETURN_IF_ERROR(Check(a));
  ++*calls;
  GSPO_RETURN_IF_ERROR(Check(b));
  ++*calls;
  return Status::Ok();
}

StatusOr<int> Quarter(int x) {
  GSPO_RETURN_IF_ERROR(Check(x));  // A Status return converts into StatusOr.
  GSPO_ASSIGN_OR_RETURN(const int half, Half(x));
  int quarter = 0;
  GSPO_ASSIGN_OR_RETURN(quarter, Half(half));  // Assigning to an existing variable.
  return quarter;
}

Status RequireHalf(int x, int* out) {
  GSPO_RETURN_IF_ERROR(Half(x));  // A StatusOr works too.
  GSPO_ASSIGN_OR_RETURN(auto half, Half(x));
  GSPO_ASSIGN_OR_RETURN(auto unique, StatusOr<std::unique_ptr<int>>(std::make_unique<int>(half)));
  *out = *unique;
  return Status::Ok();
}

TEST(StatusMacrosTest, ReturnIfErrorPropagates) {
  int calls = 0;
  EXPECT_TRUE(CheckBoth(1, 2, &calls).ok());
  EXPECT_EQ(calls, 2);

  calls = 0;
  EXPECT_EQ(CheckBoth(-1, 2, &calls), OutOfRangeError("negative: -1"));
  EXPECT_EQ(calls, 0);

  calls = 0;
  EXPECT_EQ(CheckBoth(1, -2, &calls), OutOfRangeError("negative: -2"));
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacrosTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(-4).status(), OutOfRangeError("negative: -4"));
  EXPECT_EQ(Quarter(3).status(), InvalidArgumentError("odd: 3"));
  EXPECT_EQ(Quarter(6).status(), InvalidArgumentError("odd: 3"));

  int out = 0;
  EXPECT_TRUE(RequireHalf(10, &out).ok());
  EXPECT_EQ(out, 5);
  EXPECT_EQ(RequireHalf(7, &out), InvalidArgumentError("odd: 7"));
}

}  // namespace
}  // namespace gspo::common
