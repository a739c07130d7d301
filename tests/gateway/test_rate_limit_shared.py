"""Two gateway processes counting in one real Redis draw on one rate-limit budget."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from gateway.ratelimit import LOGIN_BUDGET
from tests.gateway.processes import Spec, deployment_with_test_keys, running

# A Redis database of its own: the budgets this test spends must not refuse other tests' sign-ins.
REDIS_DB = 9


@pytest.fixture
def shared_redis(redis_url: str) -> Iterator[str]:
    url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    with Redis.from_url(url) as redis:
        redis.flushdb()
        yield url
        redis.flushdb()


def test_two_gateways_enforce_one_login_budget_between_them(
    tmp_path: Path, database_url: str, shared_redis: str
) -> None:
    budget = int(LOGIN_BUDGET.split(";")[0].split("/")[0])  # sign-in attempts per minute from one IP address
    deployment = deployment_with_test_keys(tmp_path, database_url)
    env = {"OBANK_REDIS_URL": shared_redis}
    # One after the other: each seeds the demo bank at start-up.
    with (
        running(deployment, Spec("first", "all", env)) as (first,),
        running(deployment, Spec("second", "all", env)) as (second,),
    ):
        verify = ssl.create_default_context(cafile=deployment.ca_file)
        gateways = [httpx.Client(base_url=g.url, verify=verify, timeout=10.0) for g in (first, second)]
        try:
            # Half the budget through each gateway: each alone would still have half of its own left.
            spent = [gateways[i % 2].post("/login", data={"username": "nobody"}) for i in range(budget)]
            after = [gateway.post("/login", data={"username": "nobody"}) for gateway in gateways]
        finally:
            for gateway in gateways:
                gateway.close()

    assert [response.status_code for response in spent if response.status_code == 429] == []
    for response in after:
        assert response.status_code == 429, response.text
        assert int(response.headers["retry-after"]) >= 1
