// Dump environment: the process a heap dump came from, carried in the dump
// the way HotSpot's dumps carry it, so that VisualVM's Environment panel and
// System Properties, jhat-derived readers and `kiln-heap summary` find it.
//
// HotSpot's dumps have it because java.lang.System.props is a real object on
// the Java heap. Kiln has no such object, and a dump must not allocate on the
// managed heap (it runs at out-of-memory), so the dumper writes synthetic
// records: classes that look like the JDK 8 ones and the objects they hold.
//
//   java.lang.System                 static props -> the Properties below
//   java.util.Hashtable              table ([Ljava.util.Hashtable$Entry;), count
//   java.util.Properties             extends Hashtable; defaults (null)
//   java.util.Hashtable$Entry        hash, key, value, next (chained buckets)
//   java.lang.String / byte[]        the runtime's own String class and layout
//   java.lang.ClassLoader            no instances: Kiln has only the boot
//                                    loader, whose id HPROF writes as 0
//   java.lang.StringUTF16            HI_BYTE_SHIFT 0, LO_BYTE_SHIFT 8: how
//                                    VisualVM decodes UTF-16 (coder 1) strings
//   sun.management.ManagementFactoryHelper  static runtimeMBean -> a
//   sun.management.RuntimeImpl       with vmStartupTime (long, epoch ms):
//                                    the property kiln.vm.start_time_ms,
//                                    where VisualVM reads the JVM's start
//                                    for its JVM Uptime (the header's time
//                                    minus it)
//
// This JDK 8 layout (Properties.table of Hashtable$Entry key/value/next) is
// the first one VisualVM's HprofProxy.getProperties tries and the one jhat,
// MAT and kiln-heap read too. A class the runtime defines itself under one of
// these names is not synthesized (nor, for the Properties classes, the
// properties). Every synthetic class gets a ROOT_STICKY_CLASS, as the
// runtime's classes do, so live-dump readers see the objects as reachable.
//
// Synthetic ids are java.lang.Object's mirror address + 8k + 1: every real id
// (an object's or a mirror's address) is a multiple of gc::kObjectAlignment,
// these never are, so they cannot collide; they stay within the heap's span
// (readers index ids by range) and are the same from dump to dump of the
// same heap, so a fork-mode dump stays byte for byte a stop-the-world one.
//
// Everything is gathered and written in the parent at the safepoint (in
// HeapDumper::WritePrologue): a fork-mode child never formats any of it.
#ifndef KILN_INSPECTION_INTERNAL_DUMP_ENVIRONMENT_H_
#define KILN_INSPECTION_INTERNAL_DUMP_ENVIRONMENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "inspection/hprof/hprof_writer.h"
#include "inspection/vm_runtime.h"
#include "vm/safepoint.h"

