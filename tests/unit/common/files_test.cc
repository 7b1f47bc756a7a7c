#include "common/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/fakes/temp_dir.h"

namespace gspo::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::size_t kMiB = 1024 * 1024;

class FilesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = dir_.Join(name);
    const Status status = WriteFileAtomically(path, contents);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return path;
  }

  std::vector<std::string> DirEntries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  gspo::testing::ScopedTempDir dir_{::testing::TempDir()};
};

TEST_F(FilesTest, ReadsWholeFile) {
  const std::string contents("line one\nline two\0binary", 24);
  const std::string path = Write("a.txt", contents);
  const StatusOr<std::string> read = ReadFileToString(path, kMiB);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, contents);
}

TEST_F(FilesTest, ReadsEmptyFileAndLargerThanOneChunk) {
  EXPECT_EQ(*ReadFileToString(Write("empty", ""), 0), "");
  const std::string big(300 * 1024 + 7, 'x');
  EXPECT_EQ(*ReadFileToString(Write("big", big), kMiB), big);
}

TEST_F(FilesTest, ReadsFileWithNoReportedSize) {
  // /proc files report size 0 but have contents.
  const StatusOr<std::string> status = ReadFileToString("/proc/self/status", kMiB);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_THAT(*status, StartsWith("Name:"));
}

TEST_F(FilesTest, MissingFile) {
  const std::string path = dir_.Join("nope.yaml");
  const StatusOr<std::string> read = ReadFileToString(path, kMiB);
  EXPECT_EQ(read.status(), NotFoundError(path + ": no such file"));

  const std::string under_file = Write("plain", "x") + "/child";
  EXPECT_EQ(ReadFileToString(under_file, kMiB).status(),
            NotFoundError(under_file + ": no such file"));
}

TEST_F(FilesTest, DirectoryIsRejected) {
  EXPECT_EQ(ReadFileToString(dir_.path(), kMiB).status(),
            InvalidArgumentError(dir_.path() + ": is a directory, expected a file"));
}

TEST_F(FilesTest, TooLargeIsRejectedWithHumanSizes) {
  const std::string path = Write("big.jsonl", std::string(3355443, 'a'));  // 3.2 MiB
  EXPECT_EQ(ReadFileToString(path, kMiB).status(),
            InvalidArgumentError(path + ": file is 3.2 MiB; the limit is 1 MiB"));
  EXPECT_EQ(ReadFileToString(path, 1536 * 1024).status(),
            InvalidArgumentError(path + ": file is 3.2 MiB; the limit is 1.5 MiB"));
}

TEST_F(FilesTest, LimitIsInclusive) {
  const std::string path = Write("ten", "0123456789");
  EXPECT_EQ(*ReadFileToString(path, 10), "0123456789");
  EXPECT_EQ(ReadFileToString(path, 9).status(),
            InvalidArgumentError(path + ": file is 10 bytes; the limit is 9 bytes"));
  EXPECT_EQ(ReadFileToString(path, 0).status(),
            InvalidArgumentError(path + ": file is 10 bytes; the limit is 0 bytes"));
}

TEST_F(FilesTest, JustOverTheLimitShowsExactBytes) {
  const std::string path = Write("kib", std::string(1025, 'k'));
  EXPECT_EQ(ReadFileToString(path, 1024).status(),
            InvalidArgumentError(path + ": file is 1025 bytes; the limit is 1024 bytes"));
}

TEST_F(FilesTest, EndlessDeviceStopsAtTheLimit) {
  const auto start = std::chrono::steady_clock::now();
  const StatusOr<std::string> read = ReadFileToString("/dev/zero", 4096);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(read.status(),
            InvalidArgumentError("/dev/zero: file is more than 4 KiB; the limit is 4 KiB"));
}

TEST_F(FilesTest, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of permissions";
  const std::string path = Write("secret", "x");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  const Status status = ReadFileToString(path, kMiB).status();
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr(path + ": cannot open: "));
}

