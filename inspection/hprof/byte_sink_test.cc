// FdSink's block reservation (set_preallocate, TrimPreallocated): the
// blocks ahead of the bytes are reserved, the file holds exactly what was
// written, the trim gives the reserve back, and a file system or a limit
// that refuses the reservation changes nothing the writes produce.
#include "inspection/hprof/byte_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kiln {
namespace {

std::string TempPath(const char* name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name + "-" + std::to_string(getpid());
}

std::vector<uint8_t> Pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 12));
  return bytes;
}

std::vector<uint8_t> ReadAll(int fd) {
  std::vector<uint8_t> data;
  uint8_t buffer[65536];
  ssize_t n;
  off_t at = 0;
  while ((n = pread(fd, buffer, sizeof(buffer), at)) > 0) {
    data.insert(data.end(), buffer, buffer + n);
    at += n;
  }
  return data;
}

// Allocated bytes of the file behind `fd`.
uint64_t AllocatedBytes(int fd) {
  struct stat st;
  EXPECT_EQ(fstat(fd, &st), 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// Whether the file system under `fd` reserves blocks past the end at all.
bool FileSystemPreallocates(int fd) {
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096) != 0) return false;
  EXPECT_EQ(ftruncate(fd, 0), 0);
  return true;
}

class TempFile {
 public:
  explicit TempFile(const char* name) : path_(TempPath(name)) {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd_, 0) << path_;
  }
  ~TempFile() {
    close(fd_);
    unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_;
};

TEST(FdSinkPreallocateTest, ReservesAheadKeepsTheSizeAndTrimsTheRest) {
  TempFile file("prealloc");
  if (!FileSystemPreallocates(file.fd())) GTEST_SKIP() << "no fallocate under " << file.path();
  FdSink sink(file.fd(), file.path());
  sink.set_preallocate();
  const std::vector<uint8_t> first = Pattern(3 << 20, 1), second = Pattern(5000, 9);
  ASSERT_TRUE(sink.Write(first).ok());
  ASSERT_TRUE(sink.Write(second).ok());
  EXPECT_TRUE(sink.preallocating());

  struct stat st;
  ASSERT_EQ(fstat(file.fd(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), first.size() + second.size());
  EXPECT_GE(AllocatedBytes(file.fd()), FdSink::kPreallocateBytes);

  ASSERT_TRUE(TrimPreallocated(file.fd(), file.path()).ok());
  ASSERT_EQ(fstat(file.fd(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), first.size() + second.size());
  EXPECT_LT(AllocatedBytes(file.fd()), first.size() + second.size() + (1 << 20));
  std::vector<uint8_t> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(ReadAll(file.fd()), expected);
}

// Past the first step the sink reserves the next one, from where the file's
// offset was when it started (not from 0).
TEST(FdSinkPreallocateTest, ReservesStepByStepFromTheDescriptorsOffset) {
  TempFile file("prealloc-offset");
  if (!FileSystemPreallocates(file.fd())) GTEST_SKIP() << "no fallocate under " << file.path();
  const std::vector<uint8_t> head = Pattern(1000, 3);
  ASSERT_EQ(write(file.fd(), head.data(), head.size()), static_cast<ssize_t>(head.size()));
  FdSink sink(file.fd(), file.path());
  sink.set_preallocate();
  const std::vector<uint8_t> block = Pattern(FdSink::kPreallocateBytes / 4, 5);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sink.Write(block).ok());  // 1.25 steps
  EXPECT_GE(AllocatedBytes(file.fd()), 2 * FdSink::kPreallocateBytes);
  ASSERT_TRUE(TrimPreallocated(file.fd(), file.path()).ok());
  const std::vector<uint8_t> data = ReadAll(file.fd());
  ASSERT_EQ(data.size(), head.size() + 5 * block.size());
  EXPECT_TRUE(std::equal(head.begin(), head.end(), data.begin()));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(std::equal(block.begin(), block.end(), data.begin() + head.size() + i * block.size()))
        << "block " << i;
  }
}

// fallocate refuses a device (ENODEV) though lseek works: reserving stops
// at the first write and the writes go on, and a write that fails (the
// full device) still fails with its own error.
TEST(FdSinkPreallocateTest, ARefusedReservationStopsReservingNotWriting) {
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  FdSink to_null(null_fd, "/dev/null");
  to_null.set_preallocate();
  const std::vector<uint8_t> bytes = Pattern(4 << 20, 7);
  EXPECT_TRUE(to_null.Write(bytes).ok());
  EXPECT_FALSE(to_null.preallocating());
  EXPECT_TRUE(to_null.Write(bytes).ok());
  EXPECT_EQ(to_null.bytes_written(), 2 * bytes.size());
  close(null_fd);

  const int full_fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full_fd, 0);
  FdSink to_full(full_fd, "/dev/full");
  to_full.set_preallocate();
  const absl::Status status = to_full.Write(bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_NE(status.message().find("writing /dev/full at byte 0"), std::string::npos) << status;
  EXPECT_EQ(to_full.error(), ENOSPC);
  close(full_fd);
}

// On a pipe there is nothing to reserve: the bytes arrive unchanged.
TEST(FdSinkPreallocateTest, APipeIsWrittenAsBefore) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  FdSink sink(fds[1], "pipe");
  sink.set_preallocate();
  const std::vector<uint8_t> bytes = Pattern(30000, 11);
  ASSERT_TRUE(sink.Write(bytes).ok());
  EXPECT_FALSE(sink.preallocating());
  close(fds[1]);
  std::vector<uint8_t> received;
  uint8_t buffer[65536];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) received.insert(received.end(), buffer, buffer + n);
  close(fds[0]);
  EXPECT_EQ(received, bytes);
}

TEST(FdSinkPreallocateTest, TrimNamesTheFileThatFailed) {
  const absl::Status status = TrimPreallocated(-1, "/no/such/dump.hprof");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("trimming /no/such/dump.hprof"), std::string::npos) << status;
}

}  // namespace
}  // namespace kiln
