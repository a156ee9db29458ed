#include "inspection/internal/heap_dumper.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "base/check.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/internal/heap_object_writer.h"
#include "vm/internal/runtime_access.h"
#include "vm/runtime.h"

namespace kiln {
namespace {

constexpr uint32_t kIdBytes = hprof::kIdSize;

// FieldType's values are HPROF's basic types, so they are written as they are.
static_assert(static_cast<uint8_t>(FieldType::kObject) == hprof::kObject &&
              static_cast<uint8_t>(FieldType::kBoolean) == hprof::kBoolean &&
              static_cast<uint8_t>(FieldType::kChar) == hprof::kChar &&
              static_cast<uint8_t>(FieldType::kFloat) == hprof::kFloat &&
              static_cast<uint8_t>(FieldType::kDouble) == hprof::kDouble &&
              static_cast<uint8_t>(FieldType::kByte) == hprof::kByte &&
              static_cast<uint8_t>(FieldType::kShort) == hprof::kShort &&
              static_cast<uint8_t>(FieldType::kInt) == hprof::kInt &&
              static_cast<uint8_t>(FieldType::kLong) == hprof::kLong);

// The class name as HotSpot writes it: java/lang/String, [Ljava/lang/Object;.
std::string InternalName(const Class* cls) {
  return absl::StrReplaceAll(cls->name(), {{".", "/"}});
}

class Prologue {
 public:
  Prologue(const StoppedWorld& world, HprofWriter& writer, EnvironmentRecords& environment)
      : world_(world), runtime_(world.runtime()), w_(writer), environment_(environment) {}

  // Write writes everything before the object records, the environment's
  // synthetic classes and objects (dump_environment.h) included.
  void Write() {
    w_.WriteHeader(static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())));
    WriteClasses();
    uint32_t next_serial = 1;
    for (const Class* cls : runtime_.classes().classes()) {
      next_serial = std::max(next_serial, cls->id() + 2);
    }
    environment_.WriteLoadClasses(w_, next_serial,
                                  [this](const std::string& text) { return StringId(text); });
    WriteStackTraces();
    WriteRoots();
    environment_.WriteRoots(w_);
    for (const Class* cls : runtime_.classes().classes()) WriteClassDump(cls);
    environment_.WriteClassDumps(w_);
  }

  uint64_t roots() const { return roots_; }

 private:
  // StringId returns the id of `text`, writing its STRING record the first
  // time. Only before the heap dump starts.
  uint64_t StringId(const std::string& text) {
    auto [it, inserted] = strings_.try_emplace(text, strings_.size() + 1);
    if (inserted) {
      w_.BeginRecord(hprof::kString);
      w_.Id(it->second);
      w_.Bytes(text);
      w_.EndRecord();
    }
    return it->second;
  }

  static uint64_t ClassId(const Class* cls) {
    return cls == nullptr ? 0 : reinterpret_cast<uint64_t>(cls->mirror());
  }

  // RefId: a root's or a static field's target. Every one is a strong root,
  // so a live dump keeps it: the prologue needs no mark bits (a live
  // fork-mode dump marks only later, in the child).
  static uint64_t RefId(const Object* object) { return reinterpret_cast<uint64_t>(object); }

  void WriteClasses() {
    for (const Class* cls : runtime_.classes().classes()) {
      const uint64_t name = StringId(InternalName(cls));  // its own record first
      w_.BeginRecord(hprof::kLoadClass);
      w_.U4(cls->id() + 1);  // class serial
      w_.Id(ClassId(cls));
      w_.U4(hprof::kEmptyTraceSerial);
      w_.Id(name);
      w_.EndRecord();
      for (const Field& field : cls->fields()) StringId(field.name());
      for (const Field& field : cls->static_fields()) StringId(field.name());
    }
  }

