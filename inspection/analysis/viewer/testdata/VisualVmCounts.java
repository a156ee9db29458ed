// VisualVmCounts: every class VisualVM's heap library (Debian's visualvm
// package) sees in a dump, with its instance count, one line each:
//   class <name> <count>
// Usage: java -cp <jfluid-heap.jar>:. VisualVmCounts <dump>
import java.io.File;
import org.graalvm.visualvm.lib.jfluid.heap.Heap;
import org.graalvm.visualvm.lib.jfluid.heap.HeapFactory;
import org.graalvm.visualvm.lib.jfluid.heap.JavaClass;

public class VisualVmCounts {
  public static void main(String[] args) throws Exception {
    Heap heap = HeapFactory.createHeap(new File(args[0]));
    for (JavaClass c : heap.getAllClasses()) {
      System.out.println("class " + c.getName() + " " + c.getInstancesCount());
    }
  }
}
