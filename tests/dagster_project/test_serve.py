"""`crmw ui` runs Dagster for real: the webserver and the daemon (crmw.orchestrate.start_dagster,
what `crmw ui` calls), on 127.0.0.1, with the schedules and the landing sensor on. One server for
the module: exports dropped into the landing folder are ingested by the sensor's runs, and a
backfill launched from the GraphQL API (what the UI calls) runs to the end."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import duckdb
import pytest

from crmw.orchestrate import start_dagster, stop_dagster, wait_until_listening
from tests.dagster_project.test_definitions import invoice_file
from warehouse.settings import Settings

pytestmark = pytest.mark.slow

LOCATION = "dagster_project.definitions"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dagster:
    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings

    def query(self, text: str, **variables) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": text, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def runs(self, job: str) -> list[dict]:
        data = self.query(
            """query Runs($job: String!) { runsOrError(filter: {pipelineName: $job}) {
                 ... on Runs { results { runId status tags { key value } } } } }""",
            job=job,
        )
        return data["runsOrError"]["results"]


@pytest.fixture(scope="module")
def dagster(tmp_path_factory):
    home = tmp_path_factory.mktemp("served")
    settings = Settings(home=home).ensure()
    port = free_port()
    process = start_dagster(settings, port=port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(url, process, timeout=240)
        yield Dagster(url, settings)
    finally:
        stop_dagster(process)
        log = settings.logs_dir / "dagster.log"
        print(log.read_text()[-3000:] if log.exists() else "no dagster log")  # pytest shows it on failure


def wait_for(what, check, timeout: float = 300, every: float = 3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s")


def test_it_listens_on_loopback_only_with_the_schedules_and_the_landing_sensor_on(dagster):
    assert dagster.url.startswith("http://127.0.0.1:")
    data = dagster.query(
        """query States($location: String!) {
             schedulesOrError(repositorySelector: {repositoryLocationName: $location, repositoryName: "__repository__"}) {
               ... on Schedules { results { name scheduleState { status } } } }
             sensorsOrError(repositorySelector: {repositoryLocationName: $location, repositoryName: "__repository__"}) {
               ... on Sensors { results { name sensorState { status } } } } }""",
        location=LOCATION,
    )
    schedules = {s["name"]: s["scheduleState"]["status"] for s in data["schedulesOrError"]["results"]}
    sensors = {s["name"]: s["sensorState"]["status"] for s in data["sensorsOrError"]["results"]}
    assert set(schedules.values()) == {"RUNNING"} and "daily_refresh" in schedules
    assert sensors == {"landing_sensor": "RUNNING"}


def test_an_export_dropped_into_landing_is_ingested_by_the_sensors_run_and_a_backfill_from_the_api_finishes(
    dagster,
):
    landing = dagster.settings.landing_dir
    invoice_file(landing, "2024-01")
    invoice_file(landing, "2024-02")

    sensor_runs = wait_for("the landing sensor's run", lambda: dagster.runs("ingest_events"), timeout=240)
    tags = {t["key"]: t["value"] for t in sensor_runs[0]["tags"]}
    assert tags.get("dagster/sensor_name") == "landing_sensor"
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "2024-01",
        "2024-02",
    )

    # a backfill of both months from the API, while the sensor's runs may still be going
    launched = dagster.query(
        """mutation Launch($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
             __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        params={
            "assetSelection": [{"path": ["raw", "invoices"]}],
            "partitionNames": ["2024-01", "2024-02"],
            "title": "test backfill",
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    def backfill_done():
        backfill = dagster.query(
            """query Backfill($id: String!) { partitionBackfillOrError(backfillId: $id) {
                 ... on PartitionBackfill { status runs(limit: 10) { runId status } } } }""",
            id=launched["backfillId"],
        )["partitionBackfillOrError"]
        return backfill if backfill["status"] in BACKFILL_DONE else None

    def sensor_run_done():
        runs = {r["runId"]: r for r in dagster.runs("ingest_events")}
        run = runs[sensor_runs[0]["runId"]]
        return run if run["status"] in DONE else None

    sensor_run = wait_for("the sensor's run to finish", sensor_run_done)
    backfill = wait_for("the backfill to finish", backfill_done, timeout=360)

    assert sensor_run["status"] == "SUCCESS"
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    assert backfill["runs"] and all(r["status"] == "SUCCESS" for r in backfill["runs"])
    assert len(backfill["runs"]) == 1  # single-run backfill policy: both months in one run
    con = duckdb.connect(str(dagster.settings.warehouse_path), read_only=True)
    try:
        months = con.execute(
            "select strftime(invoice_date, '%Y-%m') as month, count(*) from raw.invoices group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()
    assert months == [("2024-01", 3), ("2024-02", 3)]  # loaded by the sensor, reloaded by the backfill
