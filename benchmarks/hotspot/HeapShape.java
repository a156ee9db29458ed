// The benchmark heap shape of benchmarks/HEAP_SHAPE.md in Java, timing
// HotSpot's heap dumper on it; prints the same lines as //benchmarks:heap_shape
// so that `./kiln bench` can put the two side by side.
//
//   javac -d /tmp/hs benchmarks/hotspot/HeapShape.java
//   java -Xms8g -Xmx8g -Xmn4g -XX:+UseParallelGC -XX:-UseTLAB -cp /tmp/hs HeapShape \
//       --n=4000000 --repeat=3 --live=false --dir=/tmp
//
// Run it with exactly those flags (HEAP_SHAPE.md): with TLABs on, JDK 17's
// dumper also writes filler arrays for unused TLAB tails. HotSpot's dump
// stops the world for all of its duration, so pause_seconds = seconds.
// objects counts the file's INSTANCE_DUMP, OBJ_ARRAY_DUMP and PRIM_ARRAY_DUMP
// records (read back once every dump is timed); the JDK's own ~48.5 k
// objects are among them.
import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

public class HeapShape {
  static class Node {
    Node left;
    Node right;
    long key;
    int value;
  }

  static Node root;
  static Object[] table;
  static String[] strings;
  static final CountDownLatch release = new CountDownLatch(1);

  static Node build(long lo, long hi) {
    if (lo >= hi) return null;
    long mid = (lo + hi) >>> 1;
    Node node = new Node();
    node.key = mid;
    node.value = (int) (mid * 2654435761L);
    node.left = build(lo, mid);
    node.right = build(mid + 1, hi);
    return node;
  }

  static void buildShape(int n) {
    root = build(0, n);
    int pairs = n / 8;
    table = new Object[2 * pairs];
    for (int i = 0; i < pairs; i++) {
      int[] a = new int[16];
      for (int j = 0; j < 16; j++) a[j] = i * 16 + j;
      table[2 * i] = a;
      byte[] b = new byte[64];
      for (int j = 0; j < 64; j++) b[j] = (byte) (i * 64 + j);
      table[2 * i + 1] = b;
    }
    // "str-" + 16 zero-padded digits, through one scratch array: a full dump
    // holds every garbage object, so building the text must leave none.
    strings = new String[n / 16];
    byte[] text = {'s', 't', 'r', '-', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0',
        '0', '0', '0', '0', '0'};
    for (int i = 0; i < n / 16; i++) {
      long v = i;
      for (int d = 19; d >= 4; d--, v /= 10) text[d] = (byte) ('0' + v % 10);
      strings[i] = new String(text, 0, 20, StandardCharsets.ISO_8859_1);
    }
    Node garbage = build(n, n + n / 4);
    garbage = null;
  }

