#include "inspection/services/attach_protocol.h"

#include <random>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace kiln::attach {
namespace {

TEST(AttachProtocolTest, RequestsRoundTrip) {
  absl::StatusOr<std::string> line = EncodeRequest("GC.heap_dump", {"-all", "/tmp/a b.hprof"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "1 GC.heap_dump -all /tmp/a b.hprof\n");
  absl::StatusOr<Request> request = ParseRequest(line->substr(0, line->size() - 1));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->command, "GC.heap_dump");
  EXPECT_EQ(request->arguments, "-all /tmp/a b.hprof");
  absl::StatusOr<HeapDumpRequest> dump = ParseHeapDumpArguments(request->arguments);
  ASSERT_TRUE(dump.ok()) << dump.status();
  EXPECT_FALSE(dump->live);
  EXPECT_EQ(dump->path, "/tmp/a b.hprof");

  request = ParseRequest("1 Thread.print");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->command, "Thread.print");
  EXPECT_EQ(request->arguments, "");
}

TEST(AttachProtocolTest, BadRequestsSayWhatIsWrong) {
  auto message = [](absl::string_view line) {
    absl::StatusOr<Request> request = ParseRequest(line);
    EXPECT_FALSE(request.ok()) << line;
    return std::string(request.status().message());
  };
  EXPECT_TRUE(absl::StrContains(message("2 VM.version"), "protocol version 1")) << message("2");
  EXPECT_TRUE(absl::StrContains(message("1"), "no command"));
  EXPECT_TRUE(absl::StrContains(message("1 VM/version"), "not a command name"));
  EXPECT_TRUE(absl::StrContains(message(std::string("1 VM.version\0x", 14)), "control character"));
  EXPECT_TRUE(absl::StrContains(message(std::string(5000, 'a')), "longer than 4096"));
  EXPECT_FALSE(EncodeRequest("VM.version", {"a\nb"}).ok());
  EXPECT_FALSE(EncodeRequest("", {}).ok());
  EXPECT_FALSE(EncodeRequest("GC.heap_dump", {std::string(5000, 'x')}).ok());
}

TEST(AttachProtocolTest, HeapDumpAndHistogramArguments) {
  absl::StatusOr<HeapDumpRequest> dump = ParseHeapDumpArguments("-gz=6 -fork -");
  ASSERT_TRUE(dump.ok()) << dump.status();
  EXPECT_TRUE(dump->live);
  EXPECT_EQ(dump->gzip_level, 6);
  EXPECT_TRUE(dump->fork);
  EXPECT_EQ(dump->path, "-");
  EXPECT_TRUE(absl::StrContains(ParseHeapDumpArguments("-gz=10 x").status().message(), "1 to 9"));
  EXPECT_TRUE(absl::StrContains(ParseHeapDumpArguments("-live x").status().message(),
                                "unknown option \"-live\""));
  EXPECT_TRUE(absl::StrContains(ParseHeapDumpArguments("-all").status().message(), "no FILENAME"));
  EXPECT_TRUE(*ParseHistogramArguments(""));
  EXPECT_FALSE(*ParseHistogramArguments("-all"));
  EXPECT_FALSE(ParseHistogramArguments("-live").ok());
}

TEST(AttachProtocolTest, FramesRoundTrip) {
  const std::string frame = Frame(FrameType::kText, "hello");
  ASSERT_EQ(frame.size(), kFrameHeaderBytes + 5);
  absl::StatusOr<FrameHead> head =
      ParseFrameHeader(reinterpret_cast<const uint8_t*>(frame.data()));
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->type, FrameType::kText);
  EXPECT_EQ(head->size, 5u);
  const std::string end = EndFrame(absl::NotFoundError("no such thing"));
  EXPECT_EQ(EndStatus(absl::string_view(end).substr(kFrameHeaderBytes)).message(),
            "no such thing");
  EXPECT_TRUE(EndStatus(absl::string_view(EndFrame(absl::OkStatus())).substr(5)).ok());
  const uint8_t bad_type[5] = {'X', 0, 0, 0, 0};
  EXPECT_FALSE(ParseFrameHeader(bad_type).ok());
  const uint8_t too_big[5] = {'D', 0xFF, 0, 0, 0};
  EXPECT_FALSE(ParseFrameHeader(too_big).ok());
}

// Random lines never crash the parser; what it accepts has a command name.
TEST(AttachProtocolTest, RandomLinesAreAcceptedOrRefused) {
  std::mt19937 random(14);
  const std::string alphabet = std::string("1 .GC_heapdumpThread-all\t\x01\x7f\xc3\xa9") + '\0';
  for (int i = 0; i < 20000; ++i) {
    std::string line(random() % 64, ' ');
    for (char& c : line) c = alphabet[random() % alphabet.size()];
    if (random() % 2) line = "1 " + line;
    absl::StatusOr<Request> request = ParseRequest(line);
    if (request.ok()) {
      EXPECT_FALSE(request->command.empty()) << line;
    }
    ParseHeapDumpArguments(line).IgnoreError();
  }
}

}  // namespace
}  // namespace kiln::attach