  void WriteStackTraces() {
    w_.BeginRecord(hprof::kStackTrace);
    w_.U4(hprof::kEmptyTraceSerial);
    w_.U4(0);  // thread serial
    w_.U4(0);  // no frames
    w_.EndRecord();
    uint64_t next_frame_id = 1;
    for (size_t i = 0; i < world_.threads().size(); ++i) {
      const Thread* thread = world_.threads()[i];
      thread_serials_[thread] = static_cast<uint32_t>(i + 1);
      std::vector<uint64_t> frame_ids;
      thread->ForEachFrame([&](const Frame& frame, int) {
        const Method* method = frame.method();
        const std::string& file = method->holder()->source_file();
        const uint64_t name = StringId(method->name());
        const uint64_t signature = StringId(method->signature());
        const uint64_t source = StringId(file.empty() ? "Unknown Source" : file);
        w_.BeginRecord(hprof::kStackFrame);
        w_.Id(next_frame_id);
        w_.Id(name);
        w_.Id(signature);
        w_.Id(source);
        w_.U4(method->holder()->id() + 1);
        // HPROF's line: > 0 a line, 0 none, -3 a native method.
        w_.U4(static_cast<uint32_t>(frame.line() == kNativeMethodLine ? -3 : frame.line()));
        w_.EndRecord();
        frame_ids.push_back(next_frame_id++);
      });
      w_.BeginRecord(hprof::kStackTrace);
      w_.U4(TraceSerial(thread));
      w_.U4(thread_serials_[thread]);
      w_.U4(static_cast<uint32_t>(frame_ids.size()));
      for (uint64_t id : frame_ids) w_.Id(id);
      w_.EndRecord();
    }
  }

  uint32_t TraceSerial(const Thread* thread) {
    return hprof::kEmptyTraceSerial + thread_serials_[thread];
  }

  void WriteRoots() {
    runtime_.VisitRoots(world_, [&](Object** slot, const RootInfo& info) {
      const uint64_t id = RefId(*slot);
      switch (info.kind) {
        case RootKind::kThreadObject:
          w_.BeginSubRecord(hprof::kRootThreadObject, 1 + kIdBytes + 4 + 4);
          w_.Id(id);
          w_.U4(thread_serials_[info.thread]);
          w_.U4(TraceSerial(info.thread));
          break;
        case RootKind::kFrameSlot:
          w_.BeginSubRecord(hprof::kRootJavaFrame, 1 + kIdBytes + 4 + 4);
          w_.Id(id);
          w_.U4(thread_serials_[info.thread]);
          w_.U4(static_cast<uint32_t>(info.frame_depth));
          break;
        case RootKind::kGlobal:
          w_.BeginSubRecord(hprof::kRootJniGlobal, 1 + 2 * kIdBytes);
          w_.Id(id);
          w_.Id(reinterpret_cast<uint64_t>(slot));  // the global reference's id
          break;
        case RootKind::kClass:
          w_.BeginSubRecord(hprof::kRootStickyClass, 1 + kIdBytes);
          w_.Id(id);
          break;
        case RootKind::kStaticField:
          return;  // statics are in their CLASS_DUMP; the class is the root
        case RootKind::kFinalizing:
        case RootKind::kInternedString:
          w_.BeginSubRecord(hprof::kRootUnknown, 1 + kIdBytes);
          w_.Id(id);
          break;
        case RootKind::kMonitorUsed:
          // One per object, however many scopes (threads, depths) use it.
          if (!monitors_used_.insert(*slot).second) return;
          w_.BeginSubRecord(hprof::kRootMonitorUsed, 1 + kIdBytes);
          w_.Id(id);
          break;
      }
      ++roots_;
    });
  }

  void WriteValue(FieldType type, const char* address) {
    switch (type) {
      case FieldType::kObject:
        w_.Id(RefId(*reinterpret_cast<Object* const*>(address)));
        return;
      case FieldType::kBoolean:
      case FieldType::kByte:
        w_.U1(*reinterpret_cast<const uint8_t*>(address));
        return;
      case FieldType::kChar:
      case FieldType::kShort:
        w_.U2(*reinterpret_cast<const uint16_t*>(address));
        return;
      case FieldType::kFloat:
      case FieldType::kInt:
        w_.U4(*reinterpret_cast<const uint32_t*>(address));
        return;
      case FieldType::kDouble:
      case FieldType::kLong:
        w_.U8(*reinterpret_cast<const uint64_t*>(address));
        return;
    }
  }

