"""A class that follows its teacher: the class's state on the server, shared by every session (issue 27).

The model is reveal.js's multiplex plugin and Pear Deck's instructor-paced sessions: the teacher's page
broadcasts its state, each follower renders it. A teacher's session *starts* a class and gets a short
code that students type or scan, and a secret that only that session holds: the right to publish,
never in a link. The teacher's page publishes what its share link carries (``urlstate.encode``'s
parameters: mode and lesson step, view, numbers, weights, block, head, query…) and, for an uploaded
picture, its bytes; each publish that changes something raises the class's version by one. A
follower asks for the version (a few bytes) about once a second and reads the state only when the
version changed.

Two stores with one interface: ``MemoryStore`` for one server process (thread-safe, bounded: the
number of classes, each picture's bytes, expiry after hours without the teacher) and ``RedisStore``
for replicas behind HAProxy, where a student on replica 2 follows a teacher on replica 1.

Safety: codes are 6 symbols of 31 (about 8.9 × 10⁸ codes) and ``Doorman`` bounds the joining attempts
of a session or an address (10 wrong codes a minute), so that guessing one takes months; a class's
picture is read with its code only and dropped when the class ends or expires; publishing needs the
secret (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import CodedError

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector and typed on a phone
CODE_LENGTH = 6
MAX_CLASSES = 200  # classes at once on one server (or one Redis)
MAX_PICTURE_BYTES = 8 * 1024 * 1024  # one class's uploaded picture, as uploaded
EXPIRY_S = 4 * 3600  # a class ends this long after its teacher last published
FOLLOWER_TTL_S = 10.0  # a follower counts while it asked within this many seconds


class ClassError(CodedError):
    """A class action refused, with a translation ``code`` and its ``fields`` (``ui.explain``):
    ``class_unknown`` (no such class: ended, expired or mistyped), ``class_full`` (the server holds
    ``MAX_CLASSES``), ``class_not_teacher`` (a wrong secret), ``class_picture_large``,
    ``class_too_many_tries`` (``Doorman``)."""


@dataclass(frozen=True)
class ClassState:
    """What a follower shows: ``params`` as a share link carries them, ``picture`` the sha256 of the
    class's uploaded picture (None: the link's sample), ``version`` counting the teacher's changes."""

    version: int
    params: dict[str, str]
    picture: str | None = None


def normalise_code(text: str) -> str:
    """A typed code as stored: upper case, without spaces or dashes; O read as 0 is not in the
    alphabet, so ``0`` → ``O`` is not done (a wrong symbol is simply a wrong code)."""
    return "".join(ch for ch in text.upper() if not ch.isspace() and ch != "-")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Class:
    secret: str
    state: ClassState
    picture: bytes | None = None
    touched: float = 0.0  # when the teacher last started or published (the store's clock)
    followers: dict[str, float] = field(default_factory=dict)  # follower id -> when it last asked


