"""/v2/imperative scripts and /v2/spreadsheets."""

from __future__ import annotations

from cdtutil import capture, compare, replay

IMP = "/v2/imperative"
SHEETS = "/v2/spreadsheets"


def test_execute_external_script_replays_the_capture(system, contract):
    req, rep = capture(contract, "Ok-executeExternalScript")
    ours = replay(system, "/v2/imperative/", req)
    compare(ours, rep)
    assert ours["results"] == rep["results"]          # the same program, the same output


def test_scripts_are_saved_listed_run_and_removed(system):
    source = ("function twice(x) { return 2 * x; }\n"
              "function main() {\n"
              "    for (i = 1; i <= 3; i++) print(\"line \", twice(i));\n"
              "    exit(twice(21));\n"
              "}\n")
    assert system.call(IMP, "saveScript", filename="./tools/twice.js",
                       content=source)["request_status"] == "Ok"
    system.call(IMP, "saveScript", filename="/hello.js", content='print("hi");')
    tree = system.call(IMP, "dirTree")["data"]
    assert tree["type"] == "folder"
    names = {c["name"]: c for c in tree["contents"]}
    assert names["hello.js"]["type"] == "file"
    assert [c["name"] for c in names["tools"]["contents"]] == ["twice.js"]
    run = system.call(IMP, "executeScript", filename="/tools/twice.js", cluster_id=1)["results"]
    assert run["status"] == "Ended" and run["exitStatus"] == 42
    assert [(m["lineNumber"], m["message"]) for m in run["messages"]] == [
        (3, "line 2"), (3, "line 4"), (3, "line 6")]
    assert system.call(IMP, "removeScript", filename="tools/twice.js")["request_status"] == "Ok"
    assert system.call(IMP, "executeScript", filename="/tools/twice.js")[
        "request_status"] == "ObjectNotFound"
    assert system.call(IMP, "removeScript", filename="/nope.js")["request_status"] == "ObjectNotFound"
    assert system.call(IMP, "saveScript", filename="../etc/passwd",
                       content="x")["request_status"] == "InvalidRequest"


def test_script_errors_are_results_not_tracebacks(system):
    bad = system.call(IMP, "executeExternalScript", filename="bad.js",
                      content="function main() {\n  x = 1 +;\n}\n")
    assert bad["request_status"] == "Ok"
    results = bad["results"]
    assert results["status"] == "Failed" and results["exitStatus"] is False
    assert results["messages"][-1]["lineNumber"] == 2
    assert results["messages"][-1]["severity"] == "ERROR"
    endless = system.call(IMP, "executeExternalScript", filename="loop.js",
                          content="while (true) { }")["results"]
    assert endless["status"] == "Failed"


def test_script_permissions(reader, system):
    assert reader.call(IMP, "executeExternalScript", cluster_id=1, filename="a.js",
                       content='print("x");')["request_status"] == "AccessDenied"
    assert reader.call(IMP, "saveScript", filename="a.js", content="x")[
        "request_status"] == "AccessDenied"
    assert reader.call(IMP, "dirTree")["request_status"] == "Ok"


def test_spreadsheet_cells_and_formulas(system):
    created = system.call(SHEETS, "createSpreadsheet", spreadsheet_name="budget",
                          format="csv", content="10,20\n30,40")
    assert created["request_status"] == "Ok"
    cell = system.call(SHEETS, "setCell", spreadsheet_name="budget", sheetIndex=0,
                       columnIndex=2, rowIndex=0, contentString="=SUM(A1:B2) / 4")["cell"]
    assert cell["value"] == 25.0 and cell["valuetype"] == "Double"
    system.call(SHEETS, "setCell", spreadsheet_name="budget", sheetIndex=0, columnIndex=0,
                rowIndex=0, contentString="110")
    sheet = system.call(SHEETS, "getSpreadsheet", spreadsheet_name="budget")["spreadsheet"]
    cells = {(c["columnIndex"], c["rowIndex"]): c for c in sheet["cells"]}
    assert cells[(2, 0)]["value"] == 50.0                 # recomputed from the new A1
    assert cells[(1, 1)]["contentString"] == "40"
    text = system.call(SHEETS, "setCell", spreadsheet_name="budget", sheetIndex=0,
                       columnIndex=3, rowIndex=0, contentString="total")["cell"]
    assert text["value"] == "total" and text["valuetype"] == "String"
    loop = system.call(SHEETS, "setCell", spreadsheet_name="budget", sheetIndex=0,
                       columnIndex=4, rowIndex=0, contentString="=E1+1")["cell"]
    assert loop["valuetype"] == "Invalid"
    cleared = system.call(SHEETS, "setCell", spreadsheet_name="budget", sheetIndex=0,
                          columnIndex=4, rowIndex=0, contentString="")
    assert cleared["request_status"] == "Ok"
    names = system.call(SHEETS, "getSpreadsheetNames")
    assert [s["name"] for s in names["spreadsheets"]] == ["budget"]
    assert type(names["spreadsheets"][0]["id"]) is int


def test_spreadsheet_errors_and_scope(system, reader):
    assert system.call(SHEETS, "getSpreadsheet", spreadsheet_name="none")[
        "request_status"] == "ObjectNotFound"
    system.call(SHEETS, "createSpreadsheet", spreadsheet_name="s", cluster_id=1)
    assert system.call(SHEETS, "createSpreadsheet", spreadsheet_name="s", cluster_id=1)[
        "request_status"] == "InvalidRequest"
    assert system.call(SHEETS, "getSpreadsheetNames")["total"] == 0     # cluster 0 has none
    assert system.call(SHEETS, "getSpreadsheetNames", cluster_id=1)["total"] == 1
    assert system.call(SHEETS, "setCell", spreadsheet_name="s", cluster_id=1, sheetIndex=0,
                       columnIndex=-1, rowIndex=0, contentString="1")[
        "request_status"] == "InvalidRequest"
    assert reader.call(SHEETS, "setCell", spreadsheet_name="s", cluster_id=1, sheetIndex=0,
                       columnIndex=0, rowIndex=0, contentString="1")[
        "request_status"] == "AccessDenied"
    assert reader.call(SHEETS, "getSpreadsheet", spreadsheet_name="s", cluster_id=1)[
        "request_status"] == "Ok"
