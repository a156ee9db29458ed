// VisualVmHistogram: the VisualVM side of the analyzer benchmark. Opens a
// dump with VisualVM's heap library (Debian's visualvm package,
// HeapFactory.createHeap, which indexes the file) and computes the class
// histogram VisualVM's Classes view shows: per class, instance count and
// total instance size. Prints one line:
//
//   classes <n> instances <n> bytes <n>
//
// Usage: java -cp <jfluid-heap.jar>:. VisualVmHistogram <dump>
import java.io.File;
import java.util.List;
import org.graalvm.visualvm.lib.jfluid.heap.Heap;
import org.graalvm.visualvm.lib.jfluid.heap.HeapFactory;
import org.graalvm.visualvm.lib.jfluid.heap.JavaClass;

public class VisualVmHistogram {
  public static void main(String[] args) throws Exception {
    Heap heap = HeapFactory.createHeap(new File(args[0]));
    List<JavaClass> classes = heap.getAllClasses();
    long instances = 0;
    long bytes = 0;
    for (JavaClass c : classes) {
      instances += c.getInstancesCount();
      bytes += c.getAllInstancesSize();
    }
    System.out.println("classes " + classes.size() + " instances " + instances + " bytes " + bytes);
  }
}
