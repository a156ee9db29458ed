"""Helpers for the viewer's end-to-end tests: the dumps they read and a
`kiln-heap serve` process on a port it picks (port 0, URL read from its
first line). Paths come from the environment the sh_test wrappers set:
KILN_HEAP (the binary), VIEWER_TEST_HEAP (the Kiln heap writer) and
VIEWER_TESTDATA (the Java programs)."""
import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request

KILN_HEAP = os.environ["KILN_HEAP"]
TMP = os.environ.get("TEST_TMPDIR", "/tmp")
JFLUID = "/usr/share/visualvm/visualvm/modules/org-graalvm-visualvm-lib-jfluid-heap.jar"


def made_lines(out):
    made = {}
    for line in out.splitlines():
        words = line.split(" ")
        if len(words) == 3 and words[0] == "made":
            made[words[1]] = int(words[2])
    return made


def kiln_dump(name, grow=0):
    """Writes the viewer's Kiln heap (viewer_test_heap_main.cc); returns
    (path, {class: instances made})."""
    path = os.path.join(TMP, name)
    out = subprocess.run([os.environ["VIEWER_TEST_HEAP"], path, "--grow", str(grow)],
                         check=True, capture_output=True, text=True).stdout
    return path, made_lines(out)


def jdk_dump(name="viewer_jdk.hprof"):
    """Compiles and runs testdata/ViewerHeap.java; returns (path, made)."""
    classes = os.path.join(TMP, "classes")
    os.makedirs(classes, exist_ok=True)
    source = os.path.join(os.environ["VIEWER_TESTDATA"], "ViewerHeap.java")
    subprocess.run(["javac", "-d", classes, source], check=True)
    path = os.path.join(TMP, name)
    if os.path.exists(path):
        os.unlink(path)
    out = subprocess.run(["java", "-Xmx128m", "-cp", classes, "ViewerHeap", path],
                         check=True, capture_output=True, text=True).stdout
    return path, made_lines(out)


def visualvm_counts(dump):
    """Per class, VisualVM's heap library's instance count."""
    classes = os.path.join(TMP, "classes")
    os.makedirs(classes, exist_ok=True)
    source = os.path.join(os.environ["VIEWER_TESTDATA"], "VisualVmCounts.java")
    subprocess.run(["javac", "-cp", JFLUID, "-d", classes, source], check=True)
    out = subprocess.run(["java", "-cp", JFLUID + ":" + classes, "VisualVmCounts", dump],
                         check=True, capture_output=True, text=True).stdout
    counts = {}
    for line in out.splitlines():
        if line.startswith("class "):
            name, count = line[len("class "):].rsplit(" ", 1)
            counts[name] = counts.get(name, 0) + int(count)
    return counts


def histogram_reachable(dump):
    return histogram(dump, "--reachable")


def histogram(dump, *options):
    """`kiln-heap histogram DUMP`: class -> (instances, self_bytes, native_bytes)."""
    rows = {}
    lines = run_kiln_heap("histogram", dump, *options).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---------")) + 1
    for line in lines[start:]:
        words = line.split()
        if len(words) >= 4 and not words[3].startswith("total"):
            rows[" ".join(words[3:])] = tuple(int(w) for w in words[:3])
    return rows


def run_kiln_heap(*args):
    return subprocess.run([KILN_HEAP, *args], check=True, capture_output=True, text=True).stdout


class Server:
    """`kiln-heap serve DUMP --port 0 ARGS...`, stopped with SIGTERM."""

    def __init__(self, dump, *args):
        self.proc = subprocess.Popen([KILN_HEAP, "serve", dump, "--port", "0", *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"^Serving (.*) at (http://127\.0\.0\.1:(\d+)/)$", line.rstrip("\n"))
        if not m:
            self.proc.kill()
            raise AssertionError("kiln-heap serve printed %r" % line)
        self.url = m.group(2)
        self.port = int(m.group(3))

    def get(self, path):
        """(status, parsed JSON or text) of GET path."""
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=30) as r:
                body, status, kind = r.read(), r.status, r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            body, status, kind = e.read(), e.code, e.headers.get("Content-Type", "")
        text = body.decode("utf-8")
        return status, json.loads(text) if kind.startswith("application/json") else text

    def api(self, path):
        status, body = self.get(path)
        if status != 200:
            raise AssertionError("%s: %d %s" % (path, status, body))
        return body

    def stop(self):
        """SIGTERM; returns the exit code (the server must exit cleanly)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.proc.stdout.close()
