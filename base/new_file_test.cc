// NewFile: complete or absent, never over another file, and nothing left
// behind by a failure or by a process killed while writing.
#include "base/new_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/subprocess.h"

namespace kiln {
namespace {

class NewFileTest : public ::testing::TestWithParam<NewFile::Naming> {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("new_file"); }
  void TearDown() override {
    for (const std::string& name : Names()) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }

  // Names: the directory's entries, hidden ones included.
  std::vector<std::string> Names() const { return testing::ListDir(dir_); }

  static std::string Contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }

  static void Write(NewFile& file, const std::string& bytes) {
    ASSERT_EQ(write(file.fd(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  std::string dir_;
};

TEST_P(NewFileTest, AppearsOnlyWhenCommitted) {
  const std::string path = dir_ + "/dump.hprof";
  absl::StatusOr<std::unique_ptr<NewFile>> file = NewFile::Create(path, "test", GetParam());
  ASSERT_TRUE(file.ok()) << file.status();
  Write(**file, "JAVA PROFILE 1.0.2");
  if ((*file)->unnamed()) {
    EXPECT_TRUE(Names().empty()) << "an unnamed file has no entry while it is written";
    EXPECT_EQ((*file)->writing_name(), path + " (unfinished)");
  } else {
    EXPECT_EQ(Names().size(), 1u);
  }
  struct stat st;
  EXPECT_NE(lstat(path.c_str(), &st), 0);
  ASSERT_TRUE((*file)->Commit().ok());
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Contents(path), "JAVA PROFILE 1.0.2");
  EXPECT_EQ(Names(), std::vector<std::string>{"dump.hprof"});
}

// Where the kernel and file system offer it (ext4 and tmpfs do, which is
// where this test runs), the file is unnamed.
TEST_P(NewFileTest, IsUnnamedWhereTheFileSystemAllows) {
  absl::StatusOr<std::unique_ptr<NewFile>> file = NewFile::Create(dir_ + "/a", "test", GetParam());
  ASSERT_TRUE(file.ok()) << file.status();
  if (GetParam() == NewFile::Naming::kTemporaryName) {
    EXPECT_FALSE((*file)->unnamed());
    EXPECT_TRUE(absl::StartsWith((*file)->writing_name(), dir_ + "/.a."))
        << (*file)->writing_name();
    return;
  }
  const int probe = open(dir_.c_str(), O_TMPFILE | O_WRONLY, 0600);
  if (probe < 0) GTEST_SKIP() << "no O_TMPFILE in " << dir_ << ": " << std::strerror(errno);
  close(probe);
  EXPECT_TRUE((*file)->unnamed());
}

TEST_P(NewFileTest, RefusesAnExistingPathOrSymlink) {
  const std::string path = dir_ + "/taken";
  { std::ofstream(path) << "keep me"; }
  absl::StatusOr<std::unique_ptr<NewFile>> file = NewFile::Create(path, "heap dump", GetParam());
  EXPECT_TRUE(absl::IsAlreadyExists(file.status())) << file.status();
  EXPECT_TRUE(absl::StrContains(file.status().message(), path)) << file.status();
  EXPECT_EQ(Contents(path), "keep me");

  const std::string link = dir_ + "/link";
  ASSERT_EQ(symlink("/nonexistent/target", link.c_str()), 0);
  file = NewFile::Create(link, "heap dump", GetParam());
  EXPECT_TRUE(absl::IsAlreadyExists(file.status())) << file.status();
}

TEST_P(NewFileTest, ANameTakenMeanwhileIsNotReplaced) {
  const std::string path = dir_ + "/raced";
  absl::StatusOr<std::unique_ptr<NewFile>> file = NewFile::Create(path, "test", GetParam());
  ASSERT_TRUE(file.ok()) << file.status();
  Write(**file, "ours");
  { std::ofstream(path) << "theirs"; }
  absl::Status committed = (*file)->Commit();
  EXPECT_TRUE(absl::IsAlreadyExists(committed)) << committed;
  EXPECT_TRUE(absl::StrContains(committed.message(), path)) << committed;
  EXPECT_EQ(Contents(path), "theirs");
  EXPECT_EQ(Names(), std::vector<std::string>{"raced"}) << "no temporary may be left";
}

TEST_P(NewFileTest, AbandonedLeavesNothing) {
  {
    absl::StatusOr<std::unique_ptr<NewFile>> file =
        NewFile::Create(dir_ + "/gone", "test", GetParam());
    ASSERT_TRUE(file.ok()) << file.status();
    Write(**file, "half a dump");
  }
  EXPECT_TRUE(Names().empty());
}

TEST_P(NewFileTest, BadDirectoryIsNamed) {
  const std::string path = dir_ + "/missing/dump.hprof";
  absl::StatusOr<std::unique_ptr<NewFile>> file = NewFile::Create(path, "heap dump", GetParam());
  EXPECT_TRUE(absl::IsNotFound(file.status())) << file.status();
  EXPECT_TRUE(absl::StartsWith(file.status().message(), "heap dump: creating ")) << file.status();
  EXPECT_TRUE(absl::StrContains(file.status().message(), dir_ + "/missing/")) << file.status();
  EXPECT_TRUE(absl::IsInvalidArgument(NewFile::Create("", "heap dump").status()));
}

// A process killed in the middle of writing (kiln-ctl -o interrupted, a
// runtime OOM-killed mid-dump) runs no destructor; an unnamed file is gone
// with its last descriptor.
TEST_P(NewFileTest, AProcessKilledWhileWritingLeavesNothing) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    absl::StatusOr<std::unique_ptr<NewFile>> file =
        NewFile::Create(dir_ + "/killed", "test", GetParam());
    char state = !file.ok() ? 'e' : (*file)->unnamed() ? 'u' : 'n';
    if (file.ok()) (void)!write((*file)->fd(), "partial", 7);
    (void)!write(ready[1], &state, 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char state = 0;
  ASSERT_EQ(read(ready[0], &state, 1), 1);
  close(ready[0]);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_NE(state, 'e') << "the child could not create its file";
  if (state == 'n') {
    // A named temporary outlives a killed process: the one case O_TMPFILE
    // exists for. It is hidden, and the next dump does not collide with it.
    EXPECT_EQ(Names().size(), 1u);
    return;
  }
  EXPECT_TRUE(Names().empty());
}

INSTANTIATE_TEST_SUITE_P(Naming, NewFileTest,
                         ::testing::Values(NewFile::Naming::kUnnamedWherePossible,
                                           NewFile::Naming::kTemporaryName),
                         [](const ::testing::TestParamInfo<NewFile::Naming>& info) {
                           return info.param == NewFile::Naming::kTemporaryName ? "Named"
                                                                                : "Unnamed";
                         });

}  // namespace
}  // namespace kiln
