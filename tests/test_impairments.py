"""The impairment pipeline on its own: settings parsing, and each impairment's fates on a
clock that moves only when the test says (`ManualScheduler`)."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udptui.net.impair_settings import (
    ImpairError,
    ImpairSettings,
    duration_text,
    parse_duration,
    parse_percent,
    parse_rate,
    parse_seed,
)
from udptui.net.impairments import (
    MAX_HELD,
    RATE_QUEUE_BYTES,
    REORDER_TIMEOUT,
    Fate,
    Impairer,
    flip_bit,
)
from udptui.net.scheduler import ManualScheduler, Scheduler


class Wire:
    """What the release callback saw: (time, payload, destination, fate), in order."""

    def __init__(self, scheduler: ManualScheduler) -> None:
        self.scheduler = scheduler
        self.released: list[tuple[float, bytes, str, Fate]] = []

    def __call__(self, payload: bytes, destination: str, fate: Fate) -> None:
        self.released.append((self.scheduler.now(), payload, destination, fate))

    @property
    def payloads(self) -> list[bytes]:
        return [item[1] for item in self.released]


def impairer(**values: object) -> tuple[Impairer[str], Wire, ManualScheduler]:
    scheduler = ManualScheduler()
    wire = Wire(scheduler)
    settings_ = ImpairSettings(seed=1, **values)  # type: ignore[arg-type]
    return Impairer(settings_, wire, scheduler=scheduler), wire, scheduler


# -- settings --------------------------------------------------------------------------------


def test_settings_fields_are_the_names_and_the_seed() -> None:
    assert {field.name for field in fields(ImpairSettings)} == {*ImpairSettings.NAMES, "seed"}


@pytest.mark.parametrize(
    ("text", "value"),
    [("10%", 0.1), ("0.5%", 0.005), ("100%", 1.0), ("0", 0.0), ("25", 0.25), (" 1 % ", 0.01)],
)
def test_percentages(text: str, value: float) -> None:
    assert parse_percent("loss", text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["120%", "-5%", "x", "", "10%%", "1e3"])
def test_bad_percentages(text: str) -> None:
    with pytest.raises(ImpairError, match="--loss"):
        parse_percent("loss", text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("80ms", 0.08), ("0.2s", 0.2), ("500us", 0.0005), ("0", 0.0), ("1S", 1.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration("delay", text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["-5ms", "80", "2m", "61s", "ms", "fast"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ImpairError, match="--delay"):
        parse_duration("delay", text)


def test_negative_delay_says_so() -> None:
    with pytest.raises(ImpairError, match="cannot be negative"):
        parse_duration("delay", "-5ms")


@pytest.mark.parametrize(
    ("text", "bits"),
    [("100kbit", 100_000), ("2mbit", 2_000_000), ("50kbps", 400_000), ("1.5mbit", 1_500_000)],
)
def test_rates(text: str, bits: int) -> None:
    assert parse_rate("rate", text) == bits


@pytest.mark.parametrize("text", ["0", "0kbit", "7bit", "fast", "-1kbit"])
def test_bad_rates(text: str) -> None:
    with pytest.raises(ImpairError, match="--rate"):
        parse_rate("rate", text)


def test_seeds() -> None:
    assert parse_seed("42") == 42
    assert parse_seed(" 0 ") == 0
    with pytest.raises(ImpairError, match="--seed 'x'"):
        parse_seed("x")
    with pytest.raises(ImpairError, match="not negative"):  # Random(-3) draws as Random(3)
        parse_seed("-3")


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_seed, "--5"),
        (parse_seed, "\u00b2"),  # a superscript two: `isdigit` says yes, `int` says no
        (parse_seed, "\u0663"),  # an Arabic-Indic three: `int` takes it, a seed should not
        (parse_seed, "9" * 5000),  # past `int`'s 4,300 digits
        (lambda text: parse_rate("rate", text), "9" * 400 + "bit"),  # `int(inf)`
        (lambda text: parse_rate("rate", text), "9" * 300 + "gbit"),
        (lambda text: parse_duration("delay", text), "9" * 400 + "ms"),
        (lambda text: parse_duration("delay", text), "\u0663ms"),
        (lambda text: parse_duration("delay", text), "infms"),
        (lambda text: parse_duration("delay", text), "1e999ms"),
        (lambda text: parse_percent("loss", text), "nan%"),
        (lambda text: parse_percent("loss", text), "9" * 400 + "%"),
    ],
)
def test_odd_numbers_are_one_line_errors(parse: object, text: str) -> None:
    with pytest.raises(ImpairError):
        parse(text)  # type: ignore[operator]


_NUMBERISH = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A-{0,2}[0-9\u00b2\u0663.e]{0,400}\s?(%|ms|s|us|µs|kbit|gbps|bit|nan|inf)?\Z"),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([*ImpairSettings.NAMES, "seed"]), _NUMBERISH)
def test_any_text_to_any_parser_is_a_value_or_one_line_error(name: str, text: str) -> None:
    """What `--NAME TEXT` and `/impair NAME TEXT` both go through: nothing but ImpairError escapes."""
    with contextlib.suppress(ImpairError):
        ImpairSettings().changed(name, text)


def test_changed_sets_one_and_off_clears_it() -> None:
    settings_ = ImpairSettings(seed=3).changed("loss", "25%").changed("delay", "200ms")
    assert settings_.loss == 0.25 and settings_.delay == pytest.approx(0.2)
    assert settings_.describe() == "loss 25%, delay 200ms"
    assert settings_.changed("loss", "off").describe() == "delay 200ms"
    assert settings_.off() == ImpairSettings(seed=3)
    assert not settings_.off().active
    with pytest.raises(ImpairError, match="no impairment 'lag'"):
        settings_.changed("lag", "1ms")


def test_rate_0_at_run_time_is_refused_as_the_flag_is() -> None:
    """`/impair rate 0` is the bad value `--rate 0` is; `off` lifts the cap, and 0 still
    turns the others off."""
    capped = ImpairSettings(loss=0.5).changed("rate", "100kbit")
    with pytest.raises(ImpairError, match="bad --rate '0'"):
        capped.changed("rate", "0")
    assert capped.changed("rate", "off").rate == 0
    assert capped.changed("loss", "0").loss == 0


def test_describe_lists_what_is_on() -> None:
    settings_ = ImpairSettings(
        loss=0.1, delay=0.08, jitter=0.02, duplicate=0.01, reorder=0.05, corrupt=0.005, rate=100_000
    )
    assert settings_.describe() == (
        "loss 10%, delay 80ms±20ms, duplicate 1%, reorder 5%, corrupt 0.5%, rate 100kbit"
    )
    assert ImpairSettings().describe() == "off"
    assert duration_text(0.0005) == "500us"


# -- fates -----------------------------------------------------------------------------------


def test_nothing_on_releases_at_once_untouched() -> None:
    impair, wire, scheduler = impairer()
    results = impair.submit(b"hello", "peer")
    assert results == [(b"hello", Fate(0))]
    assert wire.payloads == [b"hello"] and not results[0][1].impaired
    assert len(scheduler) == 0


def test_loss_matches_the_seeded_prediction() -> None:
    """Only --loss on: datagram i is lost exactly when the seed's i-th random() is below it."""
    impair, wire, _ = impairer(loss=0.5)
    predictor = random.Random(1)
    predicted = [predictor.random() >= 0.5 for _ in range(1000)]
    fates = [impair.submit(str(i).encode(), "peer")[0][1] for i in range(1000)]
    assert [not fate.lost for fate in fates] == predicted
    assert len(wire.released) == sum(predicted)
    assert len(wire.released) + impair.counts.lost == 1000
    assert fates[predicted.index(False)].text() == "✗ dropped by --loss"
    assert fates[predicted.index(False)].record() == {"impaired": "lost", "lost_by": "loss"}


