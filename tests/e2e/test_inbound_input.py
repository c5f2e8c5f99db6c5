"""End to end: what the event API and the webhooks make of unusual bodies, posted
with curl to the real `herald run` ([http] max_body at its default, 1 MiB)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import test_webhooks  # noqa: E402

AUTH = ["Authorization: Bearer " + test_webhooks.TOKEN]


def nested_attributes(levels):
    return ('{"events":[{"key":"deep","kind":"bug.created","attributes":' +
            '{"a":' * levels + '1' + '}' * levels + '}]}').encode()


class InboundInput(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        self.herald = test_webhooks.Herald(self.work, self.smtp, max_body="1MiB")

    def tearDown(self):
        self.herald.stop()
        self.smtp.stop()
        self.work.cleanup()

    def test_a_body_nested_100000_deep_is_400_and_the_daemon_goes_on(self):
        h = self.herald
        body = nested_attributes(100000)
        self.assertGreater(len(body), 600000)
        self.assertLess(len(body), 1 << 20)
        code, answer = h.curl("/api/v1/events", body, AUTH)
        self.assertEqual((code, json.loads(answer)),
                         (400, {"error": "JSON nests deeper than 64 levels"}))
        self.assertEqual(h.get("/healthz")[0], 200)
        self.assertIsNone(h.proc.poll())
        # A signed webhook of the same shape is 400 too.
        hook = b'{"webhookEvent":"jira:issue_created","issue":' + b'[' * 100000 + \
            b']' * 100000 + b'}'
        code, answer = h.post("jira", hook, "deep-1")
        self.assertEqual((code, json.loads(answer)),
                         (400, {"error": "jira webhook: JSON nests deeper than 64 levels"}))
        self.assertEqual(h.get("/healthz")[0], 200)
        self.assertEqual(h.count(), 0)
        self.assertIn('result=bad_request status=400 reason="JSON nests deeper than 64 levels"',
                      h.log())
        # 64 levels in all ({"events": [{... "attributes": 61 objects) are still accepted.
        code, answer = h.curl("/api/v1/events", nested_attributes(61), AUTH)
        self.assertEqual((code, json.loads(answer)), (200, {"accepted": 1, "new": 1}))
        code, answer = h.curl("/api/v1/events", nested_attributes(62), AUTH)
        self.assertEqual(code, 400, answer)

if __name__ == "__main__":
    unittest.main(verbosity=2)
