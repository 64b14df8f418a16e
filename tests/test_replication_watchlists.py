"""/v2/logical_replication (PostgreSQL publications, subscriptions) and /v2/watchlists."""

from __future__ import annotations

LR = "/v2/logical_replication"
WL = "/v2/watchlists"


def pubs(client, cluster_id=3):
    return client.call(LR, "getPublications", cluster_id=cluster_id)


def test_publications_lifecycle(system, reader):
    created = system.call(LR, "createPublication", cluster_id=3, db_name="shop", pub_name="orders_pub",
                          include_all_tables=False, db_tables=["orders", "sales.items"])
    assert created["request_status"] == "Ok"
    reply = reader.call(LR, "getPublications", cluster_id=3)
    assert reply["total"] == 1
    pub = reply["publications"][0]
    assert (pub["publication_name"], pub["database"], pub["all_tables"]) == ("orders_pub", "shop", False)
    assert pub["tables"] == ["public.orders", "sales.items"]
    dup = system.call(LR, "createPublication", cluster_id=3, db_name="shop", pub_name="orders_pub",
                      include_all_tables=True)
    assert dup["request_status"] == "InvalidRequest"
    mod = system.call(LR, "modifyPublication", cluster_id=3, db_name="shop", pub_name="orders_pub",
                      new_pub_name="all_pub", include_all_tables=True)
    assert mod["request_status"] == "Ok"
    pub = pubs(system)["publications"][0]
    assert (pub["publication_name"], pub["all_tables"], pub["tables"]) == ("all_pub", True, [])
    assert system.call(LR, "dropPublication", cluster_id=3, db_name="shop",
                       pub_name="all_pub")["request_status"] == "Ok"
    assert pubs(system)["total"] == 0
    assert system.call(LR, "dropPublication", cluster_id=3, db_name="shop",
                       pub_name="all_pub")["request_status"] == "ObjectNotFound"


def test_subscriptions_follow_publications(system):
    system.call(LR, "createPublication", cluster_id=3, pub_name="p1", include_all_tables=True)
    missing = system.call(LR, "createSubscription", cluster_id=3, sub_name="s1", pub_name="nope")
    assert missing["request_status"] == "ObjectNotFound"
    ok = system.call(LR, "createSubscription", cluster_id=3, sub_name="s1", pub_name="p1",
                     pub_origin=3, copy_data=False)
    assert ok["request_status"] == "Ok"
    sub = system.call(LR, "getSubscriptions", cluster_id=3)["subscriptions"][0]
    assert (sub["subscription_name"], sub["publication_name"], sub["enabled"]) == ("s1", "p1", True)
    assert sub["copy_data"] is False and type(sub["origin_cluster_id"]) is int
    system.call(LR, "modifyPublication", cluster_id=3, pub_name="p1", new_pub_name="p2")
    assert system.call(LR, "getSubscriptions", cluster_id=3)["subscriptions"][0][
        "publication_name"] == "p2"
    system.call(LR, "createPublication", cluster_id=3, pub_name="p3", include_all_tables=True)
    bad = system.call(LR, "modifySubscription", cluster_id=3, sub_name="s1", pub_name="p3",
                      enabled="maybe")
    assert bad["request_status"] == "InvalidRequest"
    assert system.call(LR, "getSubscriptions", cluster_id=3)["subscriptions"][0][
        "publication_name"] == "p2"                       # nothing changed
    system.call(LR, "modifySubscription", cluster_id=3, sub_name="s1", new_sub_name="s2",
                enabled=False)
    sub = system.call(LR, "getSubscriptions", cluster_id=3)["subscriptions"][0]
    assert (sub["subscription_name"], sub["enabled"]) == ("s2", False)
    assert system.call(LR, "dropSubscription", cluster_id=3, sub_name="s2")["request_status"] == "Ok"
    assert system.call(LR, "getSubscriptions", cluster_id=3)["total"] == 0


def test_replication_rules(system, reader):
    assert pubs(system, 1)["request_status"] == "InvalidRequest"          # Galera, not PostgreSQL
    assert reader.call(LR, "createPublication", cluster_id=3, pub_name="p",
                       include_all_tables=True)["request_status"] == "AccessDenied"
    assert system.call(LR, "createPublication", cluster_id=3, pub_name="bad name",
                       include_all_tables=True)["request_status"] == "InvalidRequest"
    assert system.call(LR, "createPublication", cluster_id=3,
                       pub_name="p")["request_status"] == "InvalidRequest"   # no tables
    assert pubs(system, 99)["error_string"] == "Cluster was not found."


def test_watchlists(system, reader, cmon):
    created = reader.call(WL, "createWatchlist", comment="mine",
                          watchlist={"watchlist_name": "prod", "clusters": [1, 21],
                                     "topics": ["load", "replication"], "grid": "2x2"})
    assert created["request_status"] == "Ok"
    wid = created["watchlist"]["watchlist_id"]
    assert type(wid) is int
    listed = reader.call(WL, "listWatchlists")
    assert listed["total"] == 1
    item = listed["watchlists"][0]
    assert item["clusters"] == [1, 21] and item["owner_id"] == 5 and item["topics"][0] == "load"
    again = reader.call(WL, "createWatchlist", watchlist={"watchlist_name": " prod "})
    assert (again["request_status"], again["error_string"]) == (
        "InvalidRequest", "You already have a watchlist named 'prod'.")
    other = reader.call(WL, "createWatchlist", watchlist={"watchlist_name": "other"})["watchlist"]
    clash = reader.call(WL, "updateWatchlist", watchlist={
        "watchlist_id": other["watchlist_id"], "watchlist_name": "prod"})
    assert clash["request_status"] == "InvalidRequest"
    assert reader.call(WL, "deleteWatchlist",
                       watchlist_id=other["watchlist_id"])["request_status"] == "Ok"
    dba = cmon.client()
    dba.login("dba", "dba-pass")
    assert dba.call(WL, "listWatchlists")["total"] == 0                  # not dba's
    assert system.call(WL, "listWatchlists", watchlist_name="prod")["total"] == 1
    denied = dba.call(WL, "createWatchlist", watchlist={"watchlist_name": "x", "clusters": [1]})
    assert denied["request_status"] == "AccessDenied"
    upd = reader.call(WL, "updateWatchlist", watchlist={"watchlist_id": wid, "clusters": [2]})
    assert upd["watchlist"]["clusters"] == [2] and upd["watchlist"]["topics"] == ["load", "replication"]
    assert dba.call(WL, "deleteWatchlist", watchlist_id=wid)["request_status"] == "ObjectNotFound"
    assert reader.call(WL, "deleteWatchlist", watchlist_id=wid)["request_status"] == "Ok"
    assert reader.call(WL, "listWatchlists")["total"] == 0
    assert reader.call(WL, "createWatchlist", watchlist={"clusters": [1]})[
        "request_status"] == "InvalidRequest"