def test_same_seed_same_fates() -> None:
    def run() -> list[list[tuple[bytes, Fate]]]:
        impair, _, _ = impairer(loss=0.2, duplicate=0.3, corrupt=0.3, jitter=0.01, delay=0.02, reorder=0.2)
        return [impair.submit(b"payload %d" % i, "peer") for i in range(300)]

    assert run() == run()


def test_duplicate_delivers_each_twice_in_order() -> None:
    impair, wire, _ = impairer(duplicate=1.0)
    for i in range(5):
        impair.submit(b"%d" % i, "peer")
    assert wire.payloads == [b"0", b"0", b"1", b"1", b"2", b"2", b"3", b"3", b"4", b"4"]
    assert [fate.duplicate for *_, fate in wire.released] == [False, True] * 5
    assert wire.released[1][3].text() == "duplicate"
    assert impair.counts.duplicated == 5


def test_delay_releases_when_due_and_not_before() -> None:
    impair, wire, scheduler = impairer(delay=0.1)
    start = scheduler.now()
    impair.submit(b"late", "peer")
    scheduler.advance(0.099)
    assert wire.released == []
    scheduler.advance(0.002)
    (when, payload, destination, fate) = wire.released[0]
    assert (payload, destination) == (b"late", "peer")
    assert when - start == pytest.approx(0.1)
    assert fate.text() == "delayed 100.0 ms"
    assert fate.record() == {"impaired": "delayed", "delay_ms": 100.0}
    assert impair.held == 0