  void WriteClassDump(const Class* cls) {
    size_t statics_size = 0;
    for (const Field& field : cls->static_fields()) {
      statics_size += kIdBytes + 1 + FieldTypeSize(field.type());
    }
    const size_t size = 1 + kIdBytes + 4 + 6 * kIdBytes + 4 + 2 + 2 + statics_size + 2 +
                        cls->fields().size() * (kIdBytes + 1);
    w_.BeginSubRecord(hprof::kClassDump, size);
    w_.Id(ClassId(cls));
    w_.U4(hprof::kEmptyTraceSerial);
    w_.Id(ClassId(cls->super()));
    for (int i = 0; i < 5; ++i) w_.Id(0);  // loader, signers, domain, 2 reserved
    // Arrays: 0, as the JDK writes; instances: their size, header included,
    // so readers show true shallow sizes (java.lang.Object: 16, never 0).
    w_.U4(cls->IsArray() ? 0 : cls->instance_size);
    w_.U2(0);  // constant pool
    w_.U2(static_cast<uint16_t>(cls->static_fields().size()));
    for (const Field& field : cls->static_fields()) {
      w_.Id(strings_[field.name()]);
      w_.U1(static_cast<uint8_t>(field.type()));
      WriteValue(field.type(), reinterpret_cast<const char*>(cls->static_ref_slot(field)));
    }
    w_.U2(static_cast<uint16_t>(cls->fields().size()));
    for (const Field& field : cls->fields()) {
      w_.Id(strings_[field.name()]);
      w_.U1(static_cast<uint8_t>(field.type()));
    }
  }

  const StoppedWorld& world_;
  Runtime& runtime_;
  HprofWriter& w_;
  EnvironmentRecords& environment_;
  absl::flat_hash_map<std::string, uint64_t> strings_;
  absl::flat_hash_map<const Thread*, uint32_t> thread_serials_;
  absl::flat_hash_set<const Object*> monitors_used_;
  uint64_t roots_ = 0;
};

}  // namespace

HeapDumper::HeapDumper(const StoppedWorld& world, bool live, HprofWriter& writer)
    : world_(world), live_(live), w_(writer) {}

HeapDumper::~HeapDumper() = default;

absl::Status HeapDumper::WritePrologue() {
  Runtime& runtime = world_.runtime();
  absl::Time step = absl::Now();
  // Lap: the time since the last lap, for the steps' durations.
  auto lap = [&step] {
    const absl::Time now = absl::Now();
    const absl::Duration d = now - step;
    step = now;
    return d;
  };
  if (live_) {
    absl::StatusOr<std::unique_ptr<gc::Heap::SnapshotMarking>> marking =
        internal::PrepareLiveMarking(runtime, world_);
    if (!marking.ok()) {
      return absl::Status(marking.status().code(),
                          absl::StrCat("heap dump prologue: ", marking.status().message()));
    }
    marking_ = *std::move(marking);
  }
  steps_.live_roots = lap();
  internal::HeapOf(runtime).MakeParsable();
  steps_.make_parsable = lap();
  DumpProperties process = process_properties_.has_value()
                               ? *std::move(process_properties_)
                               : GatherProcessProperties(runtime, trigger_, live_);
  process_properties_.reset();
  EnvironmentRecords environment(world_,
                                 GatherDumpProperties(world_, std::move(process), extra_properties_));
  steps_.properties = lap();
  Prologue prologue(world_, w_, environment);
  prologue.Write();
  classes_ = runtime.classes().size() + environment.classes();
  roots_ = prologue.roots() + environment.roots();
  environment_objects_ = environment.objects();
  steps_.records = lap();
  objects_ = std::make_unique<HeapObjectWriter>(world_, marking_.get(), w_);
  objects_->set_stop_after_objects(stop_after_objects_);
  steps_.walk_plans = lap();
  return absl::OkStatus();
}

absl::Status HeapDumper::WriteObjects() {
  KILN_CHECK(objects_ != nullptr, "HeapDumper::WriteObjects before WritePrologue");
  if (marking_ != nullptr) marking_->Mark();
  objects_->WriteObjects();
  w_.EndHeapDump();
  return w_.Finish();
}

HeapDumpStats HeapDumper::stats() const {
  HeapDumpStats stats;
  stats.objects = environment_objects_ + (objects_ != nullptr ? objects_->objects() : 0);
  stats.classes = classes_;
  stats.roots = roots_;
  stats.bytes = w_.bytes_written();
  stats.steps = steps_;
  return stats;
}

absl::Status WriteHeapDump(const StoppedWorld& world, bool live, HprofWriter& writer,
                           HeapDumpStats* stats) {
  HeapDumper dumper(world, live, writer);
  absl::Status status = dumper.WritePrologue();
  if (status.ok()) status = dumper.WriteObjects();
  if (stats != nullptr) *stats = dumper.stats();
  return status;
}

}  // namespace kiln