namespace kiln {

// kKilnVersion: java.vm.version and java.version in dumps, and what
// VM.version reports (CMakeLists.txt's project version).
inline constexpr char kKilnVersion[] = "0.1.0";

// kEnvironmentClasses: how many synthetic classes a dump gets when the
// runtime defines none of their names.
inline constexpr size_t kEnvironmentClasses = 9;


// GatherDumpProperties: the properties a dump of `world` carries, in a fixed
// order: the JDK's names (java.vm.name "Kiln", os.*, user.*, java.home: the
// executable's directory, sun.java.command: /proc/self/cmdline) and Kiln's
// (kiln.pid, kiln.hostname, kiln.vm.start_time_ms (Runtime::start_time in
// milliseconds since the epoch), kiln.dump.trigger, kiln.dump.live,
// kiln.heap.limit_bytes, kiln.heap.committed_bytes,
// kiln.native.registered_bytes, and from /proc/self/statm
// kiln.memory.rss_bytes (resident), kiln.memory.file_bytes (shared: file
// and shmem pages) and kiln.memory.anonymous_bytes (the difference)). What
// cannot be read is left out. Allocates native memory.
//
// In two parts. GatherProcessProperties: those through kiln.dump.live, which
// do not change at the pause; any thread, before the world stops (they read
// /proc/self/exe and /proc/self/cmdline, and user.name goes through NSS:
// 0.1 ms the pause need not hold). GatherDumpProperties: `process` and the
// rest, the heap's and the memory's figures at the pause; world stopped (it
// is part of the pause, so nothing it reads costs more at a larger heap: no
// smaps, no heap_stats()). `extra` is added last, replacing a gathered
// property of the same name (HeapDumpOptions::extra_properties).
DumpProperties GatherProcessProperties(const Runtime& runtime, DumpTrigger trigger, bool live);
DumpProperties GatherDumpProperties(const StoppedWorld& world, DumpProperties process,
                                    const DumpProperties& extra = {});

// PinnedVolatileProperties: the properties that change between two dumps of
// an unchanged heap (the process's memory, the heap's committed bytes) or
// between two runtimes (the start time), each as "0". Given as HeapDumpOptions::extra_properties, two such dumps are the
// same bytes (but for the header's time): what tests comparing modes need.
DumpProperties PinnedVolatileProperties();

// EnvironmentRecords writes the synthetic classes and objects. Its calls
// go where the dumper writes the runtime's own records of the same kind.
class EnvironmentRecords {
 public:
  EnvironmentRecords(const StoppedWorld& world, DumpProperties properties);
  ~EnvironmentRecords();
  EnvironmentRecords(const EnvironmentRecords&) = delete;
  EnvironmentRecords& operator=(const EnvironmentRecords&) = delete;

  // WriteLoadClasses: before the heap dump, after the runtime's LOAD_CLASS
  // records: a STRING for every name it uses (through `string_id`, the
  // dumper's table) and a LOAD_CLASS per class, serials from `first_serial`.
  void WriteLoadClasses(HprofWriter& w, uint32_t first_serial,
                        absl::FunctionRef<uint64_t(const std::string&)> string_id);
  // WriteRoots: a ROOT_STICKY_CLASS per class.
  void WriteRoots(HprofWriter& w);
  // WriteClassDumps: a CLASS_DUMP per class, then the objects: the
  // Properties, its table, the entries and their strings.
  void WriteClassDumps(HprofWriter& w);

  uint64_t classes() const { return classes_.size(); }
  uint64_t objects() const { return objects_; }
  uint64_t roots() const { return classes_.size(); }

 private:
  struct SyntheticField {
    std::string name;
    uint8_t type;         // hprof basic type
    uint64_t value = 0;   // statics: the value
    uint64_t name_id = 0;
  };
  struct SyntheticClass {
    std::string name;     // dotted
    uint64_t id = 0;
    uint64_t super_id = 0;
    uint32_t instance_size = 0;  // header included, as the runtime's
    std::vector<SyntheticField> fields;
    std::vector<SyntheticField> statics;
  };
  struct EncodedString {
    std::vector<uint8_t> bytes;  // Latin-1, or UTF-16 little-endian
    uint8_t coder = 0;
    int32_t hash = 0;            // String.hashCode()
  };

  uint64_t NextId();
  SyntheticClass* Find(const std::string& name);
  void AddClasses(const StoppedWorld& world);
  void WriteString(HprofWriter& w, uint64_t id, uint64_t value_id, const EncodedString& text);
  void WriteByteArray(HprofWriter& w, uint64_t id, const std::vector<uint8_t>& bytes);
  void WriteProperties(HprofWriter& w);
  void WriteRuntimeMBean(HprofWriter& w);

  DumpProperties properties_;
  uint64_t id_base_ = 0;
  uint64_t ids_used_ = 0;
  std::vector<SyntheticClass> classes_;
  // The runtime's java.lang.String: its id and instance fields in dump order.
  uint64_t string_class_id_ = 0;
  std::vector<std::pair<std::string, uint8_t>> string_fields_;
  bool write_properties_ = false;
  uint64_t props_id_ = 0;  // System.props
  bool write_runtime_mbean_ = false;
  uint64_t runtime_mbean_id_ = 0;  // ManagementFactoryHelper.runtimeMBean
  int64_t start_time_ms_ = 0;
  uint64_t objects_ = 0;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_INTERNAL_DUMP_ENVIRONMENT_H_
