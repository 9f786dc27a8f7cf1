"""Keys, limits and credits across API nodes: two nodes on one PostgreSQL database and one Redis
(no workers: the jobs stay queued), so what one node decides, the other enforces at once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx

from testkit.cluster import cluster
from testkit.support import client

CREATE = "/api/rest/v2/generations"
BODY = {"model": "veo-3.1-lite", "parameters": {"prompt": "a fox", "duration": 4}}  # $0.20 each


def test_a_key_revoked_on_one_node_is_refused_on_every_node_at_once(tmp_path):
    with cluster(tmp_path) as c:
        nodes = [c.api(), c.api()]
        key = nodes[0].key("revoked-across-nodes")
        for node in nodes:
            with httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {key}"}) as http:
                assert http.get("/api/rest/v1/me").status_code == 200
        with nodes[1].accounts() as accounts:
            accounts.revoke(key)
        for node in nodes:
            with httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {key}"}) as http:
                resp = http.get("/api/rest/v1/me")
                assert resp.status_code == 401 and resp.json()["extensions"]["code"] == "unauthorized"


def test_a_create_limit_holds_across_nodes(tmp_path):
    """3 creates a minute for the key, whichever node they reach (the counts live in Redis)."""
    with cluster(tmp_path, create_rpm=3) as c:
        nodes = [c.api(), c.api()]
        answers = []
        for n in range(4):
            with client(nodes[n % 2], "limited-across-nodes") as http:
                answers.append(http.post(CREATE, json=BODY))
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
        with client(nodes[0], "another-key") as http:  # another key has its own window
            assert http.post(CREATE, json=BODY).status_code == 200


def test_concurrent_creates_on_two_nodes_never_overdraw(tmp_path):
    """20 creates at once, split over two nodes, against a balance that covers exactly 5."""
    with cluster(tmp_path) as c:
        nodes = [c.api(), c.api()]
        with nodes[0].accounts() as accounts:
            issued = accounts.issue("five-jobs", credits=Decimal("1.0000"))
        start = threading.Barrier(20)

        def create(n: int) -> int:
            with httpx.Client(
                base_url=nodes[n % 2].url, headers={"Authorization": f"Bearer {issued.key}"}, timeout=60
            ) as http:
                start.wait()
                return http.post(CREATE, json=BODY).status_code

        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(create, range(20)))
        assert sorted(statuses) == [200] * 5 + [402] * 15, statuses
        with nodes[1].accounts() as accounts:
            assert accounts.account(issued.account.id).balance_usd == Decimal("0")
            assert accounts.usage(issued.account.id)["jobs"]["queued"] == 5
