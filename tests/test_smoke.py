def test_login_and_list(system):
    reply = system.call("/v2/clusters", "getAllClusterInfo")
    assert reply["request_status"] == "Ok"
    assert reply["total"] == len(reply["clusters"]) >= 6
