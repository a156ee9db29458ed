// ViewerHeap: a JDK 17 program that builds known objects and dumps its own
// (live) heap with HotSpotDiagnosticMXBean, for the viewer's browser and API
// tests. It prints what it made: "made <class> <instances>" per class of its
// own (Perfetto's spelling: ViewerHeap$Foo[]).
//   ViewerHeap$Foo {int id; Foo next}: FOOS of them, foos[i].id == i and
//     foos[i].next == foos[i - 1], held by the static foos;
//   greeting: a UTF-16 String (not Latin-1); numbers: int[10] = 0, 10, ... 90.
//
// Usage: java ViewerHeap <out.hprof>
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

public class ViewerHeap {
  static final int FOOS = 100;

  static class Foo {
    int id;
    Foo next;
    Foo(int id, Foo next) {
      this.id = id;
      this.next = next;
    }
  }

  static Foo[] foos = new Foo[FOOS];
  static String greeting = new String("Grüße, 世界 ☃");
  static int[] numbers = new int[10];

  public static void main(String[] args) throws Exception {
    Foo previous = null;
    for (int i = 0; i < FOOS; i++) {
      foos[i] = new Foo(i, previous);
      previous = foos[i];
    }
    for (int i = 0; i < numbers.length; i++) numbers[i] = i * 10;
    ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).dumpHeap(args[0], true);
    System.out.println("made " + Foo.class.getTypeName() + " " + FOOS);
    System.out.println("made " + Foo[].class.getTypeName() + " 1");
  }
}
