// JdkHeapDump: a JDK 17 program that builds known objects, then dumps its own
// heap twice, the two ways users do: HotSpotDiagnosticMXBean.dumpHeap (plain,
// live) and `jcmd <pid> GC.heap_dump -gz=1` (HotSpot's block gzip; JDK 17
// offers no in-process API for it: the DiagnosticCommand MBean does not export
// GC.heap_dump, and dumpHeap ignores HeapDumpGzipLevel). It prints what it
// made, one "made <class> <instances>" line per class (names as
// Class.getTypeName(), Perfetto's spelling: JdkHeapDump$Foo[]), for
// tests/jdk_dump_test.cc to compare with kiln-heap's view. A daemon thread
// "jdk-dump-parked" waits inside parkHere() so the dump has a known stack.
//
// Usage: java JdkHeapDump <plain.hprof> <compressed.hprof.gz>
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;

public class JdkHeapDump {
  static final int FOOS = 1234;
  static final int BAR_ROWS = 7;
  static final int BARS_PER_ROW = 8;

  static class Foo {
    int id;
    Foo next;
    Foo(int id, Foo next) {
      this.id = id;
      this.next = next;
    }
  }

  static class Bar {
    long[] data = new long[4];
  }

  // Roots: static fields keep everything alive through both dumps.
  static Foo[] foos = new Foo[FOOS];
  static Bar[][] bars = new Bar[BAR_ROWS][];
  static final Object lock = new Object();
  static final CountDownLatch parked = new CountDownLatch(1);

  static void parkHere() throws InterruptedException {
    synchronized (lock) {
      parked.countDown();
      lock.wait();
    }
  }

  public static void main(String[] args) throws Exception {
    Foo previous = null;
    for (int i = 0; i < FOOS; i++) {
      foos[i] = new Foo(i, previous);
      previous = foos[i];
    }
    for (int r = 0; r < BAR_ROWS; r++) {
      bars[r] = new Bar[BARS_PER_ROW];
      for (int j = 0; j < BARS_PER_ROW; j++) bars[r][j] = new Bar();
    }
    Thread thread = new Thread(() -> {
      try {
        parkHere();
      } catch (InterruptedException e) {
        // the program is ending
      }
    }, "jdk-dump-parked");
    thread.setDaemon(true);
    thread.start();
    parked.await();

    HotSpotDiagnosticMXBean bean =
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    bean.dumpHeap(args[0], true);
    Process jcmd = new ProcessBuilder("jcmd", Long.toString(ProcessHandle.current().pid()),
        "GC.heap_dump", "-gz=1", args[1]).inheritIO().start();
    if (jcmd.waitFor() != 0) throw new IllegalStateException("jcmd GC.heap_dump failed");

    System.out.println("made " + Foo.class.getTypeName() + " " + FOOS);
    System.out.println("made " + Bar.class.getTypeName() + " " + BAR_ROWS * BARS_PER_ROW);
    System.out.println("made " + Foo[].class.getTypeName() + " 1");
    System.out.println("made " + Bar[].class.getTypeName() + " " + BAR_ROWS);
    System.out.println("made " + Bar[][].class.getTypeName() + " 1");
    System.out.println("thread jdk-dump-parked JdkHeapDump.parkHere");
    thread.interrupt();
  }
}