def test_jitter_stays_within_its_range() -> None:
    impair, wire, scheduler = impairer(delay=0.05, jitter=0.02)
    fates = [impair.submit(b"x", "peer")[0][1] for _ in range(500)]
    assert all(0.03 <= fate.delay <= 0.07 for fate in fates)
    assert len({round(fate.delay, 6) for fate in fates}) > 100
    scheduler.advance(0.1)
    assert len(wire.released) == 500
    assert [item[0] for item in wire.released] == sorted(item[0] for item in wire.released)


def test_reorder_holds_one_behind_the_next_and_loses_none() -> None:
    impair, wire, scheduler = impairer(reorder=0.3)
    sent = [b"%03d" % i for i in range(200)]
    for payload in sent:
        impair.submit(payload, "peer")
    scheduler.advance(REORDER_TIMEOUT + 0.01)  # the last one, if held, waits for no one
    assert sorted(wire.payloads) == sent
    assert wire.payloads != sent
    reordered = [payload for *_, payload, _, fate in wire.released if fate.reordered]
    assert len(reordered) == impair.counts.reordered > 20
    for *_, payload, _, fate in wire.released:
        if fate.reordered and payload != sent[-1]:
            position = wire.payloads.index(payload)
            # something submitted after it went first
            assert any(int(other) > int(payload) for other in wire.payloads[:position])


def test_a_reordered_one_with_no_follower_goes_after_the_timeout() -> None:
    impair, wire, scheduler = impairer(reorder=1.0)
    impair.submit(b"alone", "peer")
    scheduler.advance(REORDER_TIMEOUT - 0.01)
    assert wire.released == []
    scheduler.advance(0.02)
    assert wire.payloads == [b"alone"]


def test_reorder_with_delay_goes_after_the_next_one() -> None:
    impair, wire, scheduler = impairer(delay=0.05, reorder=0.5)
    for i in range(40):
        impair.submit(b"%02d" % i, "peer")
        scheduler.advance(0.001)
    scheduler.advance(REORDER_TIMEOUT + 0.1)
    assert sorted(wire.payloads) == [b"%02d" % i for i in range(40)]
    assert wire.payloads != sorted(wire.payloads)


@given(st.binary(min_size=1, max_size=200), st.integers(0, 2**32))
@settings(max_examples=200, deadline=None)
def test_corrupt_flips_exactly_one_bit(payload: bytes, seed: int) -> None:
    scheduler = ManualScheduler()
    wire = Wire(scheduler)
    impair: Impairer[str] = Impairer(ImpairSettings(corrupt=1.0, seed=seed), wire, scheduler=scheduler)
    ((data, fate),) = impair.submit(payload, "peer")
    difference = int.from_bytes(bytes(a ^ b for a, b in zip(payload, data, strict=True)), "big")
    assert difference.bit_count() == 1
    byte, bit = fate.corrupt_place
    assert data[byte] ^ payload[byte] == 1 << bit
    assert flip_bit(data, fate.corrupt_bit) == payload
    assert fate.text() == f"corrupted: byte {byte} bit {bit}"


def test_corrupt_leaves_an_empty_datagram_alone() -> None:
    impair, _, _ = impairer(corrupt=1.0)
    assert impair.submit(b"", "peer") == [(b"", Fate(0))]


