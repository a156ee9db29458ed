"""`kiln-heap serve`, `query` and `diff` as processes, over HTTP and on the
command line: the API's histogram agrees with VisualVM's heap library on a
JDK 17 dump; hostile HTTP input is refused and the server runs on;
Perfetto's documented queries run unchanged (the histogram, the sample's ts and
upid, experimental_flamegraph equal to `flamegraph --format json`);
`diff` and `--baseline` report exactly the objects a heap grew by;
`--sizes=jvm`; SIGINT and SIGTERM end the server cleanly."""
import json
import signal
import socket
import subprocess
import unittest
import urllib.parse

import viewer_testlib as lib

# Perfetto's documented queries (its Java heap dump docs; inspection/hprof/HPROF.md),
# character for character; the flamegraph's ts and upid are the sample's,
# put in by the test as the docs say.
SEED_HISTOGRAM = """select c.name, sum(o.self_size)
from heap_graph_object o join heap_graph_class c on (o.type_id = c.id)
where reachable = 1 group by 1 order by 2 desc;"""
SEED_SAMPLE = "select distinct graph_sample_ts, upid from heap_graph_object"
SEED_FLAMEGRAPH = """select name, cumulative_size
from experimental_flamegraph(
-- The type of the profile from which the flamegraph is being generated.
-- Always 'graph' for Java heap graphs.
'graph',
-- The timestamp of the heap graph sample.
{ts},
-- Timestamp constraints: not relevant and always null for Java heap graphs.
NULL,
-- The upid of the heap graph sample.
{upid},
-- The upid group: not relevant and always null for Java heap graphs.
NULL,
-- A regex for focusing on a particular node in the heapgraph: for advanced
-- use only.
NULL
)
order by 2 desc;"""


