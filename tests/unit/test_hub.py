"""Publishing never waits on a subscriber: a slow one is cut off, the others go on."""

from __future__ import annotations

import asyncio

import pytest

from bridge.hub import Hub, HubClosed, SubscriberDropped


async def test_every_subscriber_gets_every_change_in_order() -> None:
    hub: Hub[int] = Hub(queue_size=10)
    async with hub.subscribe("a") as a, hub.subscribe("b") as b:
        for n in range(5):
            hub.publish(n)
        assert [await a.get(1) for _ in range(5)] == list(range(5))
        assert [await b.get(1) for _ in range(5)] == list(range(5))


async def test_a_subscriber_that_falls_behind_is_dropped_and_told_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub: Hub[int] = Hub(queue_size=3)
    async with hub.subscribe("slow-panel") as slow, hub.subscribe("quick") as quick:
        for n in range(3):
            hub.publish(n)
            assert await quick.get(1) == n
        hub.publish(3)  # slow's queue is full: it is dropped, quick still gets it
        assert await quick.get(1) == 3
        assert hub.subscriber_count == 1
        assert [await slow.get(1) for _ in range(3)] == [0, 1, 2]  # what it had is kept
        with pytest.raises(SubscriberDropped):
            await slow.get(1)
    assert "hub.subscriber_dropped name=slow-panel" in caplog.text


async def test_publishing_with_no_subscribers_is_harmless() -> None:
    hub: Hub[str] = Hub()
    hub.publish("nobody listens")
    async with hub.subscribe("late") as late:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(late.get(), 0.05)


async def test_a_closing_hub_ends_every_subscription_and_takes_no_new_one() -> None:
    hub: Hub[int] = Hub(queue_size=2)
    async with hub.subscribe("waiting") as waiting, hub.subscribe("full") as full:
        hub.publish(1)
        hub.publish(2)  # "full" has read nothing: its queue is full when the hub closes
        assert [await waiting.get(1) for _ in range(2)] == [1, 2]
        pending = asyncio.create_task(waiting.get())
        await asyncio.sleep(0)
        hub.close()
        with pytest.raises(HubClosed):
            await asyncio.wait_for(pending, 1)
        with pytest.raises(HubClosed):  # what it had not read is not worth reading now
            await full.get(1)
        with pytest.raises(HubClosed):  # and so on, every time it asks
            await waiting.get(1)
        hub.publish(3)  # harmless, heard by nobody
        assert hub.subscriber_count == 0
    with pytest.raises(HubClosed):
        async with hub.subscribe("late"):
            pass
