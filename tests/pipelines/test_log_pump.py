"""A step's log keeps at most STUDIO_MAX_LOG_BYTES bytes of UTF-8, its beginning and its end,
read from a real pipe."""

import fcntl
import os
import struct
import termios
import time

from pipelines.runner import LogPump


def unread_bytes(fd: int) -> int:
    """How many bytes wait in the pipe ``fd`` (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


def pump(data: bytes, chunk: int = 7, before_end=None) -> str:
    """What LogPump keeps of ``data`` written to a pipe ``chunk`` bytes at a time.
    ``before_end(reader)`` is called once everything is written but the pipe is still open."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stream:
        reader = LogPump(stream)
        reader.start()
        for start in range(0, len(data), chunk):
            os.write(write_end, data[start : start + chunk])
        seen = ""
        if before_end is not None:
            seen = before_end(reader)
        os.close(write_end)
        reader.join(timeout=10)
        assert not reader.is_alive()
        return seen + reader.take()


def test_a_log_under_the_limit_is_kept_whole(settings):
    settings.STUDIO_MAX_LOG_BYTES = 1000
    text = "épocha 1: ✓ 0.93\n" * 10
    assert pump(text.encode()) == text


def test_a_long_log_keeps_its_beginning_and_its_end(settings):
    settings.STUDIO_MAX_LOG_BYTES = 200
    lines = "".join(f"line {n:04}\n" for n in range(1000))  # 10 bytes a line
    kept = pump(lines.encode(), chunk=64)
    assert kept.startswith("".join(f"line {n:04}\n" for n in range(10)))
    assert kept.endswith("".join(f"line {n:04}\n" for n in range(990, 1000)))
    assert "line 0500" not in kept
    assert "[studio] 9,800 bytes left out here." in kept
    assert len(kept) < 200 + 250  # the kept text and two short notes


def test_the_limit_counts_bytes_and_never_splits_a_character(settings):
    settings.STUDIO_MAX_LOG_BYTES = 100
    kept = pump(("✓" * 100).encode(), chunk=5)  # 100 characters, 300 bytes
    head, _, rest = kept.partition("\n[studio] This log passed 50 bytes")
    tail = rest.rpartition("left out here.\n")[2]
    assert head == "✓" * 16  # 48 bytes: the 17th character would cross the 50-byte half
    assert tail == "✓" * 16  # the last 50 bytes, less the 2 of a character cut at the front
    assert "\ufffd" not in kept


def test_the_end_of_a_long_log_appears_when_the_output_ends(settings):
    settings.STUDIO_MAX_LOG_BYTES = 100
    data = b"".join(b"%04d\n" % n for n in range(100))

    def while_running(reader):
        # Wait (bounded) until the reader has read everything written: the pipe is empty and
        # the head has passed its half, yet the end must not show before the output ends.
        so_far, deadline = "", time.monotonic() + 60
        while "This log passed" not in so_far or unread_bytes(reader.stream.fileno()):
            assert time.monotonic() < deadline, f"the reader never caught up: {so_far!r}"
            time.sleep(0.01)
            so_far += reader.take()
        assert "0099" not in so_far and "0000" in so_far
        return so_far

    kept = pump(data, before_end=while_running)
    assert kept.endswith("0099\n") and kept.startswith("0000\n")