class MemoryStore:
    """The classes of one server process, shared by its sessions (``st.cache_resource``); every
    method takes a lock. ``clock`` (seconds) is replaceable for tests."""

    def __init__(self, max_classes: int = MAX_CLASSES, max_picture_bytes: int = MAX_PICTURE_BYTES,
                 expiry_s: float = EXPIRY_S, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.max_classes, self.max_picture_bytes, self.expiry_s, self.clock = (
            max_classes, max_picture_bytes, expiry_s, clock)  # fmt: skip
        self._classes: dict[str, _Class] = {}
        self._lock = threading.Lock()

    def _live(self, code: str) -> _Class | None:
        """The class, or None when there is none (an expired one is dropped here, picture and all)."""
        found = self._classes.get(code)
        if found is not None and self.clock() - found.touched > self.expiry_s:
            del self._classes[code]
            return None
        return found

    def start(self) -> tuple[str, str]:
        """A new class: (its code, the teacher's secret). Raises ``class_full``."""
        with self._lock:
            for code in list(self._classes):
                self._live(code)
            if len(self._classes) >= self.max_classes:
                raise ClassError("class_full", f"this server holds {self.max_classes} classes", n=self.max_classes)
            code = new_code()
            while code in self._classes:
                code = new_code()
            secret = secrets.token_urlsafe(32)
            self._classes[code] = _Class(secret, ClassState(0, {}), touched=self.clock())
            return code, secret

    def _teacher(self, code: str, secret: str) -> _Class:
        found = self._live(code)
        if found is None:
            raise ClassError("class_unknown", f"no class {code}", which=code)
        if not hmac.compare_digest(found.secret, secret):
            raise ClassError("class_not_teacher", "only the teacher's page can move the class")
        return found

    def publish(self, code: str, secret: str, params: dict[str, str], picture: bytes | None = None) -> int:
        """The teacher's state; the version grows by one when ``params`` or the picture changed.
        Returns the version. Raises ``class_unknown``, ``class_not_teacher``, ``class_picture_large``."""
        if picture is not None and len(picture) > self.max_picture_bytes:
            raise ClassError("class_picture_large", "the picture is too large to share",
                             mb=self.max_picture_bytes // (1024 * 1024))  # fmt: skip
        with self._lock:
            found = self._teacher(code, secret)
            found.touched = self.clock()
            digest = None if picture is None else _digest(picture)
            if found.state.params == params and found.state.picture == digest:
                return found.state.version
            found.state = ClassState(found.state.version + 1, dict(params), digest)
            found.picture = picture
            return found.state.version

    def end(self, code: str, secret: str) -> None:
        """The class and its picture are gone; followers see ``version`` None."""
        with self._lock:
            self._teacher(code, secret)
            del self._classes[code]

    def version(self, code: str, follower: str | None = None) -> int | None:
        """The class's version (None: no such class), counting ``follower`` as following."""
        with self._lock:
            found = self._live(code)
            if found is None:
                return None
            if follower is not None:
                found.followers[follower] = self.clock()
            return found.state.version

    def state(self, code: str) -> ClassState | None:
        with self._lock:
            found = self._live(code)
            return None if found is None else found.state

    def picture(self, code: str) -> bytes | None:
        """The class's uploaded picture (None: none, or no such class)."""
        with self._lock:
            found = self._live(code)
            return None if found is None else found.picture

    def followers(self, code: str) -> int:
        """How many pages asked for the class's version in the last ``FOLLOWER_TTL_S`` seconds."""
        with self._lock:
            found = self._live(code)
            if found is None:
                return 0
            now = self.clock()
            found.followers = {who: at for who, at in found.followers.items() if now - at <= FOLLOWER_TTL_S}
            return len(found.followers)

    def leave(self, code: str, follower: str) -> None:
        with self._lock:
            if (found := self._live(code)) is not None:
                found.followers.pop(follower, None)


class RedisStore:
    """The same classes in Redis, for replicas (``redis_url``: ``redis://127.0.0.1:6379/0``). Keys
    ``vitpatch:class:CODE`` (a hash: secret, version, params, picture digest), ``…:picture`` (bytes),
    ``…:followers`` (a sorted set: follower id → when it asked) and ``vitpatch:classes`` (code →
    when its teacher last published), each expiring ``expiry_s`` after the teacher's last publish.
    Redis's clock is not used: the scores are this replica's wall clock (replicas share NTP time)."""

    PREFIX = "vitpatch:class:"

    def __init__(self, redis_url: str, max_classes: int = MAX_CLASSES, max_picture_bytes: int = MAX_PICTURE_BYTES,
                 expiry_s: float = EXPIRY_S, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        import redis  # only where a Redis URL is configured

        self.db = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.max_classes, self.max_picture_bytes, self.expiry_s, self.clock = (
            max_classes, max_picture_bytes, expiry_s, clock)  # fmt: skip

    def _key(self, code: str, part: str = "") -> str:
        return f"{self.PREFIX}{code}{part}"

    def _expire(self, pipe, code: str) -> None:
        ttl = max(1, int(self.expiry_s))
        for part in ("", ":picture", ":followers"):
            pipe.expire(self._key(code, part), ttl)

    def start(self) -> tuple[str, str]:
        now = self.clock()
        self.db.zremrangebyscore("vitpatch:classes", "-inf", now - self.expiry_s)
        if self.db.zcard("vitpatch:classes") >= self.max_classes:
            raise ClassError("class_full", f"this server holds {self.max_classes} classes", n=self.max_classes)
        secret = secrets.token_urlsafe(32)
        while True:
            code = new_code()
            if self.db.hsetnx(self._key(code), "secret", secret):
                break
        with self.db.pipeline() as pipe:
            pipe.hset(self._key(code), mapping={"version": 0, "params": "{}", "picture": ""})
            pipe.zadd("vitpatch:classes", {code: now})
            self._expire(pipe, code)
            pipe.execute()
        return code, secret

    def _check(self, code: str, secret: str) -> dict:
        found = self.db.hgetall(self._key(code))
        if not found:
            raise ClassError("class_unknown", f"no class {code}", which=code)
        if not hmac.compare_digest(found[b"secret"].decode(), secret):
            raise ClassError("class_not_teacher", "only the teacher's page can move the class")
        return found

    def publish(self, code: str, secret: str, params: dict[str, str], picture: bytes | None = None) -> int:
        if picture is not None and len(picture) > self.max_picture_bytes:
            raise ClassError("class_picture_large", "the picture is too large to share",
                             mb=self.max_picture_bytes // (1024 * 1024))  # fmt: skip
        found = self._check(code, secret)
        text = json.dumps(params, sort_keys=True)
        digest = "" if picture is None else _digest(picture)
        version = int(found[b"version"])
        with self.db.pipeline() as pipe:
            if found[b"params"].decode() != text or found[b"picture"].decode() != digest:
                if picture is None:
                    pipe.delete(self._key(code, ":picture"))
                elif found[b"picture"].decode() != digest:
                    pipe.set(self._key(code, ":picture"), picture)
                pipe.hset(self._key(code), mapping={"params": text, "picture": digest})
                pipe.hincrby(self._key(code), "version", 1)
                version += 1
            pipe.zadd("vitpatch:classes", {code: self.clock()})
            self._expire(pipe, code)
            pipe.execute()
        return version

    def end(self, code: str, secret: str) -> None:
        self._check(code, secret)
        self.db.delete(self._key(code), self._key(code, ":picture"), self._key(code, ":followers"))
        self.db.zrem("vitpatch:classes", code)

    def version(self, code: str, follower: str | None = None) -> int | None:
        with self.db.pipeline() as pipe:
            pipe.hget(self._key(code), "version")
            if follower is not None:
                pipe.zadd(self._key(code, ":followers"), {follower: self.clock()})
            found = pipe.execute()[0]
        if found is None:
            if follower is not None:
                self.db.delete(self._key(code, ":followers"))  # made by the zadd above for no class
            return None
        return int(found)

    def state(self, code: str) -> ClassState | None:
        found = self.db.hmget(self._key(code), "version", "params", "picture")
        if found[0] is None:
            return None
        return ClassState(int(found[0]), json.loads(found[1]), found[2].decode() or None)

    def picture(self, code: str) -> bytes | None:
        return self.db.get(self._key(code, ":picture"))

    def followers(self, code: str) -> int:
        key = self._key(code, ":followers")
        self.db.zremrangebyscore(key, "-inf", self.clock() - FOLLOWER_TTL_S)
        return int(self.db.zcard(key))

    def leave(self, code: str, follower: str) -> None:
        self.db.zrem(self._key(code, ":followers"), follower)


class Doorman:
    """Bounds joining attempts: at most ``tries`` wrong codes per ``window_s`` seconds for one key
    (a session, an address). Thread-safe; shared by the sessions of a process."""

    def __init__(self, tries: int = 10, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.tries, self.window_s, self.clock = tries, window_s, clock
        self._misses: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """Raises ``class_too_many_tries`` when any key has used its wrong tries in the window."""
        with self._lock:
            now = self.clock()
            for key in keys:
                recent = [at for at in self._misses.get(key, []) if now - at < self.window_s]
                self._misses[key] = recent
                if len(recent) >= self.tries:
                    wait = int(self.window_s - (now - recent[0])) + 1
                    raise ClassError("class_too_many_tries", "too many wrong codes; wait a minute", s=wait)

    def missed(self, *keys: str) -> None:
        """Count a wrong code against each key."""
        with self._lock:
            now = self.clock()
            for key in keys:
                self._misses.setdefault(key, []).append(now)
