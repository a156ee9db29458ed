"""The viewer in a real browser: headless Chromium driven through Selenium
against `kiln-heap serve`, on the viewer's Kiln heap and on a JDK 17 dump.
Each walks the pages as a person would (overview, sort the histogram,
class -> object -> referrer -> path to a root, expand the dominator tree,
zoom and search the flamegraph) and checks what the page shows against what
the test's programs made. Screenshots of the flamegraph and an object page
go to $TEST_UNDECLARED_OUTPUTS_DIR."""
import os
import shutil
import sys
import tempfile
import unittest

import viewer_testlib as lib

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
HAVE_BROWSER = os.path.exists(CHROMIUM) and os.path.exists(DRIVER)
if HAVE_BROWSER:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

OUTPUTS = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", lib.TMP)
GREETING = "Grüße, 世界 ☃"


def num(text):
    return int(text.replace(",", ""))


class Browser:
    def __init__(self):
        options = webdriver.ChromeOptions()
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,900"):
            options.add_argument(flag)
        self.profile = tempfile.mkdtemp(dir=lib.TMP)
        options.add_argument("--user-data-dir=" + self.profile)
        options.binary_location = CHROMIUM
        self.d = webdriver.Chrome(service=Service(DRIVER), options=options)
        self.d.set_page_load_timeout(60)

    def wait_ready(self):
        WebDriverWait(self.d, 30).until(
            lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
        errors = self.d.find_elements(By.CSS_SELECTOR, "p.error")
        if errors:
            raise AssertionError("the page says: " + errors[0].text)

    def open(self, url):
        self.d.get(url)
        self.wait_ready()

    def click(self, element):
        element.click()
        self.wait_ready()

    def css(self, selector):
        return self.d.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector):
        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def quit(self):
        self.d.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


@unittest.skipUnless(HAVE_BROWSER, "chromium and chromium-driver are not installed "
                     "(./kiln setup installs them)")
class ViewerBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.browser = Browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()

    def walk_histogram(self, server, made):
        b = self.browser
        b.open(server.url + "histogram")
        b.click(b.css('th[data-sort="count"]'))
        self.assertIn("sort=count", b.d.current_url)
        counts = [num(td.text) for td in b.all("#histogram-table tbody td.count")]
        self.assertEqual(counts, sorted(counts, reverse=True))
        for name, count in made.items():
            row = b.css('#histogram-table tr[data-class="%s"]' % name)
            self.assertEqual(num(row.find_element(By.CSS_SELECTOR, "td.count").text), count, name)
        # Filter by name, then the reachable view.
        box = b.css("#filter")
        box.clear()
        box.send_keys("Foo" if "ViewerHeap$Foo" in made else "test.", Keys.ENTER)
        b.wait_ready()
        names = [tr.get_attribute("data-class") for tr in b.all("#histogram-table tbody tr")]
        self.assertTrue(names)
        self.assertTrue(all(("Foo" in n) or ("test." in n) for n in names), names)
        b.click(b.css("#toggle-reachable"))
        self.assertIn("reachable=1", b.d.current_url)
        self.assertIn("reachable objects", b.css("h1").text)

    def open_class(self, server, name):
        b = self.browser
        b.open(server.url + "histogram?filter=" + name.replace("$", "%24"))
        b.click(b.css('#histogram-table tr[data-class="%s"] a.cls' % name))
        self.assertEqual(b.css("#class-name").text, name)

    def field(self, name):
        return self.browser.css('#fields tr[data-field="%s"] td.value' % name).text

    def check_path_to_root(self, target_id):
        b = self.browser
        steps = b.all("#path li")
        self.assertGreaterEqual(len(steps), 2)
        self.assertIn("[ROOT_", steps[0].text)
        self.assertIn(target_id, steps[-1].text)

    def flamegraph(self, server, zoom_name, native):
        b = self.browser
        b.open(server.url + "flamegraph")
        frames = [f for f in b.all("#flame .frame") if f.get_attribute("data-name") == zoom_name]
        self.assertTrue(frames, zoom_name)
        # Hover: the numbers of the frame.
        ActionChains(b.d).move_to_element(frames[0]).perform()
        self.assertIn("cumulative", b.css("#tip").text)
        # A narrow frame may sit under its neighbour's label: click it as a
        # script does (the same handler).
        b.d.execute_script("arguments[0].click()", frames[0])
        self.assertIn("zoomed into " + zoom_name, b.css("#flame-info").text)
        self.assertIn("focus=", b.d.current_url)
        focus = b.css('#flame .frame[data-node="%s"]' % b.css("#flame").get_attribute("data-focus"))
        self.assertEqual(focus.get_attribute("style").count("width: 100%"), 1)
        if native is not None:
            tops = [f for f in b.all("#flame .frame.native")]
            self.assertTrue(tops, "no [native] frame")
            ActionChains(b.d).move_to_element(tops[0]).perform()
            self.assertIn("cumulative %s bytes" % format(native, ","), b.css("#tip").text)
        search = b.css("#flame-search")
        search.send_keys(zoom_name.split(".")[-1])
        matches = b.all("#flame .frame.match")
        self.assertTrue(matches)
        self.assertTrue(all(zoom_name.split(".")[-1] in m.get_attribute("data-name") for m in matches))
        self.assertIn("matching frames", b.css("#flame-info").text)
        b.click(b.css("#flame-reset"))
        self.assertNotIn("focus=", b.d.current_url)

    def dominator_tree(self, server, expand_prefix, want_child):
        b = self.browser
        b.open(server.url + "dominators")
        items = [li for li in b.all("#domtree > li") if expand_prefix in li.text]
        self.assertTrue(items, expand_prefix)
        items[0].find_element(By.CSS_SELECTOR, ".toggle").click()
        WebDriverWait(b.d, 30).until(lambda d: items[0].find_elements(By.CSS_SELECTOR, "ul li"))
        children = items[0].find_elements(By.CSS_SELECTOR, ":scope > ul > li")
        self.assertTrue(any(want_child in c.text for c in children),
                        [c.text for c in children])

    def test_kiln_heap(self):
        b = self.browser
        dump, made = lib.kiln_dump("browser_kiln.hprof", grow=3)
        server = lib.Server(dump)
        try:
            overview = server.api("/api/overview")
            b.open(server.url)
            self.assertEqual(b.css("#overview-file").text, "browser_kiln.hprof")
            self.assertIn(format(overview["objects"], ","), b.css("#overview-objects").text)
            self.assertIn("4,096", b.css("#overview-native").text)
            self.assertTrue(b.all('#roots tr[data-kind="ROOT_STICKY_CLASS"]'))
            self.assertIn('"main"', b.css("#overview-threads").text)
            self.walk_histogram(server, made)
            # Class -> the item with native memory (value 2: third by retained
            # size in a list of 5: item0 retains 5 items, item1 4, item2 3).
            self.open_class(server, "test.Item")
            self.assertEqual(num(b.css("#class-count").text), made["test.Item"])
            b.click(b.all("#instances tbody a.obj")[2])
            self.assertEqual(self.field("value"), "2")
            self.assertEqual(self.field("weight"), "20")
            self.assertEqual(num(b.css("#native-bytes").text), 4096)
            count, self_bytes, _ = lib.histogram(dump)["test.Item"]
            item_bytes = self_bytes // count
            self.assertEqual(num(b.css("#self-bytes").text), item_bytes)
            self.assertEqual(num(b.css("#retained-bytes").text), 3 * item_bytes)
            item2 = b.css("#object-id").text
            self.check_path_to_root(item2)
            self.assertIn("test.Item", b.css("#dominator-chain").text)
            b.d.save_screenshot(os.path.join(OUTPUTS, "object_page.png"))
            # Referrer: item1 (through next); the Cleaner's referent is the other.
            referrers = b.all("#referrers tbody tr")
            self.assertEqual(num(b.css("#referrer-count").text), 2)
            item1 = [r for r in referrers if "test.Item.next" in r.text][0]
            b.click(item1.find_element(By.CSS_SELECTOR, "a.obj"))
            self.assertEqual(self.field("value"), "1")
            self.check_path_to_root(b.css("#object-id").text)
            self.assertEqual(len(b.all("#path li")), 3)  # Holder's class, item0, item1
            # The path's root: test.Holder's class object, with the strings.
            b.click(b.all("#path li a.obj")[0])
            refs = {tr.find_elements(By.TAG_NAME, "td")[0].text: tr for tr in b.all("#references tbody tr")}
            b.click(refs["test.Holder.greeting"].find_element(By.CSS_SELECTOR, "a.obj"))
            self.assertEqual(b.css("#string-value").text, GREETING)
            b.d.back()
            b.wait_ready()
            refs = {tr.find_elements(By.TAG_NAME, "td")[0].text: tr for tr in b.all("#references tbody tr")}
            b.click(refs["test.Holder.numbers"].find_element(By.CSS_SELECTOR, "a.obj"))
            self.assertEqual(b.css("#array-values").text, ", ".join(str(i * 10) for i in range(10)))
            self.dominator_tree(server, "java.lang.Class<test.Holder>", "test.Item")
            self.flamegraph(server, "test.Item", native=4096)
            holder = [n["id"] for n in server.api("/api/flamegraph")["nodes"]
                      if n["name"].startswith("java.lang.Class<test.Holder>")][0]
            b.open(server.url + "flamegraph?focus=%d&search=Item" % holder)
            b.d.save_screenshot(os.path.join(OUTPUTS, "flamegraph_page.png"))
            b.open(server.url + "flamegraph")
            b.d.save_screenshot(os.path.join(OUTPUTS, "flamegraph_all.png"))
            # Threads: jstack's layout.
            b.open(server.url + "threads")
            self.assertIn("at test.Holder.main(Holder.java:7)", b.css("pre.thread").text)
            # SQL console: Perfetto's documented query (inspection/hprof/HPROF.md).
            b.open(server.url + "sql")
            b.click(b.css("#sql-run"))
            rows = b.all("#sql-result tbody tr")
            self.assertTrue(any(r.text == "test.Item %d" % self_bytes for r in rows),
                            [r.text for r in rows[:5]])
        finally:
            self.assertEqual(server.stop(), 0)

    def test_jdk_dump(self):
        b = self.browser
        dump, made = lib.jdk_dump("browser_jdk.hprof")
        server = lib.Server(dump)
        try:
            b.open(server.url)
            self.assertTrue(b.all('#properties tr[data-key="java.version"]'))
            self.assertTrue(b.css('#properties tr[data-key="java.version"]').text.split()[-1].startswith("17"))
            self.walk_histogram(server, made)
            self.open_class(server, "ViewerHeap$Foo")
            self.assertEqual(num(b.css("#class-count").text), made["ViewerHeap$Foo"])
            # Foos are reached through the Foo[] and along the chain from the
            # main frame's local (the last Foo), so each retains itself alone.
            b.click(b.all("#instances tbody a.obj")[0])
            k = int(self.field("id"))
            self.assertTrue(0 <= k < made["ViewerHeap$Foo"])
            count, self_bytes, _ = lib.histogram(dump)["ViewerHeap$Foo"]
            foo_bytes = self_bytes // count
            self.assertEqual(num(b.css("#self-bytes").text), foo_bytes)
            self.assertEqual(num(b.css("#retained-bytes").text), foo_bytes)
            self.assertTrue(b.css("#dominator-chain").text)
            # Its referrers: foos[k], and foos[k + 1].next unless k is the last.
            referrers = b.all("#referrers tbody tr")
            self.assertEqual(len(referrers), 1 if k == made["ViewerHeap$Foo"] - 1 else 2)
            referrers = [r for r in referrers if "[%d]" % k in r.text]
            self.assertEqual(len(referrers), 1)
            b.click(referrers[0].find_element(By.CSS_SELECTOR, "a.obj"))
            self.assertIn("ViewerHeap$Foo[]", b.css("#object-title").text)
            self.check_path_to_root(b.css("#object-id").text)
            # ViewerHeap's class object holds the UTF-16 greeting.
            self.open_class(server, "java.lang.Class<ViewerHeap>")
            b.click(b.all("#instances tbody a.obj")[0])
            refs = {tr.find_elements(By.TAG_NAME, "td")[0].text: tr for tr in b.all("#references tbody tr")}
            b.click(refs["ViewerHeap.greeting"].find_element(By.CSS_SELECTOR, "a.obj"))
            self.assertEqual(b.css("#string-value").text, GREETING)
            self.dominator_tree(server, "java.lang.Class<ViewerHeap>", "ViewerHeap$Foo[]")
            self.flamegraph(server, "ViewerHeap$Foo[]", native=None)
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    if not HAVE_BROWSER:
        print("SKIPPED: chromium and chromium-driver are not installed (./kiln setup installs them)")
    unittest.main(argv=[sys.argv[0], "-v"])