TEST_F(FilesTest, WriteCreatesAndReplacesLeavingNoTempFiles) {
  const std::string path = dir_.Join("state.json");
  ASSERT_TRUE(WriteFileAtomically(path, "{\"step\": 1, \"long\": \"xxxxxxxxxxxx\"}").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  ASSERT_TRUE(WriteFileAtomically(path, "{\"step\": 2}").ok());
  EXPECT_EQ(*ReadFileToString(path, kMiB), "{\"step\": 2}");
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(*ReadFileToString(path, kMiB), "");
  EXPECT_THAT(DirEntries(), ElementsAre("state.json"));
}

TEST_F(FilesTest, WriteKeepsExistingPermissions) {
  const std::string path = Write("token", "old");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(*ReadFileToString(path, kMiB), "new");
}

TEST_F(FilesTest, WriteErrorsNameThePath) {
  const std::string missing_dir = dir_.Join("no/such");
  const std::string path = missing_dir + "/out.txt";
  EXPECT_EQ(WriteFileAtomically(path, "x"),
            NotFoundError(path + ": directory " + missing_dir + " does not exist"));

  EXPECT_EQ(WriteFileAtomically(dir_.path(), "x"),
            InvalidArgumentError(dir_.path() + ": is a directory, expected a file"));
  EXPECT_EQ(WriteFileAtomically("", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(DirEntries().empty());
}

TEST(HumanBytesTest, Table) {
  EXPECT_EQ(HumanBytes(0), "0 bytes");
  EXPECT_EQ(HumanBytes(1), "1 byte");
  EXPECT_EQ(HumanBytes(1023), "1023 bytes");
  EXPECT_EQ(HumanBytes(1024), "1 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(10 * 1024 + 102), "10.1 KiB");
  EXPECT_EQ(HumanBytes(kMiB - 1), "1 MiB");
  EXPECT_EQ(HumanBytes(kMiB), "1 MiB");
  EXPECT_EQ(HumanBytes(3355443), "3.2 MiB");
  EXPECT_EQ(HumanBytes(std::uint64_t{2} << 30), "2 GiB");
  EXPECT_EQ(HumanBytes(std::uint64_t{5} << 40), "5 TiB");
  EXPECT_EQ(HumanBytes(~std::uint64_t{0}), "16 EiB");
}

TEST(PathTest, ExistsAndIsDirectory) {
  gspo::testing::ScopedTempDir dir(::testing::TempDir());
  const std::string file = dir.Join("f");
  EXPECT_FALSE(PathExists(file));
  ASSERT_TRUE(WriteFileAtomically(file, "x").ok());
  EXPECT_TRUE(PathExists(file));
  EXPECT_FALSE(IsDirectory(file));
  EXPECT_TRUE(PathExists(dir.path()));
  EXPECT_TRUE(IsDirectory(dir.path()));
  EXPECT_FALSE(IsDirectory(dir.Join("missing")));
}

TEST(PathTest, JoinPath) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("a//", "b/c"), "a/b/c");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(JoinPath("a", "/abs"), "/abs");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a", ""), "a");
}

TEST(PathTest, DirName) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("a//b"), "a");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("c/"), ".");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName("//"), "/");
  EXPECT_EQ(DirName(""), ".");
  EXPECT_EQ(DirName("/data/jobs/job.yaml"), "/data/jobs");
}

TEST(ErrnoToStatusTest, MapsCodesAndAppendsReason) {
  EXPECT_EQ(ErrnoToStatus(ENOENT, "x"), NotFoundError("x: No such file or directory"));
  EXPECT_EQ(ErrnoToStatus(EACCES, "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(EEXIST, "x").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoToStatus(EIO, "x").code(), StatusCode::kInternal);
}


TEST_F(FilesTest, MakeDirectoriesCreatesParentsAndIsIdempotent) {
  const std::string deep = dir_.Join("a/b/c");
  ASSERT_TRUE(MakeDirectories(deep).ok());
  EXPECT_TRUE(IsDirectory(deep));
  EXPECT_TRUE(MakeDirectories(deep).ok());
  const std::string file = Write("plain", "x");
  const Status status = MakeDirectories(file);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), file + ": exists and is not a directory");
}

TEST_F(FilesTest, RemoveTreeRemovesNestedContentsButNotLinkTargets) {
  ASSERT_TRUE(MakeDirectories(dir_.Join("t/sub")).ok());
  Write("t/sub/f", "data");
  Write("outside", "keep");
  ASSERT_EQ(::symlink(dir_.Join("outside").c_str(), dir_.Join("t/link").c_str()), 0);
  ASSERT_TRUE(RemoveTree(dir_.Join("t")).ok());
  EXPECT_FALSE(PathExists(dir_.Join("t")));
  EXPECT_TRUE(PathExists(dir_.Join("outside")));
  EXPECT_TRUE(RemoveTree(dir_.Join("never-existed")).ok());
}

TEST_F(FilesTest, ListDirectoryIsSortedAndAgreesWithStdFilesystem) {
  Write("b", "");
  Write("a", "");
  ASSERT_TRUE(MakeDirectories(dir_.Join("c")).ok());
  auto names = ListDirectory(dir_.path());
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*names, DirEntries());
  EXPECT_EQ(ListDirectory(dir_.Join("missing")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gspo::common
