"""The class store (vizlib/classroom.py, issue 27): one behaviour, two stores: in the process, and in a
real Redis (Debian's ``redis-server``, started here on loopback and stopped by the test; skipped with
the reason where it is not installed: ``make redis-deps``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from vizlib import classroom
from vizlib.classroom import CODE_ALPHABET, CODE_LENGTH, ClassError, Doorman, MemoryStore, normalise_code


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_url():
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (make redis-deps installs Debian's)")
    pytest.importorskip("redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["memory", "redis"])
def make_store(request):
    """``make_store(**limits)`` → a fresh store of either kind, and its clock."""

    def make(**limits):
        clock = Clock()
        if request.param == "memory":
            return MemoryStore(clock=clock, **limits), clock
        store = classroom.RedisStore(request.getfixturevalue("redis_url"), clock=clock, **limits)
        store.db.flushdb()
        return store, clock

    return make


def test_a_class_moves_by_its_teacher_and_the_version_counts_changes(make_store):
    store, _ = make_store()
    code, secret = store.start()
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) and len(secret) >= 40
    assert store.version(code) == 0 and store.state(code).params == {}
    lesson = {"mode": "lesson", "step": "2"}
    assert store.publish(code, secret, lesson) == 1
    assert store.publish(code, secret, dict(lesson)) == 1  # nothing changed: the same version
    assert store.publish(code, secret, {**lesson, "step": "3"}) == 2
    assert store.state(code) == classroom.ClassState(2, {**lesson, "step": "3"}, None)


def test_only_the_teachers_secret_moves_or_ends_a_class(make_store):
    store, _ = make_store()
    code, secret = store.start()
    other_code, other_secret = store.start()
    for wrong in ("", "x" * 43, other_secret):
        with pytest.raises(ClassError) as err:
            store.publish(code, wrong, {"step": "7"})
        assert err.value.code == "class_not_teacher"
        with pytest.raises(ClassError):
            store.end(code, wrong)
    assert store.version(code) == 0
    with pytest.raises(ClassError) as err:
        store.publish("ZZZZZZ", secret, {})
    assert err.value.code == "class_unknown"
    store.end(code, secret)
    assert store.version(code) is None and store.state(code) is None and store.version(other_code) == 0


def test_the_picture_belongs_to_its_class_and_goes_with_it(make_store):
    store, _ = make_store(max_picture_bytes=1000)
    code, secret = store.start()
    other, _ = store.start()
    picture = bytes(range(256)) * 3
    assert store.publish(code, secret, {"src": "upload"}, picture) == 1
    assert store.picture(code) == picture and store.picture(other) is None
    assert store.state(code).picture == classroom._digest(picture)
    assert store.publish(code, secret, {"src": "upload"}, picture) == 1  # the same bytes: no new version
    with pytest.raises(ClassError) as err:
        store.publish(code, secret, {"src": "upload"}, b"x" * 1001)
    assert err.value.code == "class_picture_large"
    assert store.publish(code, secret, {"sample": "coffee"}) == 2 and store.picture(code) is None  # back to a sample
    store.publish(code, secret, {"src": "upload"}, picture)
    store.end(code, secret)
    assert store.picture(code) is None


def test_followers_are_counted_while_they_ask(make_store):
    store, clock = make_store()
    code, _ = store.start()
    for who in ("a", "b", "c"):
        store.version(code, follower=who)
    assert store.followers(code) == 3
    store.leave(code, "c")
    clock.now += classroom.FOLLOWER_TTL_S / 2
    store.version(code, follower="a")
    assert store.followers(code) == 2
    clock.now += classroom.FOLLOWER_TTL_S * 0.75  # b asked 1.25 TTL ago, a 0.75 TTL ago
    assert store.followers(code) == 1
    assert store.version("NOSUCH", follower="a") is None and store.followers("NOSUCH") == 0


def test_classes_are_bounded_in_number(make_store):
    store, _ = make_store(max_classes=3)
    for _ in range(3):
        store.start()
    with pytest.raises(ClassError) as err:
        store.start()
    assert err.value.code == "class_full" and err.value.fields == {"n": 3}


def test_a_class_without_its_teacher_expires_and_frees_its_place():
    clock = Clock()
    store = MemoryStore(max_classes=1, expiry_s=60, clock=clock)
    code, secret = store.start()
    store.publish(code, secret, {"src": "upload"}, b"picture")
    clock.now += 59
    store.publish(code, secret, {"src": "upload"}, b"picture")  # the teacher is still there
    clock.now += 59
    assert store.version(code) == 1
    clock.now += 2
    assert store.version(code) is None and store.picture(code) is None
    store.start()  # its place is free again: no class_full


def test_redis_drops_an_expired_class_and_its_picture(redis_url):
    store = classroom.RedisStore(redis_url, expiry_s=1)
    store.db.flushdb()
    code, secret = store.start()
    store.publish(code, secret, {"src": "upload"}, b"picture")
    time.sleep(2.2)
    assert store.version(code) is None and store.picture(code) is None
    assert store.db.keys(f"{store.PREFIX}{code}*") == []


def test_two_stores_on_one_redis_see_one_class(redis_url):
    """Two replicas: the teacher's publishes on one, a student's reads on the other."""
    teacher_side, student_side = classroom.RedisStore(redis_url), classroom.RedisStore(redis_url)
    teacher_side.db.flushdb()
    code, secret = teacher_side.start()
    teacher_side.publish(code, secret, {"mode": "lesson", "step": "4"}, b"\x89PNG...")
    assert student_side.version(code, follower="s1") == 1
    assert student_side.state(code).params == {"mode": "lesson", "step": "4"}
    assert student_side.picture(code) == b"\x89PNG..."
    assert teacher_side.followers(code) == 1
    with pytest.raises(ClassError):
        student_side.publish(code, "guess", {"step": "7"})


def test_codes_are_typed_forgivingly_and_guessing_is_bounded():
    assert normalise_code(" ab2-c3d ") == "AB2C3D"
    clock = Clock()
    door = Doorman(tries=3, window_s=60, clock=clock)
    for _ in range(3):
        door.check("session", "10.0.0.1")
        door.missed("session", "10.0.0.1")
    with pytest.raises(ClassError) as err:
        door.check("another session", "10.0.0.1")  # the same address
    assert err.value.code == "class_too_many_tries" and 0 < err.value.fields["s"] <= 61
    door.check("another session", "10.0.0.2")
    clock.now += 61
    door.check("session", "10.0.0.1")
    # at 10 tries a minute a code of 31^6 takes, on average, this many days to guess for one class
    days = len(CODE_ALPHABET) ** CODE_LENGTH / 2 / 10 / 60 / 24
    assert days > 30_000