def test_rate_paces_the_link_and_drops_what_overflows_its_queue() -> None:
    impair, wire, scheduler = impairer(rate=80_000)  # 10,000 bytes a second
    size = 1000  # 0.1 s each on the link
    fates = [impair.submit(bytes(size), "peer")[0][1] for _ in range(100)]
    fits = RATE_QUEUE_BYTES // size
    assert [fate.delay for fate in fates[:3]] == pytest.approx([0.1, 0.2, 0.3])
    assert all(not fate.lost for fate in fates[:fits])
    assert all(fate.lost == "rate" for fate in fates[fits:])
    assert fates[-1].text() == "✗ dropped by --rate (queue full)"
    assert impair.counts.overflowed == 100 - fits
    scheduler.advance(fits * 0.1 + 0.01)
    assert len(wire.released) == fits
    # the link has emptied: the next one waits only for itself
    assert impair.submit(bytes(size), "peer")[0][1].delay == pytest.approx(0.1)


def test_held_back_datagrams_are_bounded() -> None:
    impair, _, _ = impairer(delay=1.0)
    for _ in range(MAX_HELD):
        impair.submit(b"x", "peer")
    assert impair.held == MAX_HELD
    ((_, fate),) = impair.submit(b"x", "peer")
    assert fate.lost == "held"


def test_update_changes_the_next_datagram_only() -> None:
    impair, wire, scheduler = impairer(delay=0.2)
    impair.submit(b"first", "peer")
    impair.update(impair.settings.off())
    impair.submit(b"second", "peer")
    assert wire.payloads == [b"second"]
    scheduler.advance(0.3)
    assert wire.payloads == [b"second", b"first"]


def test_a_failed_inline_release_reaches_the_caller() -> None:
    scheduler = ManualScheduler()

    def fail(payload: bytes, destination: str, fate: Fate) -> None:
        raise OSError("no route")

    impair: Impairer[str] = Impairer(ImpairSettings(), fail, scheduler=scheduler)
    with pytest.raises(OSError, match="no route"):
        impair.submit(b"x", "peer")


def test_a_failed_later_release_goes_to_on_error() -> None:
    scheduler = ManualScheduler()
    errors: list[BaseException] = []

    def fail(payload: bytes, destination: str, fate: Fate) -> None:
        raise OSError("no route")

    impair: Impairer[str] = Impairer(
        ImpairSettings(delay=0.01), fail, scheduler=scheduler, on_error=errors.append
    )
    impair.submit(b"x", "peer")
    scheduler.advance(0.02)
    assert [str(error) for error in errors] == ["no route"]
    assert impair.held == 0


def test_close_releases_nothing_more() -> None:
    impair, wire, scheduler = impairer(delay=0.1)
    impair.submit(b"x", "peer")
    assert impair.close() == 1
    scheduler.advance(1)
    assert wire.released == []


def test_directions_draw_from_their_own_seeded_sources() -> None:
    settings_ = ImpairSettings(seed=9)
    assert settings_.rng("out").random() == random.Random(9).random()
    assert settings_.rng("in").random() == settings_.rng("in").random()
    assert settings_.rng("in").random() != settings_.rng("out").random()


# -- the scheduler thread --------------------------------------------------------------------


def test_scheduler_thread_runs_actions_in_time_order() -> None:
    scheduler = Scheduler()
    done: list[int] = []
    finished = threading.Event()
    now = scheduler.now()

    def last() -> None:
        done.append(3)
        finished.set()

    scheduler.call_at(now + 0.06, last)
    scheduler.call_at(now + 0.02, lambda: done.append(1))
    scheduler.call_at(now + 0.04, lambda: done.append(2))
    assert finished.wait(5)
    assert done == [1, 2, 3]
    scheduler.stop()


def test_scheduler_stop_wakes_the_thread_and_drops_what_waits() -> None:
    scheduler = Scheduler()
    done: list[int] = []
    scheduler.call_at(scheduler.now() + 3600, lambda: done.append(1))
    thread = scheduler._thread
    assert thread is not None and thread.is_alive()
    scheduler.stop()
    assert not thread.is_alive()
    assert len(scheduler) == 0 and done == []


