// HeapCheck: opens an HPROF file with VisualVM's heap library (Debian's
// visualvm package, HeapFactory.createHeap) and prints what it sees, one fact
// per line, for tests/visualvm_test.cc to compare with the heap it built:
//
//   count <class> <instances>      size <class> <instance size>
//   root <kind> <count>            thread <name> | <frame> | <frame> ...
//   string <class>.<static field> <value, non-ASCII as \\uXXXX>
//   properties <count>             property <key>=<value>   (getSystemProperties)
//   classloaders <instances of java.lang.ClassLoader and subclasses, -1: no class>
//   started <ms> dumped <ms>       the JVM's start and the dump's time, as
//                                  VisualVM's summary takes them for JVM Uptime
//
// Usage: java -cp <jfluid-heap.jar>:. HeapCheck <dump> <static-holder-class>
//            <static-string-field> <class>...
import java.io.File;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.graalvm.visualvm.lib.jfluid.heap.GCRoot;
import org.graalvm.visualvm.lib.jfluid.heap.Heap;
import org.graalvm.visualvm.lib.jfluid.heap.HeapFactory;
import org.graalvm.visualvm.lib.jfluid.heap.Instance;
import org.graalvm.visualvm.lib.jfluid.heap.JavaClass;
import org.graalvm.visualvm.lib.jfluid.heap.PrimitiveArrayInstance;
import org.graalvm.visualvm.lib.jfluid.heap.ThreadObjectGCRoot;

public class HeapCheck {
  public static void main(String[] args) throws Exception {
    Heap heap = HeapFactory.createHeap(new File(args[0]));
    for (int i = 3; i < args.length; i++) {
      JavaClass c = heap.getJavaClassByName(args[i]);
      System.out.println("count " + args[i] + " " + (c == null ? -1 : c.getInstancesCount()));
      System.out.println("size " + args[i] + " " + (c == null ? -1 : c.getInstanceSize()));
    }
    Map<String, Integer> kinds = new TreeMap<>();
    for (GCRoot root : heap.getGCRoots()) kinds.merge(root.getKind(), 1, Integer::sum);
    for (Map.Entry<String, Integer> e : kinds.entrySet()) {
      System.out.println("root " + e.getKey() + " " + e.getValue());
    }
    for (GCRoot root : heap.getGCRoots()) {
      if (!(root instanceof ThreadObjectGCRoot)) continue;
      StringBuilder line = new StringBuilder("thread ");
      line.append(text((Instance) root.getInstance().getValueOfField("name")));
      StackTraceElement[] stack = ((ThreadObjectGCRoot) root).getStackTrace();
      if (stack != null) {
        for (StackTraceElement frame : stack) line.append(" | ").append(frame);
      }
      System.out.println(line);
    }
    Properties props = heap.getSystemProperties();
    System.out.println("properties " + (props == null ? -1 : props.size()));
    if (props != null) {
      for (String key : new java.util.TreeSet<>(props.stringPropertyNames())) {
        System.out.println("property " + escape(key) + "=" + escape(props.getProperty(key)));
      }
    }
    JavaClass loader = heap.getJavaClassByName("java.lang.ClassLoader");
    int loaders = -1;
    if (loader != null) {
      loaders = loader.getInstancesCount();
      for (Object sub : loader.getSubClasses()) loaders += ((JavaClass) sub).getInstancesCount();
    }
    System.out.println("classloaders " + loaders);
    // JavaOverviewSummary's JVM Uptime: the header's time minus
    // ManagementFactoryHelper.runtimeMBean.vmStartupTime (-1: not found).
    long started = -1;
    JavaClass helper = heap.getJavaClassByName("sun.management.ManagementFactoryHelper");
    Object mbean = helper == null ? null : helper.getValueOfStaticField("runtimeMBean");
    if (mbean instanceof Instance) {
      Object time = ((Instance) mbean).getValueOfField("vmStartupTime");
      if (time instanceof Long) started = (Long) time;
    }
    System.out.println("started " + started + " dumped " + heap.getSummary().getTime());
    JavaClass holder = heap.getJavaClassByName(args[1]);
    Object value = holder == null ? null : holder.getValueOfStaticField(args[2]);
    System.out.println("string " + args[1] + "." + args[2] + " "
        + (value instanceof Instance ? escape(text((Instance) value)) : "<none>"));
  }

  // escape: non-ASCII chars as \\uXXXX, so the output does not depend on the
  // platform's encoding.
  static String escape(String s) {
    StringBuilder out = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c < 0x80) {
        out.append(c);
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    return out.toString();
  }

  // text decodes a java.lang.String in the JDK 9+ layout: byte[] value plus
  // coder (0 Latin-1, 1 UTF-16 little-endian).
  static String text(Instance string) {
    if (string == null) return "<null>";
    PrimitiveArrayInstance value = (PrimitiveArrayInstance) string.getValueOfField("value");
    Object coder = string.getValueOfField("coder");
    List<String> bytes = value.getValues();
    StringBuilder out = new StringBuilder();
    boolean utf16 = coder != null && Byte.parseByte(coder.toString()) == 1;
    if (utf16) {
      for (int i = 0; i + 1 < bytes.size(); i += 2) {
        int lo = Byte.parseByte(bytes.get(i)) & 0xFF;
        int hi = Byte.parseByte(bytes.get(i + 1)) & 0xFF;
        out.append((char) (lo | hi << 8));
      }
    } else {
      for (String b : bytes) out.append((char) (Byte.parseByte(b) & 0xFF));
    }
    return out.toString();
  }
}