def query_rows(out):
    """The rows of a `kiln-heap query` table: lists of cells split on 2+ spaces."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    rows = []
    for line in lines[start:]:
        if line.startswith("(") and line.endswith(")"):
            break
        cells = [c for c in line.strip().split("  ") if c]
        rows.append([cells[0].strip()] + [c.strip() for c in cells[1:]] if cells else [])
    return rows


def flame_nodes(tree):
    out = []
    for child in tree.get("children", []):
        out.append((child["name"], child["cumulative_size"]))
        out.extend(flame_nodes(child))
    return out


def sql(server, text):
    return server.api("/api/sql?q=" + urllib.parse.quote(text))


def raw(port, data, read=True):
    """Sends raw bytes; returns what came back (b'' if the server just closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = b""
        if read:
            try:
                while chunk := s.recv(65536):
                    reply += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        return reply


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jdk, cls.jdk_made = lib.jdk_dump("serve_jdk.hprof")

    def test_histogram_agrees_with_visualvm(self):
        visualvm = lib.visualvm_counts(self.jdk)
        server = lib.Server(self.jdk)
        try:
            classes = server.api("/api/overview")["classes"]
            ours = {}
            for c in server.api("/api/histogram")["classes"]:
                ours[c["name"]] = ours.get(c["name"], 0) + c["count"]
        finally:
            self.assertEqual(server.stop(), 0)
        # VisualVM counts class objects apart from instances (kiln-heap, as
        # Perfetto, gives each its type java.lang.Class<Name>: one per
        # CLASS_DUMP, as many as VisualVM's classes); every instance count
        # must agree, both ways, java.lang.Class's own instances included.
        self.assertEqual(len(visualvm), classes)
        ours = {n: c for n, c in ours.items() if not n.startswith("java.lang.Class<")}
        theirs = {n: c for n, c in visualvm.items() if c}
        self.assertEqual(ours, theirs)
        for name, count in self.jdk_made.items():
            self.assertEqual(ours[name], count, name)
        self.assertGreater(len(ours), 100)

    def test_hostile_http_is_refused_and_the_server_runs_on(self):
        dump, _ = lib.kiln_dump("hostile.hprof")
        server = lib.Server(dump)
        try:
            objects = server.api("/api/overview")["objects"]
            for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/../../../etc/passwd",
                         "/object/..%2f..%2fetc%2fpasswd", "/etc/passwd", "/static/../BUILD.bazel",
                         "/api/object/%00", "/api/object/0x1/../../x", "/class/1/../../../etc/passwd",
                         "/api/class/1%00", "/api/object/" + "9" * 5000]:
                status, body = server.get(path)
                self.assertIn(status, (400, 404), path)
                self.assertNotIn("root:", str(body))
            replies = [
                raw(server.port, b"\x00\xff\xfe garbage \r\n\r\n"),
                raw(server.port, b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
                raw(server.port, b"GET / HTTP/1.1\r\n" + b"X-Flood: y\r\n" * 5000 + b"\r\n"),
                raw(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"z" * 200000 + b"\r\n\r\n"),
                raw(server.port, b"POST /api/sql HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\nabc"),
                raw(server.port, b"POST /api/histogram HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"),
                raw(server.port, b"DELETE /api/object/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                raw(server.port, b"GET /api/histogram HTTP/9.9\r\n\r\n"),
                raw(server.port, b"GET"),
                raw(server.port, b"", read=False),
            ]
            for reply in replies:
                # Refused (4xx) or closed, never a 200 or a 5xx.
                if reply:
                    status = reply.split(b" ", 2)[1] if reply.startswith(b"HTTP/") else b"?"
                    self.assertTrue(status.startswith(b"4"), reply[:200])
            self.assertTrue(replies[6].startswith(b"HTTP/1.1 405"), replies[6][:100])
            self.assertEqual(server.api("/api/overview")["objects"], objects)
            status, _ = server.get("/api/object/zz")
            self.assertEqual(status, 400)
            for write in ["delete from heap_graph_object", "attach database 'x.db' as x",
                          "pragma query_only = 0", "create table t(x)"]:
                status, body = server.get("/api/sql?q=" + urllib.parse.quote(write))
                self.assertEqual(status, 400, write)
                self.assertIn("error", body)
            self.assertEqual(sql(server, "select count(*) from heap_graph_object")["rows"],
                             [[str(objects)]])
        finally:
            self.assertEqual(server.stop(), 0)

    def check_seed_queries(self, dump):
        histogram = {name: self_bytes for name, (_, self_bytes, _) in lib.histogram(dump).items()}
        reachable = {}
        for name, cells in lib.histogram_reachable(dump).items():
            reachable[name] = cells[1]
        rows = query_rows(lib.run_kiln_heap("query", dump, SEED_HISTOGRAM))
        self.assertEqual({r[0]: int(r[1]) for r in rows}, reachable)
        sample = query_rows(lib.run_kiln_heap("query", dump, SEED_SAMPLE))
        self.assertEqual(len(sample), 1)
        ts, upid = sample[0]
        flame = SEED_FLAMEGRAPH.format(ts=ts, upid=upid)
        cli = sorted((r[0], int(r[1])) for r in query_rows(lib.run_kiln_heap("query", dump, flame)))
        want = sorted(flame_nodes(json.loads(lib.run_kiln_heap("flamegraph", dump, "--format", "json"))))
        self.assertEqual(cli, want)
        self.assertGreater(len(want), 10)
        # The same in the console.
        server = lib.Server(dump)
        try:
            self.assertEqual(sql(server, SEED_SAMPLE)["rows"], [[ts, upid]])
            console = sql(server, flame)
            self.assertEqual(console["columns"], ["name", "cumulative_size"])
            self.assertEqual(sorted((n, int(s)) for n, s in console["rows"]), want)
            sizes = [int(s) for _, s in console["rows"]]
            self.assertEqual(sizes, sorted(sizes, reverse=True))
            self.assertEqual({r[0]: int(r[1]) for r in sql(server, SEED_HISTOGRAM)["rows"]}, reachable)
            # Another sample's ts gives no rows, as in Perfetto.
            self.assertEqual(sql(server, SEED_FLAMEGRAPH.format(ts=int(ts) + 1, upid=upid))["rows"], [])
        finally:
            self.assertEqual(server.stop(), 0)
        del histogram

    def test_seed_queries_on_a_kiln_dump(self):
        dump, _ = lib.kiln_dump("seed_kiln.hprof", grow=5)
        self.check_seed_queries(dump)

    def test_seed_queries_on_a_jdk_dump(self):
        self.check_seed_queries(self.jdk)

    def test_diff_and_baseline_report_exactly_what_grew(self):
        grew = 25
        old, _ = lib.kiln_dump("diff_old.hprof", grow=0)
        new, made = lib.kiln_dump("diff_new.hprof", grow=grew)
        self.assertEqual(made["test.Leak"], grew)
        leak_count, leak_bytes, _ = lib.histogram(new)["test.Leak"]
        self.assertEqual(leak_count, grew)
        out = lib.run_kiln_heap("diff", old, new)
        rows = query_rows(out)
        self.assertEqual(rows[:-1], [["+%d" % grew, "+%d" % leak_bytes, "0", str(grew),
                                      str(leak_bytes), "test.Leak"]], out)
        self.assertTrue(rows[-1][-1].startswith("total (1 classes changed"), out)
        server = lib.Server(new, "--baseline", old)
        try:
            for path in ["/api/histogram", "/api/histogram?reachable=1"]:
                changed = {c["name"]: (c["count_delta"], c["self_bytes_delta"])
                           for c in server.api(path)["classes"]
                           if c["count_delta"] or c["self_bytes_delta"] or c["native_bytes_delta"]}
                self.assertEqual(changed, {"test.Leak": (grew, leak_bytes)}, path)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_jvm_sizes_on_a_jdk_dump(self):
        server = lib.Server(self.jdk, "--sizes=jvm")
        try:
            props = server.api("/api/overview")["properties"]
            h = server.api("/api/histogram")
            self.assertEqual(h["sizes"], "jvm")
            self.assertIn("JVM", h["sizes_text"])
            foo = [c for c in h["classes"] if c["name"] == "ViewerHeap$Foo"][0]
            # Foo {int id; Foo next}: header + int + reference, aligned to 8.
            compressed = "java.vm.compressedOopsMode" in props
            per = 24 if compressed else 32  # 12 + 4 + 4 -> 24; 16 + 4 + 8 -> 32
            self.assertEqual(foo["self_bytes"], foo["count"] * per)
        finally:
            self.assertEqual(server.stop(), 0)
        # Perfetto's stays the default.
        server = lib.Server(self.jdk)
        try:
            self.assertEqual(server.api("/api/histogram")["sizes"], "perfetto")
        finally:
            self.assertEqual(server.stop(), 0)

    def test_sigint_ends_it_cleanly_and_it_binds_loopback(self):
        dump, _ = lib.kiln_dump("signal.hprof")
        server = lib.Server(dump)
        self.assertTrue(server.url.startswith("http://127.0.0.1:"))
        server.proc.send_signal(signal.SIGINT)
        self.assertEqual(server.proc.wait(timeout=30), 0)
        server.proc.stdout.close()
        bad = subprocess.run([lib.KILN_HEAP, "serve", dump, "--port", "70000"], capture_output=True)
        self.assertEqual(bad.returncode, 2)


if __name__ == "__main__":
    unittest.main(argv=["serve_test", "-v"])
