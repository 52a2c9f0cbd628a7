# SPDX-License-Identifier: Apache-2.0
"""`cntrace report --html`: one self-contained page, checked in a real browser.

Debian's chromium renders the page of a real trace headless: a screenshot is taken
and must show something, and the DOM after the page's script ran (--dump-dom) must
hold every stage and every process of the trace. The file loads nothing from
anywhere, and what the trace says (untrusted: process names, paths) is text on the
page, never markup: a launch that executes a program named like HTML proves it."""
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile

import pytest

from conftest import NOBODY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WINDOW = (1400, 1000)
# Program names that would be markup if the page let them be.
HOSTILE_DIR = "/dev/shm/<script>alert(1)<"
HOSTILE = HOSTILE_DIR + "/script>"          # the path reads "...<script>alert(1)</script>"
HOSTILE_IMG = "/dev/shm/<img src=x onerror=document.title='pwned'>"


def _chromium(*args, url):
    """Run headless chromium on url; returns its stdout. A missing browser fails the test."""
    assert os.access(CHROMIUM, os.X_OK), "no chromium at %s: scripts/install-deps installs it" % CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile.")
    try:
        p = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--user-data-dir=" + profile, *args, url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                           env=dict(os.environ, HOME=profile))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert p.returncode == 0, "chromium failed (%d):\n%s" % (p.returncode, p.stderr[-3000:])
    return p.stdout


def _report(cntrace, trace, out):
    p = subprocess.run([cntrace.binary, "report", "--html", str(out), trace.path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return out.read_text()


@pytest.fixture(scope="module")
def page(cntrace, world, tmp_path_factory):
    """A setuid launch (every role, raises, host capability uses), its page and the DOM chromium made."""
    trace = cntrace.run(["/bin/sh", "-c", "echo hi; ls / >/dev/null"], as_user=NOBODY, launcher=world.setuid_binary,
                        flow="setuid", rootfs=world.rootfs_user)
    assert trace.exit_code == 0, trace.stderr
    out = tmp_path_factory.mktemp("html") / "report.html"
    html = _report(cntrace, trace, out)
    dom = _chromium("--dump-dom", url=out.as_uri())
    return {"trace": trace, "file": out, "html": html, "dom": dom}


def test_the_page_loads_nothing(page):
    html = page["html"]
    assert not re.search(r"https?://", html), "the page must not name anything to load"
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"\b(src|href)\s*=", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # and the browser is told to load nothing, whatever it says


def test_chromium_renders_a_screenshot(page, tmp_path):
    shot = tmp_path / "report.png"
    _chromium("--screenshot=%s" % shot, "--window-size=%d,%d" % WINDOW, "--hide-scrollbars", url=page["file"].as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == WINDOW
    # a blank page of that size compresses to a few kilobytes; lanes, bands and tables do not
    assert len(data) > 40000, "the screenshot is %d bytes: the page drew next to nothing" % len(data)


def test_the_dom_after_the_script_holds_every_stage_and_process(page):
    dom, trace = page["dom"], page["trace"]
    for s in trace.stages:
        assert 'data-stage="%s"' % s.name in dom, "no band for stage %s" % s.name
    bands = re.findall(r'data-stage="([A-Za-z]+)"', dom)
    assert sorted(bands) == sorted(s.name for s in trace.stages), "one band per stage of the trace"
    for p in trace.processes:
        assert "pid %d" % p.pid in dom, "no lane for pid %d" % p.pid
    body = dom.split('id="stages"', 1)[1].split("</table>", 1)[0]
    assert body.count("<tr>") - 1 == len(trace.stages), "one table row per stage"
    # the privilege colours are the trace's: the setuid master holds host privilege, stage1 drops it
    assert re.search(r'class="band host"[^>]*data-stage="CreateContainer"', dom)
    assert re.search(r'class="band none"[^>]*data-stage="PrepareConfig"', dom)
    assert 'class="mark tx raise"' in dom or 'class="mark cap host' in dom


def test_a_link_opens_a_stage_s_details(page):
    stages = [s.name for s in page["trace"].stages]
    i = stages.index("StartProcess")
    dom = _chromium("--dump-dom", url=page["file"].as_uri() + "#stage=%d" % i)
    details = dom.split('id="details"', 1)[1].split("</div>", 1)[0]
    assert "StartProcess" in details and "exit creds" in details and "syscalls" in details


def test_hostile_program_names_are_text_not_markup(cntrace, world, tmp_path):
    script = ("mkdir '{d}' && ln -s /bin/busybox '{f}' && ln -s /bin/busybox \"{g}\" && '{f}'; \"{g}\"; "
              "echo done").format(d=HOSTILE_DIR, f=HOSTILE, g=HOSTILE_IMG)
    trace = cntrace.run(["/bin/sh", "-c", script], launcher=world.root_binary, flow="root", rootfs=world.rootfs_root)
    assert trace.exit_code == 0, trace.stderr
    files = [x.get("filename") for p in trace.processes for x in p.execs]
    assert HOSTILE in files and HOSTILE_IMG in files, "the launch should have executed both: %s" % files
    out = tmp_path / "hostile.html"
    html = _report(cntrace, trace, out)
    assert "<script>alert" not in html and "<img" not in html
    assert html.count("<script") == 2, "only the page's own two script elements"
    dom = _chromium("--dump-dom", url=out.as_uri())
    assert "<img" not in dom and "<script>alert" not in dom
    title = re.search(r"<title>([^<]*)</title>", dom)
    assert title and title.group(1).startswith("cntrace: root "), "an onerror ran: the title is %r" % title
    # shown as what it is: text, escaped by the serializer
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=" in dom
    # and the script still drew everything: the names did not break it
    for s in trace.stages:
        assert 'data-stage="%s"' % s.name in dom


def test_a_trace_without_stages_shows_its_phases(cntrace, tmp_path):
    trace = cntrace.exec(["/bin/sh", "-c", "/bin/true; id"])
    assert trace.exit_code == 0 and not trace.stages
    out = tmp_path / "exec.html"
    _report(cntrace, trace, out)
    dom = _chromium("--dump-dom", url=out.as_uri())
    assert "Phases (no stages" in dom
    for p in trace.processes:
        assert "pid %d" % p.pid in dom
        for x in p.execs:
            assert 'data-stage="%s"' % x.get("filename") in dom, "no band for %s" % x.get("filename")


def test_bad_input_is_one_line_and_writes_nothing(cntrace, tmp_path):
    out = tmp_path / "never.html"
    for trace, needle in ((tmp_path / "missing.json", "No such file"), (None, "not a cntrace trace")):
        if trace is None:
            trace = tmp_path / "other.json"
            trace.write_text(json.dumps({"schema": "other/1"}))
        p = subprocess.run([cntrace.binary, "report", "--html", str(out), str(trace)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        lines = p.stderr.splitlines()
        assert p.returncode == 125 and len(lines) == 1 and needle in lines[0], p.stderr
        assert not [n for n in os.listdir(tmp_path) if n.startswith(out.name)], "nothing may be left behind"
    p = subprocess.run([cntrace.binary, "report", "--html"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
