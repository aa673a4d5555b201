"""Ray-free parts of the serving layer: model discovery over a fake Serve status
(serve_app.discovery), and a model replica's CPU niceness (serve_app.deployments.model_host)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from core.plugins import PluginInfo
from core.stores.known_models import KnownModels
from serve_app.discovery import ModelDirectory, ModelUnavailable
from tests.conftest import REPO as TESTS_REPO

# --- ModelDirectory over a fake Serve ------------------------------------------------


@dataclass
class FakeDeployment:
    replica_states: dict[str, int]


@dataclass
class FakeApp:
    status: str
    deployments: dict[str, FakeDeployment] = field(default_factory=dict)


@dataclass
class FakeStatus:
    applications: dict[str, FakeApp]


class FakeCall:
    def __init__(self, value):
        self.value = value

    def remote(self):
        async def answer():
            return self.value

        return answer()


class FakeHandle:
    def __init__(self, infos, multiplexed_model_id=""):
        self.info = FakeCall(infos)
        self.multiplexed_model_id = multiplexed_model_id

    def options(self, multiplexed_model_id=""):
        return FakeHandle(self.info.value, multiplexed_model_id)


def info(name: str, kind: str = "audio") -> PluginInfo:
    return PluginInfo(name=name, languages=["en"], description="d", kind=kind)


def running(replicas: int = 1, status: str = "RUNNING") -> FakeApp:
    return FakeApp(status, {"ModelHost": FakeDeployment({"RUNNING": replicas})})


def directory(state: dict, infos: dict) -> ModelDirectory:
    return ModelDirectory(
        ttl_s=0,
        own_app="api",
        status=lambda: FakeStatus(state["apps"]),
        get_handle=lambda deployment, app: FakeHandle(infos[app]),
    )


def test_directory_lists_models_and_variants_and_routes_variants():
    state = {"apps": {"api": FakeApp("RUNNING"), "asr": running(), "ocr": running()}}
    found = directory(state, {"asr": [info("whisper"), info("whisper_big")],
                              "ocr": [info("tess", "image")]})
    names = asyncio.run(found.models())
    assert set(names) == {"whisper", "whisper_big", "tess"}
    model, handle = asyncio.run(found.find("whisper_big"))
    assert (model.app_name, model.model_id, handle.multiplexed_model_id) == (
        "asr", "whisper_big", "whisper_big")
    model, handle = asyncio.run(found.find("whisper"))
    assert model.model_id == "" and handle.multiplexed_model_id == ""
    assert asyncio.run(found.find("nope")) is None


def test_a_model_mid_rollout_keeps_its_name_and_a_removed_one_loses_it():
    state = {"apps": {"api": FakeApp("RUNNING"), "asr": running()}}
    found = directory(state, {"asr": [info("whisper")]})
    assert set(asyncio.run(found.models())) == {"whisper"}
    # Its only replica is being replaced; then Serve rebuilds the app (no deployments).
    state["apps"]["asr"] = running(replicas=0, status="DEPLOYING")
    assert set(asyncio.run(found.models())) == {"whisper"}
    state["apps"]["asr"] = FakeApp("DEPLOYING")
    assert set(asyncio.run(found.models())) == {"whisper"}
    del state["apps"]["asr"]
    assert asyncio.run(found.models()) == {}


def test_a_new_model_is_listed_only_once_a_replica_runs():
    state = {"apps": {"api": FakeApp("RUNNING"), "asr": running(replicas=0, status="DEPLOYING")}}
    found = directory(state, {"asr": [info("whisper")]})
    assert asyncio.run(found.models()) == {}
    state["apps"]["asr"] = running()
    assert set(asyncio.run(found.models())) == {"whisper"}


def test_find_waits_for_a_model_whose_only_replica_is_restarting():
    state = {"apps": {"api": FakeApp("RUNNING"), "asr": running()}}
    found = directory(state, {"asr": [info("whisper")]})
    assert asyncio.run(found.find("whisper"))[0].app_name == "asr"
    state["apps"]["asr"] = running(replicas=0, status="DEPLOYING")  # its replica was killed
    looks = []

    def status():
        looks.append(1)
        if len(looks) == 3:  # back on the third look
            state["apps"]["asr"] = running()
        return FakeStatus(state["apps"])

    found._status = status
    model, _ = asyncio.run(found.find("whisper", wait_s=30))
    assert model.app_name == "asr" and len(looks) == 3


def test_find_gives_up_on_a_model_that_does_not_come_back():
    state = {"apps": {"api": FakeApp("RUNNING"), "asr": running()}}
    found = directory(state, {"asr": [info("whisper")]})
    asyncio.run(found.models())
    state["apps"]["asr"] = running(replicas=0, status="UNHEALTHY")
    with pytest.raises(ModelUnavailable, match="no running replica of application 'asr' after 1 s"):
        asyncio.run(found.find("whisper", wait_s=1))
    # A name no deployed application serves is no wait at all.
    state["apps"]["asr"] = running()
    assert asyncio.run(found.find("nope", wait_s=30)) is None


def test_an_unknown_name_is_waited_for_only_while_an_app_cannot_say_what_it_serves():
    state = {"apps": {"api": FakeApp("RUNNING"), "asr": running(0, "DEPLOYING"),
                      "other": FakeApp("RUNNING")}}  # "other" runs and is no model app
    found = directory(state, {"asr": [info("whisper")]})
    with pytest.raises(ModelUnavailable, match="asr, which may serve 'whisper'"):
        asyncio.run(found.find("whisper", wait_s=0))
    state["apps"]["asr"] = running()
    assert asyncio.run(found.find("whisper", wait_s=0))[0].app_name == "asr"
    assert asyncio.run(found.find("nope", wait_s=0)) is None


def test_a_new_replica_knows_the_models_of_a_restarting_app_from_redis(connect, prefix):
    """A lost node takes the pipeline and the model replica together: the new pipeline
    must still know that the restarting application serves the model."""

    async def scenario():
        async with connect() as redis:
            state = {"apps": {"api": FakeApp("RUNNING"), "asr": running()}}
            infos = {"asr": [info("whisper"), info("whisper_big")]}
            old = directory(state, infos)
            old._known = KnownModels(redis, prefix)
            assert set(await old.models()) == {"whisper", "whisper_big"}

            state["apps"]["asr"] = running(replicas=0, status="DEPLOYING")
            fresh = directory(state, infos)
            fresh._known = KnownModels(redis, prefix)
            assert set(await fresh.models()) == {"whisper", "whisper_big"}
            assert (await fresh.models())["whisper_big"].model_id == "whisper_big"
            with pytest.raises(ModelUnavailable, match="'asr'"):
                await fresh.find("whisper", wait_s=0)
            # Without the record, the same replica would have called it missing.
            forgetful = directory(state, infos)
            assert await forgetful.models() == {}

            state["apps"]["asr"] = running()
            assert (await fresh.find("whisper", wait_s=5))[0].app_name == "asr"

            # An application removed from the config is forgotten in Redis too.
            del state["apps"]["asr"]
            assert await old.refresh() == {}
            assert await KnownModels(redis, prefix).load() == {}

    asyncio.run(scenario())


def test_known_models_survive_bad_records_and_a_redis_outage(connect, prefix):
    async def scenario():
        async with connect() as redis:
            known = KnownModels(redis, prefix)
            await known.save("asr", [info("whisper")])
            await redis.hset(known.key, "broken", "not json")
            assert await known.load() == {"asr": [info("whisper")]}
        down = KnownModels(Redis.from_url("redis://127.0.0.1:1/0"), prefix)
        assert await down.load() == {}
        await down.save("asr", [info("whisper")])  # logged, not raised
        await down.forget(["asr"])

    asyncio.run(scenario())


def test_duplicate_names_go_to_the_first_application():
    state = {"apps": {"a": running(), "b": running()}}
    found = directory(state, {"a": [info("whisper")], "b": [info("whisper")]})
    assert asyncio.run(found.models())["whisper"].app_name == "a"


@pytest.mark.parametrize(
    ("apps", "ready"),
    [
        ({"api": FakeApp("RUNNING"), "asr": running()}, True),
        ({"api": FakeApp("RUNNING"), "asr": running(0, "DEPLOYING")}, False),
        ({"api": FakeApp("RUNNING"), "asr": running(), "new": FakeApp("DEPLOYING")}, False),
        ({"api": FakeApp("RUNNING"), "asr": running(), "bad": FakeApp("DEPLOY_FAILED")}, False),
        ({"api": FakeApp("RUNNING")}, False),  # no model at all
        ({"api": FakeApp("RUNNING"), "asr": running(2, "DEPLOYING")}, True),  # rolling, serving
    ],
    ids=["up", "loading", "building", "failed", "no-models", "rolling"],
)
def test_readiness(apps, ready):
    found = directory({"apps": apps}, {})
    state = asyncio.run(found.readiness())
    assert state.ready is ready
    assert set(state.applications) == set(apps)


# --- ModelHost niceness --------------------------------------------------------------


def test_lower_priority_reaches_every_thread_and_later_ones():
    """Run in a child process: niceness cannot be lowered again once raised."""
    code = """
import os, threading
from serve_app.deployments.model_host import lower_priority
ready, stop = threading.Event(), threading.Event()
def early():
    ready.set(); stop.wait()
threading.Thread(target=early, daemon=True).start(); ready.wait()
target = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 3)  # the test may already run niced
lower_priority(target)
later = []
thread = threading.Thread(target=lambda: later.append(os.getpriority(os.PRIO_PROCESS, 0)))
thread.start(); thread.join()
values = []
for t in os.listdir("/proc/self/task"):
    try:
        values.append(os.getpriority(os.PRIO_PROCESS, int(t)))
    except ProcessLookupError:  # a joined thread can still be listed for a moment
        pass
stop.set()
print(sorted(set(values)) == [target], later == [target])
"""
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=TESTS_REPO, capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "True True"