def test_scheduler_goes_on_after_an_action_fails() -> None:
    errors: list[BaseException] = []
    scheduler = Scheduler(on_error=errors.append)
    finished = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    scheduler.call_at(scheduler.now(), fail)
    scheduler.call_at(scheduler.now() + 0.01, finished.set)
    assert finished.wait(5)
    assert [str(error) for error in errors] == ["boom"]
    scheduler.stop()


def test_delayed_release_on_the_real_scheduler() -> None:
    scheduler = Scheduler()
    arrived = threading.Event()
    times: list[float] = []

    def release(payload: bytes, destination: str, fate: Fate) -> None:
        times.append(time.monotonic())
        arrived.set()

    impair: Impairer[str] = Impairer(ImpairSettings(delay=0.05), release, scheduler=scheduler)
    start = time.monotonic()
    impair.submit(b"x", "peer")
    assert not arrived.is_set()
    assert arrived.wait(5)
    assert times[0] - start >= 0.05
    scheduler.stop()


# -- /impair parsing -------------------------------------------------------------------------


def test_impair_command_parses_settings_direction_and_off() -> None:
    from udptui.chat.command_base import CommandError
    from udptui.chat.impair_commands import ImpairArguments, parse_impair

    assert parse_impair("") == ImpairArguments()
    assert parse_impair("off") == ImpairArguments(off=True)
    assert parse_impair("in off") == ImpairArguments(off=True, direction="in")
    assert parse_impair("both loss 25% DELAY 200ms") == ImpairArguments(
        (("loss", "25%"), ("delay", "200ms")), direction="both"
    )
    # `up` and `down` parse; the handler refuses them outside relay mode (tests/test_relay.py).
    assert parse_impair("up") == ImpairArguments(direction="up")
    for bad, words in (("loss", "needs a value"), ("lag 5ms", "no impairment 'lag'")):
        with pytest.raises(CommandError, match=words):
            parse_impair(bad)


def test_a_failed_release_changes_no_later_fate() -> None:
    """Every copy's draws are taken before any copy is released: when the first copy's send
    fails, the duplicate still gets its draws (and goes), so the seed's sequence is the same
    as in a run where nothing failed."""

    def fates(fail_first: bool) -> tuple[list[list[Fate]], list[bytes]]:
        scheduler = ManualScheduler()
        wire = Wire(scheduler)
        failing = [fail_first]

        def release(payload: bytes, destination: str, fate: Fate) -> None:
            if failing[0]:
                failing[0] = False
                raise OSError("no route")
            wire(payload, destination, fate)

        settings = ImpairSettings(duplicate=1.0, corrupt=0.5, loss=0.2, seed=11)
        impairer: Impairer[str] = Impairer(settings, release, scheduler=scheduler)
        seen = []
        for index in range(20):
            try:
                seen.append([fate for _, fate in impairer.submit(b"datagram %d" % index, "peer")])
            except OSError:
                seen.append([])
        return seen, wire.payloads

    (failed, failed_wire), (plain, plain_wire) = fates(True), fates(False)
    assert failed[1:] == plain[1:]
    assert failed_wire == plain_wire[1:]  # only the failed copy is missing; its duplicate went


def test_jitter_is_at_most_the_delay() -> None:
    """Jitter varies the delay either way: over the delay, the delay would be cut at 0 for
    some datagrams and the status would read `delay 0ms±20ms`."""
    assert ImpairSettings(delay=0.02, jitter=0.02).checked().describe() == "delay 20ms±20ms"
    with pytest.raises(ImpairError, match="--jitter 20ms is more than --delay 0ms"):
        ImpairSettings(jitter=0.02).checked()


def test_a_received_datagram_leaves_the_rate_cap_at_its_link_slot() -> None:
    """A received datagram reaches the impairments a moment after it arrived (`at`): its link
    slot and its delay count from the same time, so it never leaves before the datagram
    ahead of it has crossed the link."""
    impair, wire, scheduler = impairer(rate=8000)  # 1,000 bytes a second: 100 bytes take 0.1 s
    start = scheduler.now()
    impair.submit(b"a" * 100, "peer")  # on the link until start + 0.1
    scheduler.advance(0.15)
    impair.submit(b"b" * 100, "peer", at=start + 0.05)  # arrived while `a` was on the link
    scheduler.advance(1)
    assert [round(when - start, 6) for when, *_ in wire.released] == [0.1, 0.2]
