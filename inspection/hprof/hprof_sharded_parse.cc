// HprofReader::ParseSharded: the parallel parse. A first pass on the
// calling thread walks the record headers (a jump per record) and, inside a
// HEAP_DUMP_SEGMENT longer than a chunk, the sub-record boundaries (lengths
// and types only: SubRecordEnd); consecutive heap dump ranges are grouped
// into chunks of about HprofShardOptions::chunk_bytes. Worker threads then
// parse chunks into shards, at most `window` ahead of the merge, while the
// calling thread walks the plan in file order: other records go to the
// visitor, each chunk's shard to HprofSharding::Merge as soon as it is done.
//
// Why results equal a serial parse: every sub-record is parsed by the same
// code (ParseHeapDump), and the merge sees the shards in file order. Why
// errors equal it: a malformed record header, or a sub-record SubRecordEnd
// rejects, ends the plan (the rest of that record is one range), so the
// serial code meets the same bytes in the same state and names the same
// error; the merge returns a shard's error only after merging what came
// before it, and a chunk's error only after every earlier step.
//
// Kiln's writer closes a segment every MiB (HprofWriter::kSegmentSize), so
// its dumps split at record boundaries only; HotSpot's segments are up to
// 1 GB, and there the boundary walk is a serial pass over sub-record headers.
#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/check.h"
#include "base/status_macros.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln {

int HprofDefaultThreads() {
  return static_cast<int>(std::clamp<unsigned>(std::thread::hardware_concurrency(), 1, 8));
}

namespace {

// Piece: heap dump sub-records [begin, end); record_tag is the tag of the
// HEAP_DUMP(_SEGMENT) record the piece begins, 0 if it continues one.
struct Piece {
  uint64_t begin, end;
  uint8_t record_tag;
};

struct Chunk {
  std::vector<Piece> pieces;
  uint64_t bytes = 0;
  // Written by the worker that parses the chunk, read by the merge once
  // `done` (under the mutex) says so.
  std::unique_ptr<HprofShard> shard;
  absl::Status status;
  HprofRecordCounts counts;
  bool done = false;
};

// Step: the plan, in file order: a record the calling thread parses (at
// `at`), or chunk number `at`.
struct Step {
  bool chunk;
  uint64_t at;
};

bool IsHeapDump(uint8_t tag) { return tag == 0x0C || tag == hprof::kHeapDumpSegment; }

}  // namespace

absl::Status HprofReader::ParseSharded(HprofVisitor& visitor, HprofSharding& sharding,
                                       const HprofShardOptions& options) {
  KILN_CHECK(options.threads >= 0 && options.window >= 1 && options.chunk_bytes >= 1,
             "HprofShardOptions: window and chunk_bytes must be positive, threads not negative");
  ASSIGN_OR_RETURN(const uint64_t first, ParseHeader());

  // The plan.
  std::vector<Step> steps;
  std::vector<std::unique_ptr<Chunk>> chunks;
  const auto add_piece = [&](Piece piece) {
    if (steps.empty() || !steps.back().chunk || chunks.back()->bytes >= options.chunk_bytes) {
      steps.push_back(Step{true, chunks.size()});
      chunks.push_back(std::make_unique<Chunk>());
    }
    chunks.back()->pieces.push_back(piece);
    chunks.back()->bytes += piece.end - piece.begin;
  };
  for (uint64_t pos = first; pos < data_.size();) {
    const absl::StatusOr<RecordHeader> head = ReadRecordHeader(pos);
    if (!head.ok() || !IsHeapDump(head->tag)) {
      steps.push_back(Step{false, pos});  // ParseRecord names a bad header
      if (!head.ok()) break;
      pos = head->end;
      continue;
    }
    uint8_t record_tag = head->tag;
    uint64_t begin = head->begin;
    if (head->end - begin > options.chunk_bytes) {
      for (uint64_t at = begin; at < head->end;) {
        at = SubRecordEnd(at, head->end);
        if (at == 0) break;  // the rest is one piece: ParseHeapDump names the error
        if (at - begin >= options.chunk_bytes && at < head->end) {
          add_piece(Piece{begin, at, record_tag});
          begin = at;
          record_tag = 0;
        }
      }
    }
    add_piece(Piece{begin, head->end, record_tag});
    pos = head->end;
  }

  std::mutex mu;
  std::condition_variable changed;
  size_t next = 0;    // the next chunk a worker takes
  size_t merged = 0;  // chunks merged so far
  bool stop = false;
  const auto parse_chunk = [&](Chunk& chunk) {
    chunk.shard = sharding.NewShard();
    KILN_CHECK(chunk.shard != nullptr, "HprofSharding::NewShard returned no shard");
    for (const Piece& piece : chunk.pieces) {
      if (piece.record_tag != 0) ++chunk.counts.records[piece.record_tag];
      chunk.status = ParseHeapDump(piece.begin, piece.end, *chunk.shard,
                                   chunk.shard->record_offset_, chunk.counts);
      if (!chunk.status.ok()) break;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      chunk.done = true;
    }
    changed.notify_all();
  };
  const auto work = [&] {
    for (;;) {
      Chunk* chunk;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] {
          return stop || next >= chunks.size() || next < merged + options.window;
        });
        if (stop || next >= chunks.size()) return;
        chunk = chunks[next++].get();
      }
      parse_chunk(*chunk);
    }
  };
  std::vector<std::thread> workers;
  const int threads = static_cast<int>(std::min<size_t>(options.threads, chunks.size()));
  for (int i = 0; i < threads; ++i) workers.emplace_back(work);

  const auto merge = [&]() -> absl::Status {
    std::vector<uint64_t> ids;
    for (const Step& step : steps) {
      if (!step.chunk) {
        RETURN_IF_ERROR(ParseRecord(step.at, visitor, ids).status());
        continue;
      }
      Chunk& chunk = *chunks[step.at];
      if (options.threads == 0) parse_chunk(chunk);  // inline: no workers
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return chunk.done; });
      }
      for (size_t tag = 0; tag < chunk.counts.records.size(); ++tag) {
        counts_.records[tag] += chunk.counts.records[tag];
        counts_.sub_records[tag] += chunk.counts.sub_records[tag];
      }
      RETURN_IF_ERROR(sharding.Merge(*chunk.shard, chunk.pieces.back().end));
      RETURN_IF_ERROR(chunk.status);
      chunk.shard.reset();
      {
        std::lock_guard<std::mutex> lock(mu);
        merged = step.at + 1;
      }
      changed.notify_all();
    }
    return absl::OkStatus();
  };
  const absl::Status status = merge();
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  changed.notify_all();
  for (std::thread& worker : workers) worker.join();
  return status;
}

}  // namespace kiln
