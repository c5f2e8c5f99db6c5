"""The Debian package: scripts/build-deb.sh builds it (lintian errors fail the build), then
it is installed on this machine with dpkg -i, its files, user, directories and unit are
checked (systemd-analyze verify and security work offline on the unit file), the installed
herald announces the demo as the herald user, and the package is removed (the database
stays) and purged (it goes).

Environment: HERALD_BUILD_DIR, HERALD_SOURCE_DIR. Exit status 77 (skipped) when this machine
cannot run it: not root, dpkg-buildpackage, debhelper or lintian missing, or a herald package
already installed (it would be replaced and purged).
"""
import glob
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ["HERALD_SOURCE_DIR"]
BUILD = os.environ["HERALD_BUILD_DIR"]
SKIP = 77


def run(*cmd, check=True, timeout=120):
    r = subprocess.run(list(cmd), capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode,
                                                    r.stdout.decode(), r.stderr.decode()))
    return r


def package_state():
    r = run("dpkg-query", "-W", "-f", "${Status}", "herald", check=False)
    return r.stdout.decode() if r.returncode == 0 else ""


def why_skip():
    if os.geteuid() != 0:
        return "not root"
    for tool in ("dpkg-buildpackage", "dh", "lintian", "systemd-analyze"):
        if not shutil.which(tool):
            return tool + " is not installed (scripts/setup-deps.sh test)"
    if package_state() and "not-installed" not in package_state():
        return "a herald package is already installed here"
    return None


UNIT = "/lib/systemd/system/herald.service"


class DebianPackage(unittest.TestCase):
    def setUp(self):
        self.out = os.path.join(BUILD, "deb")
        r = run("bash", os.path.join(SRC, "scripts", "build-deb.sh"), self.out, timeout=1800)
        sys.stderr.write(r.stdout.decode()[-300:])
        debs = glob.glob(os.path.join(self.out, "herald_*.deb"))
        self.assertEqual(len(debs), 1, debs)
        self.deb = debs[0]

    def tearDown(self):
        if package_state():
            run("dpkg", "--purge", "herald", check=False)
        if os.path.exists("/etc/herald/herald.toml"):
            os.remove("/etc/herald/herald.toml")
            os.rmdir("/etc/herald")

    def test_install_remove_purge(self):
        run("dpkg", "-i", self.deb)
        self.assertIn("install ok installed", package_state())

        # Files in their places.
        for p in ["/usr/bin/herald", "/usr/share/herald/templates/mail/default.text.mustache",
                  "/usr/share/herald/sample/lustre-release-tags.atom",
                  "/usr/share/herald/demo.toml", "/usr/share/man/man8/herald.8.gz",
                  "/usr/share/man/man5/herald.toml.5.gz",
                  "/usr/share/doc/herald/examples/herald.toml",
                  "/usr/share/doc/herald/admin-guide.md",
                  "/usr/share/doc/herald/monitoring/herald-alerts.yml",
                  "/usr/share/doc/herald/copyright", UNIT]:
            self.assertTrue(os.path.isfile(p), p)
        self.assertIn(b"ExecStart=/usr/bin/herald run", open(UNIT, "rb").read())

        # The system user and its directories.
        user = pwd.getpwnam("herald")
        self.assertLess(user.pw_uid, 1000)
        self.assertEqual(user.pw_dir, "/var/lib/herald")
        self.assertIn(user.pw_shell, ("/usr/sbin/nologin", "/bin/false"))
        group = grp.getgrnam("herald")
        st = os.stat("/var/lib/herald")
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (user.pw_uid, group.gr_gid, 0o750))
        st = os.stat("/etc/herald")
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (0, group.gr_gid, 0o750))
        self.assertFalse(os.path.exists("/etc/herald/herald.toml"))

        # Enabled, not started: the enable symlink exists, the postinst starts nothing, and
        # the unit waits for the configuration.
        self.assertTrue(os.path.islink(
            "/etc/systemd/system/multi-user.target.wants/herald.service"))
        postinst = open("/var/lib/dpkg/info/herald.postinst").read()
        self.assertIn("deb-systemd-helper", postinst)
        invokes = re.findall(r"deb-systemd-invoke (\S+)", postinst)
        self.assertEqual(invokes, ["try-restart"])  # on upgrade only: a running herald
        self.assertIn('if [ -n "$2" ]; then\n\t\t\tdeb-systemd-invoke try-restart', postinst)
        self.assertIn(b"ConditionPathExists=/etc/herald/herald.toml", open(UNIT, "rb").read())

        # The unit file is valid, and its sandbox rates OK.
        r = run("systemd-analyze", "verify", "--man=no", UNIT, check=False)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        r = run("systemd-analyze", "security", "--offline=yes", UNIT)
        m = re.search(rb"Overall exposure level for herald.service: ([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        sys.stderr.write("systemd-analyze security: exposure %s\n" % m.group(1).decode())
        self.assertLessEqual(float(m.group(1)), 2.0)

        # The installed herald runs the demo as the herald user, from the installed files.
        demo = "/var/lib/herald/demo"
        run("install", "-d", "-o", "herald", "-g", "herald", demo)
        shutil.copy("/usr/share/herald/demo.toml", demo)
        r = run("runuser", "-u", "herald", "--", "/usr/bin/herald", "run", "--once",
                "--config", demo + "/demo.toml")
        mails = os.listdir(demo + "/var/Maildir/new")
        self.assertGreaterEqual(len(mails), 5)
        db = demo + "/var/herald.db"
        self.assertEqual(os.stat(db).st_uid, user.pw_uid)
        # root is refused (it would leave root-owned -wal/-shm files); herald may back up.
        r = run("/usr/bin/herald", "backup", demo + "/backup.db", "--config",
                demo + "/demo.toml", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"sudo -u herald", r.stderr)
        run("runuser", "-u", "herald", "--", "/usr/bin/herald", "backup", demo + "/backup.db",
            "--config", demo + "/demo.toml")
        r = run("man", "-P", "cat", "herald.toml", check=False)
        if r.returncode == 0 or shutil.which("man"):
            self.assertIn(b"max_connections", r.stdout)

        # The admin's configuration, as the admin guide has it written.
        shutil.copy("/usr/share/doc/herald/examples/herald.toml", "/etc/herald/herald.toml")
        r = run("runuser", "-u", "herald", "--", "/usr/bin/herald", "check-config")
        self.assertIn(b"/etc/herald/herald.toml: OK", r.stdout)

        # Remove: the program goes, the data and the configuration stay.
        run("dpkg", "--remove", "herald")
        self.assertFalse(os.path.exists("/usr/bin/herald"))
        self.assertFalse(os.path.exists(UNIT))
        self.assertTrue(os.path.isfile(db))
        self.assertTrue(os.path.isfile("/etc/herald/herald.toml"))
        # Purge: the data goes too; what the admin put in /etc/herald stays, the rest goes.
        run("dpkg", "--purge", "herald")
        self.assertEqual(package_state(), "")
        self.assertFalse(os.path.exists("/var/lib/herald"))
        self.assertTrue(os.path.isfile("/etc/herald/herald.toml"))
        os.remove("/etc/herald/herald.toml")
        os.rmdir("/etc/herald")
        self.assertFalse(os.path.exists(
            "/etc/systemd/system/multi-user.target.wants/herald.service"))


if __name__ == "__main__":
    reason = why_skip()
    if reason:
        sys.stderr.write("skipped: %s\n" % reason)
        sys.exit(SKIP)
    result = unittest.main(exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
