"""End to end in a real browser: headless Chromium (Debian's chromium and
chromium-driver, driven with python3-selenium) against the running herald.

Open the subscribe page, subscribe, read the confirmation mail from the real
SMTP server (aiosmtpd) with Python's email package, open its link, confirm,
change preferences; an announcement then reaches the subscriber as their own
mail with RFC 8058 headers, and a POST to its List-Unsubscribe URL with
List-Unsubscribe=One-Click (what a mail client sends) unsubscribes at once.
A screenshot of each page is saved under HERALD_ARTIFACTS (default:
./artifacts/subscribe, beside the build's tests)."""
import email
import email.policy
import json
import os
import re
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TOKEN = "e2e-api-token-0123456789"

CONFIG = """
[herald]
database = "{db}"
log_level = "info"

[mail]
from = "Lustre announcements <announce@lists.lustre.example>"
domain = "lists.lustre.example"
smtp_url = "{smtp}"

[delivery]
backoff_initial = "1s"

[http]
listen = "127.0.0.1:{port}"
api_token = "{token}"

[web]
base_url = "http://127.0.0.1:{port}"
from = "Lustre announcements <members@lists.lustre.example>"

[[topic]]
name = "releases"
title = "Lustre releases"
kinds = ["release.published"]
tags = ["audience=release"]

[[topic]]
name = "testing"
title = "Release candidates"
kinds = ["release.published"]
tags = ["audience=testing"]

[[route]]
kinds = ["release.published"]
to = ["topic:releases", "topic:testing"]
"""

ADDRESS = "ann.member@example.org"


