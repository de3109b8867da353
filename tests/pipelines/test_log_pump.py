"""A step's log is kept up to STUDIO_MAX_LOG_BYTES bytes of UTF-8, read from a real pipe."""

import os

from pipelines.runner import TRUNCATED, LogPump


def pump(data: bytes, chunk: int = 7) -> str:
    """What LogPump keeps of ``data`` written to a pipe ``chunk`` bytes at a time."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stream:
        reader = LogPump(stream)
        reader.start()
        for start in range(0, len(data), chunk):
            os.write(write_end, data[start : start + chunk])
        os.close(write_end)
        reader.join(timeout=10)
        assert not reader.is_alive()
        return reader.take()


def test_a_log_under_the_limit_is_kept_whole(settings):
    settings.STUDIO_MAX_LOG_BYTES = 1000
    text = "épocha 1: ✓ 0.93\n" * 10
    assert pump(text.encode()) == text


def test_the_limit_counts_bytes_not_characters(settings):
    settings.STUDIO_MAX_LOG_BYTES = 100
    text = "✓" * 100  # 100 characters, 300 bytes
    kept = pump(text.encode())
    assert kept.endswith(TRUNCATED)
    head = kept.removesuffix(TRUNCATED)
    assert head == "✓" * 33  # 99 bytes: the 34th character would cross the limit
    assert len(head.encode()) <= 100


def test_nothing_is_kept_after_the_cut(settings):
    settings.STUDIO_MAX_LOG_BYTES = 10
    kept = pump(b"0123456789abcdef" * 50, chunk=3)
    assert kept == "0123456789" + TRUNCATED
