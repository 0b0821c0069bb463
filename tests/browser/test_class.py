"""Following the teacher in real browsers (issue 27): a teacher's and a student's Chromium on one
server; the student's page moves by its own timer, not by a reload."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.browser.conftest import ARTIFACTS, _missing, wait_for_app

pytestmark = pytest.mark.browser
CODE = re.compile(r"Class code: ([A-Z0-9]{6})")


def start_class(teacher, address: str) -> str:
    """Open ``address`` in the teacher's page, press Start a class and read the code the sidebar shows."""
    teacher.goto(address)
    wait_for_app(teacher)
    teacher.get_by_role("button", name="Start a class").click()
    teacher.get_by_text("Class code:", exact=False).first.wait_for(timeout=30_000)
    return CODE.search(teacher.locator('[data-testid="stSidebar"]').inner_text())[1]


def test_a_students_page_moves_with_the_teachers_by_its_timer(browser, app_url):
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    student_ctx = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        teacher = teacher_ctx.new_page()
        code = start_class(teacher, f"{app_url}/?mode=lesson&step=1")
        assert teacher.locator('[data-testid="stSidebar"] img').count() >= 1  # the QR code

        student = student_ctx.new_page()
        student.goto(f"{app_url}/?join={code}&lang=ja")
        student.get_by_text(f"授業 {code}", exact=False).first.wait_for(timeout=60_000)
        student.get_by_text("レッスン 1 / 7", exact=False).first.wait_for(timeout=60_000)

        teacher.get_by_role("button", name="Next ▶").click()
        teacher.get_by_text("Step 2 of 7", exact=False).first.wait_for(timeout=30_000)
        student.get_by_text("レッスン 2 / 7", exact=False).first.wait_for(timeout=20_000)  # the timer, no reload
        assert "join=" in student.url
        student.wait_for_timeout(2500)  # two more ticks of its timer and the probe's rerun: still following
        assert student.get_by_text("自分で探索しています", exact=False).count() == 0
        teacher.get_by_text("1 page(s) following", exact=False).first.wait_for(timeout=20_000)
        student.screenshot(path=ARTIFACTS / "class-student.png")
        teacher.screenshot(path=ARTIFACTS / "class-teacher.png")
    finally:
        teacher_ctx.close()
        student_ctx.close()


def test_a_student_on_another_replica_follows_through_redis(browser):
    """Two replicas sharing one Redis (``scripts.replicas.Cluster``): the teacher's page on replica 1,
    the student's on replica 2, each opened at its replica's own port so that they cannot share one."""
    if reason := _missing():
        pytest.skip(reason)
    for tool, make in (("haproxy", "proxy-deps"), ("redis-server", "redis-deps")):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make {make})")
    from scripts.replicas import Cluster

    cluster = Cluster.start(2, folder=ARTIFACTS / "class-replicas")
    teacher_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    student_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        assert cluster.redis_url
        first, second = (f"http://127.0.0.1:{port}" for port in cluster.ports)
        teacher = teacher_ctx.new_page()
        code = start_class(teacher, f"{first}/?mode=lesson&step=3")
        student = student_ctx.new_page()
        student.goto(f"{second}/?join={code}")
        student.get_by_text("Step 3 of 7", exact=False).first.wait_for(timeout=60_000)
        teacher.get_by_role("button", name="Next ▶").click()
        student.get_by_text("Step 4 of 7", exact=False).first.wait_for(timeout=30_000)
        teacher.get_by_text("1 page(s) following", exact=False).first.wait_for(timeout=20_000)
    finally:
        teacher_ctx.close()
        student_ctx.close()
        cluster.close()