def artifacts():
    d = os.environ.get("HERALD_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    d = os.path.join(d, "subscribe")
    os.makedirs(d, exist_ok=True)
    return d


def left_document(element):
    """A wait condition: the element is no longer in the page, so the next
    page has replaced it. ChromeDriver says so with a stale-element error, or,
    while the old document is being torn down, with an inspector error that
    the node does not belong to the document."""

    def check(_driver):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            if "does not belong to the document" in str(e) or "No node with given id" in str(e):
                return True
            raise

    return check


class SubscribeInBrowser(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        self.port = harness.free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.cfg = self.work.file("herald.toml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(db=self.work.file("herald.db"), smtp=self.smtp.url,
                                  port=self.port, token=TOKEN))
        self.daemon = harness.Daemon(self.cfg, self.work.file("herald.log"))
        self.assertTrue(harness.wait_until(lambda: self.get("/healthz")[0] == 200, 30),
                        self.daemon.log())
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--window-size=412,915"):  # a phone's viewport
            options.add_argument(arg)
        self.browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                                        options=options)
        self.shots = artifacts()

    def tearDown(self):
        self.browser.quit()
        self.daemon.stop()
        self.smtp.stop()
        self.work.cleanup()

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def shot(self, name):
        path = os.path.join(self.shots, name + ".png")
        self.assertTrue(self.browser.save_screenshot(path), path)
        self.assertGreater(os.path.getsize(path), 1000, path)

    def submit(self):
        """Presses the page's button and waits for the page that answers."""
        button = self.browser.find_element(By.CSS_SELECTOR, "button[type=submit]")
        button.click()
        WebDriverWait(self.browser, 20).until(left_document(button))

    def follow(self, text):
        link = self.browser.find_element(By.LINK_TEXT, text)
        link.click()
        WebDriverWait(self.browser, 20).until(left_document(link))

    def mails_to(self, address):
        out = []
        for path in self.smtp.files():
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            if address in msg["To"]:
                out.append(msg)
        return out

    def wait_for_mail(self, address, count):
        ok = harness.wait_until(lambda: len(self.mails_to(address)) >= count, 60)
        self.assertTrue(ok, self.daemon.log())
        return self.mails_to(address)

    def subscriber(self):
        r = harness.herald("subscribers", "show", ADDRESS, "--config", self.cfg)
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict(re.findall(r"^(\w+)\s+(.*)$", r.stdout.decode(), re.M))

    def test_subscribe_confirm_preferences_unsubscribe(self):
        b = self.browser
        b.get(self.base + "/subscribe")
        self.assertIn("Subscribe", b.title)
        self.shot("1-subscribe")
        b.find_element(By.ID, "address").send_keys(ADDRESS)
        b.find_element(By.CSS_SELECTOR, "input[name=topic][value=releases]").click()
        b.find_element(By.CSS_SELECTOR, "input[name=topic][value=testing]").click()
        b.find_element(By.ID, "branches").send_keys("2.15")
        self.submit()
        self.assertIn("Check your mail", b.page_source)
        self.shot("2-check-your-mail")
        self.assertEqual(self.subscriber()["state"], "pending")

        [confirm] = self.wait_for_mail(ADDRESS, 1)
        self.assertIsNone(confirm["List-Unsubscribe"])  # nothing to unsubscribe from yet
        self.assertEqual(confirm["From"], "Lustre announcements <members@lists.lustre.example>")
        text = confirm.get_body(("plain",)).get_content()
        link = re.search(r"http://127\.0\.0\.1:\d+/confirm/[A-Za-z0-9_-]{43}", text).group(0)

        # What a link scanner does: fetch the link. Nobody is confirmed by it.
        status, page = self.get(link[len(self.base):])
        self.assertEqual(status, 200)
        self.assertEqual(self.subscriber()["state"], "pending")

        b.get(link)
        self.shot("3-confirm")
        self.submit()
        self.assertIn("You are subscribed", b.page_source)
        self.shot("4-subscribed")
        self.assertEqual(self.subscriber()["state"], "confirmed")

        self.follow("Change your preferences")
        self.assertIn("Your subscription", b.page_source)
        self.shot("5-preferences")
        # Keep GA releases, drop release candidates.
        b.find_element(By.CSS_SELECTOR, "input[name=topic][value=testing]").click()
        self.submit()
        self.assertIn("Preferences saved", b.page_source)
        self.shot("6-preferences-saved")
        sub = self.subscriber()
        self.assertEqual(sub["topics"], "releases")
        self.assertEqual(sub["branches"], "2.15")

        # Announcements: a 2.15 GA release, a 2.16 GA release, a 2.15 RC.
        events = [
            {"key": "release:lustre:2.15.8", "kind": "release.published",
             "title": "Lustre 2.15.8 released", "tags": {"branch": "2.15", "audience": "release"}},
            {"key": "release:lustre:2.16.2", "kind": "release.published",
             "title": "Lustre 2.16.2 released", "tags": {"branch": "2.16", "audience": "release"}},
            {"key": "release:lustre:2.15.9-RC1", "kind": "release.published",
             "title": "Lustre 2.15.9-RC1 released",
             "tags": {"branch": "2.15", "audience": "testing"}},
        ]
        req = urllib.request.Request(self.base + "/api/v1/events",
                                     data=json.dumps({"events": events}).encode(),
                                     headers={"Authorization": "Bearer " + TOKEN,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)
        mails = self.wait_for_mail(ADDRESS, 2)
        time.sleep(2)  # anything else that was going to arrive has
        mails = self.mails_to(ADDRESS)
        self.assertEqual(len(mails), 2, [m["Subject"] for m in mails])
        announcement = mails[1]
        self.assertIn("2.15.8", announcement["Subject"])
        self.assertEqual(announcement["To"], ADDRESS)
        self.assertEqual(announcement["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        unsub = re.fullmatch(r"<(http://127\.0\.0\.1:\d+/unsubscribe/([A-Za-z0-9_-]{43}))>",
                             announcement["List-Unsubscribe"])
        self.assertIsNotNone(unsub, announcement["List-Unsubscribe"])
        body = announcement.get_body(("plain",)).get_content()
        self.assertIn("/preferences/" + unsub.group(2), body)
        self.assertEqual(set(re.findall(r"/(?:preferences|unsubscribe)/([A-Za-z0-9_-]{43})", body)),
                         {unsub.group(2)})

        # The unsubscribe page a person opens, then the mail client's one-click POST.
        b.get(unsub.group(1))
        self.shot("7-unsubscribe")
        self.assertEqual(self.subscriber()["state"], "confirmed")
        req = urllib.request.Request(unsub.group(1), data=b"List-Unsubscribe=One-Click",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)
        self.assertEqual(self.subscriber()["state"], "unsubscribed")
        b.get(unsub.group(1))
        self.assertIn("You are not subscribed", b.page_source)
        self.shot("8-unsubscribed")
        self.assertIn("subscriber #1 unsubscribed (one-click)", self.daemon.log())


if __name__ == "__main__":
    unittest.main()