  // The parked threads: run -> frame2 -> frame3 -> frame4 -> frame5, waiting.
  static void run(CountDownLatch parked) { frame2(parked); }
  static void frame2(CountDownLatch parked) { frame3(parked); }
  static void frame3(CountDownLatch parked) { frame4(parked); }
  static void frame4(CountDownLatch parked) { frame5(parked); }
  static void frame5(CountDownLatch parked) {
    parked.countDown();
    try {
      release.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void park() throws InterruptedException {
    CountDownLatch parked = new CountDownLatch(4);
    for (int t = 0; t < 4; t++) {
      Thread thread = new Thread(() -> run(parked), "heapshape-parked-" + t);
      thread.setDaemon(true);
      thread.start();
    }
    parked.await();
  }

  // countObjects: INSTANCE_DUMP, OBJ_ARRAY_DUMP and PRIM_ARRAY_DUMP records.
  static long countObjects(File file) throws IOException {
    try (DataInputStream in =
        new DataInputStream(new BufferedInputStream(new FileInputStream(file), 1 << 20))) {
      while (in.readByte() != 0) {} // "JAVA PROFILE 1.0.2\0"
      int id = in.readInt();
      in.readLong();
      long objects = 0;
      while (true) {
        int tag;
        try {
          tag = in.readUnsignedByte();
        } catch (EOFException e) {
          return objects;
        }
        in.readInt();
        long length = Integer.toUnsignedLong(in.readInt());
        if (tag != 0x1C && tag != 0x0C) {
          skip(in, length);
          continue;
        }
        long end = length;
        long read = 0;
        while (read < end) {
          int sub = in.readUnsignedByte();
          long n = 1;
          switch (sub) {
            case 0xFF: case 0x05: case 0x07: n += skip(in, id); break;
            case 0x01: n += skip(in, 2 * id); break;
            case 0x02: case 0x03: case 0x08: n += skip(in, id + 8); break;
            case 0x04: case 0x06: n += skip(in, id + 4); break;
            case 0x20: n += classDump(in, id); break;
            case 0x21: {
              n += skip(in, id + 4 + id);
              int bytes = in.readInt();
              n += 4 + skip(in, bytes);
              objects++;
              break;
            }
            case 0x22: {
              n += skip(in, id + 4);
              int count = in.readInt();
              n += 4 + skip(in, id + (long) count * id);
              objects++;
              break;
            }
            case 0x23: {
              n += skip(in, id + 4);
              int count = in.readInt();
              int type = in.readUnsignedByte();
              n += 5 + skip(in, (long) count * size(type, id));
              objects++;
              break;
            }
            default: throw new IOException("unknown heap sub-record 0x" + Integer.toHexString(sub));
          }
          read += n;
        }
      }
    }
  }

  static long classDump(DataInputStream in, int id) throws IOException {
    long n = skip(in, id + 4 + 6 * id + 4);
    int constants = in.readUnsignedShort();
    n += 2;
    for (int i = 0; i < constants; i++) {
      in.readUnsignedShort();
      int type = in.readUnsignedByte();
      n += 3 + skip(in, size(type, id));
    }
    int statics = in.readUnsignedShort();
    n += 2;
    for (int i = 0; i < statics; i++) {
      n += skip(in, id);
      int type = in.readUnsignedByte();
      n += 1 + skip(in, size(type, id));
    }
    int fields = in.readUnsignedShort();
    return n + 2 + skip(in, (long) fields * (id + 1));
  }

  static int size(int type, int id) {
    switch (type) {
      case 2: return id;
      case 4: case 8: return 1;
      case 5: case 9: return 2;
      case 6: case 10: return 4;
      case 7: case 11: return 8;
      default: throw new IllegalArgumentException("basic type " + type);
    }
  }

  static long skip(DataInputStream in, long n) throws IOException {
    long left = n;
    while (left > 0) {
      int skipped = in.skipBytes((int) Math.min(left, Integer.MAX_VALUE));
      if (skipped <= 0) throw new EOFException();
      left -= skipped;
    }
    return n;
  }

  static String flag(String[] args, String name, String fallback) {
    for (String arg : args) {
      if (arg.startsWith("--" + name + "=")) return arg.substring(name.length() + 3);
    }
    return fallback;
  }

  public static void main(String[] args) throws Exception {
    int n = Integer.parseInt(flag(args, "n", "1000000"));
    int repeat = Integer.parseInt(flag(args, "repeat", "3"));
    boolean live = Boolean.parseBoolean(flag(args, "live", "false"));
    String dir = flag(args, "dir", "/tmp");
    // --gz=L: compressed full dumps through `jcmd <this pid> GC.heap_dump
    // -all -gz=L` (the diagnostic command; jcmd's own start-up, about a
    // third of a second, is in the time), printed as mode=gz.
    int gz = Integer.parseInt(flag(args, "gz", "0"));
    buildShape(n);
    park();
    HotSpotDiagnosticMXBean bean =
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    long pid = ProcessHandle.current().pid();
    double[] seconds = new double[repeat];
    long[] bytes = new long[repeat];
    long[] objects = new long[repeat];
    // Every dump is timed before any is read back: reading one allocates, and
    // that garbage would be in the next full dump.
    File[] files = new File[repeat];
    for (int r = 0; r < repeat; r++) {
      files[r] = new File(dir, "hotspot-" + pid + "-" + r + (gz > 0 ? ".hprof.gz" : ".hprof"));
      long start = System.nanoTime();
      if (gz > 0) {
        Process jcmd = new ProcessBuilder("jcmd", Long.toString(pid), "GC.heap_dump", "-all",
            "-gz=" + gz, files[r].getPath()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (jcmd.waitFor() != 0) throw new IOException("jcmd GC.heap_dump failed");
      } else {
        bean.dumpHeap(files[r].getPath(), live);
      }
      seconds[r] = (System.nanoTime() - start) / 1e9;
    }
    for (int r = 0; r < repeat; r++) {
      bytes[r] = files[r].length();
      objects[r] = gz > 0 ? 0 : countObjects(files[r]);
      files[r].delete();
      System.out.println(line("dump", n, live && gz == 0, gz > 0 ? "gz" : "stw", seconds[r],
          bytes[r], objects[r]));
    }
    Arrays.sort(seconds);
    Arrays.sort(bytes);
    Arrays.sort(objects);
    System.out.println(line("median", n, live && gz == 0, gz > 0 ? "gz" : "stw",
        seconds[repeat / 2], bytes[repeat / 2], objects[repeat / 2]));
    release.countDown();
  }

  static String line(String kind, int n, boolean live, String mode, double seconds, long bytes,
      long objects) {
    return String.format("%s n=%d live=%b mode=%s seconds=%.4f pause_seconds=%.4f bytes=%d objects=%d",
        kind, n, live, mode, seconds, seconds, bytes, objects);
  }
}
