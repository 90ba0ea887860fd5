"""caveat.spark on a real Spark standalone cluster (a master and two workers on 127.0.0.1, started
and stopped here): the findings of per-record rules, group rules and `all.` statistics equal
`caveat check`'s, one by one.

Sizes: `CAVEAT_SPARK_PURCHASES` (default 1,000,000 generated purchase records) and
`CAVEAT_SPARK_RELEASES` (default 100,000 generated OCDS releases). The wall times of both runs
(Spark, and the CLI with `--jobs 2`) are written to `target/spark-timings.json`.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, List

import pytest

import caveat
import caveat.spark
from conftest import REPO, binary, cli_findings, from_cli, from_table, same_findings

US_POLICIES = ["policies/dod-uas.policy", "policies/telecom-889.policy", "policies/us-rules.policy"]
TIMINGS = REPO / "target" / "spark-timings.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Spark master exited: {log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the Spark master did not listen on {port}: {log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stops a process this test started, and its children (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def spark(tmp_path_factory) -> Iterator["pyspark.sql.SparkSession"]:
    if shutil.which("java") is None:
        pytest.fail("Java is missing: install a JDK 17 (Debian: apt-get install openjdk-17-jre-headless)")
    import pyspark
    from pyspark.sql import SparkSession

    home = Path(pyspark.__file__).parent
    work = tmp_path_factory.mktemp("spark")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work),
        "PYSPARK_PYTHON": sys.executable,
    }
    spark_class = str(home / "bin" / "spark-class")
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    started: List[subprocess.Popen] = []

    def launch(name: str, *args: str) -> subprocess.Popen:
        log = open(work / f"{name}.log", "wb")
        process = subprocess.Popen(
            [spark_class, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    try:
        master = launch("master", "org.apache.spark.deploy.master.Master",
                        "--host", "127.0.0.1", "--port", str(port), "--webui-port", "0")
        wait_for_port(port, master, work / "master.log")
        for i in range(2):
            launch(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", url,
                   "--host", "127.0.0.1", "--cores", "1", "--memory", "3g",
                   "--webui-port", "0", "--work-dir", str(work / f"worker-{i}"))
        os.environ["PYSPARK_PYTHON"] = sys.executable
        session = (
            SparkSession.builder.master(url)
            .appName("caveat-test")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.memory", "3g")
            .config("spark.executor.memory", "3g")
            .config("spark.executor.cores", "1")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.pyspark.python", sys.executable)
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        # Wait for both executors (the driver counts as one more).
        deadline = time.monotonic() + 120
        while session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() < 3:
            if time.monotonic() > deadline:
                pytest.fail("the two Spark workers did not register")
            time.sleep(0.5)
        yield session
        session.stop()
    finally:
        for process in reversed(started):
            stop(process)


def write_purchases(path: Path, count: int, seed: int) -> None:
    """Purchase records of examples/purchases.yaml's shape, as JSON Lines: Chinese drones and
    covered telecom for the per-record rules, small purchases by the same unit from the same
    vendor for split-purchase, sole-source buys just under the threshold."""
    rng = random.Random(seed)
    vendors = ["DJI", "Da-Jiang Innovations", "Autel Robotics", "Skydio", "Parrot", "Huawei",
               "Hikvision", "Staples", "Dell", "CDW Government", "Grainger", "Motorola"] + [
        f"Vendor {i}" for i in range(18)]
    branches = ["Army", "Navy", "Air Force", "Marines", "SOCOM"]
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            year = 2016 + rng.randrange(9)
            record = {
                "id": f"P-{i:07d}",
                "vendor": rng.choice(vendors),
                "product": rng.choice(["Mavic Pro", "Anafi", "X2D", "Camera", "Laptop"]),
                "date": f"{year}-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
                "quantity": 1 + rng.randrange(50),
                "amount": None,
                "buyer": {"branch": rng.choice(branches), "unit": f"Unit {rng.randrange(2000)}"},
            }
            kind = rng.random()
            if kind < 0.5:
                cents = 50_000 + rng.randrange(950_000)
            elif kind < 0.55:
                cents = 22_500_000 + rng.randrange(2_500_000)
                record["competition"] = "sole source"
            else:
                cents = 1_000_000 + rng.randrange(30_000_000)
            if rng.randrange(5) == 0:
                record["exemption"] = {
                    "kind": rng.choice(["urgent", "training", "research"]),
                    "expires": f"{year + rng.randrange(2)}-{1 + rng.randrange(12):02d}-28",
                    **({"approved_by": "OSD A&S"} if rng.randrange(10) else {}),
                }
            line = json.dumps(record)
            out.write(line.replace('"amount": null', f'"amount": {cents // 100}.{cents % 100:02d}'))
            out.write("\n")


def record_timing(name: str, **figures: float) -> None:
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    timings[name] = figures
    TIMINGS.parent.mkdir(exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=2) + "\n")


def compare_on_spark(spark, policies: List[str], data: Path, id_field: str, name: str,
                     records: int) -> None:
    start = time.monotonic()
    expected = cli_findings("--allow-outside", "--jobs", "2", "--id-field", id_field,
                            *policies, str(data))
    cli_seconds = time.monotonic() - start
    start = time.monotonic()
    # Amounts (two decimals) as exact decimals, as the CLI reads them.
    inferred = spark.read.json(str(data)).schema
    df = spark.read.json(str(data), schema=caveat.spark.decimal_schema(inferred, 18, 2))
    found = caveat.spark.check([REPO / p for p in policies], df, id_field=id_field).collect()
    spark_seconds = time.monotonic() - start
    record_timing(name, records=records, findings=len(expected), cli_jobs_2_seconds=cli_seconds,
                  spark_seconds=spark_seconds)
    assert expected, "the data gives findings"
    assert any(f.get("group") for f in expected), "the data gives group findings"
    same_findings(map(from_cli, expected), (from_table(r.asDict()) for r in found))


def test_purchases_on_the_cluster_give_the_cli_findings(spark, tmp_path: Path):
    count = int(os.environ.get("CAVEAT_SPARK_PURCHASES", "1000000"))
    data = tmp_path / "purchases.jsonl"
    write_purchases(data, count, seed=15)
    compare_on_spark(spark, US_POLICIES, data, "id", "purchases", count)


def test_ocds_releases_on_the_cluster_give_the_cli_findings(spark, tmp_path: Path):
    """The red-flag pack: group rules, and `all.` statistics in two stages (R025, R038)."""
    count = int(os.environ.get("CAVEAT_SPARK_RELEASES", "100000"))
    data = tmp_path / "releases.jsonl"
    with open(data, "wb") as out:
        subprocess.run([str(binary("caveat-bench")), "ocds", str(count), "15"], stdout=out,
                       check=True)
    policy = caveat.compile(REPO / "policies" / "red-flags")
    assert any(r.reads_all for r in policy.rules)
    compare_on_spark(spark, ["policies/red-flags"], data, "ocid", "ocds", count)


def test_a_policy_error_is_raised_on_the_driver(spark):
    df = spark.createDataFrame([("A", "DJI")], "id string, vendor string")
    with pytest.raises(caveat.PolicyError):
        caveat.spark.check("deny vendor in chinese_uass", df)


def test_a_column_of_an_unexpected_type_is_refused_on_the_driver(spark):
    # It failed the job on a worker, the diagnostic buried in Spark's traceback.
    df = spark.createDataFrame([("A", bytearray(b"x"))], "id string, scan binary")
    with pytest.raises(caveat.DataError, match="column `scan` has the Arrow type `Binary`"):
        caveat.spark.check("deny vendor DJI", df)
    # The executors survive it: the next job runs.
    ok = spark.createDataFrame([("A", "DJI")], "id string, vendor string")
    assert [r.record for r in caveat.spark.check("deny vendor DJI", ok).collect()] == ["A"]


def test_a_column_named_as_caveats_own_is_refused_not_dropped(spark):
    # `__caveat_row` was overwritten and `__caveat_rule` dropped before the group stage.
    for name in ["__caveat_row", "__CAVEAT_Rule"]:
        df = spark.createDataFrame([("A", "DJI", 1)], f"id string, vendor string, {name} int")
        with pytest.raises(caveat.DataError, match=f"a column `{name}`"):
            caveat.spark.check("deny vendor DJI", df)


def test_a_key_of_two_types_is_refused_not_grouped_apart(spark):
    """`caveat check` reports the record whose key has another type as an error finding; on a
    cluster, where the first record is not known until every record is, the run is refused."""
    df = spark.createDataFrame([("a", "DJI", 50), ("b", "X", 5)], "id string, vendor string, amount int")
    policy = "rule r {\n  note per (if amount > 10 then vendor else amount) as k\n  when count(group) >= 1\n}\n"
    with pytest.raises(caveat.DataError, match="the key `k` of rule `r` has values of several types"):
        caveat.spark.check(policy, df).collect()
    # One type: no refusal.
    same = spark.createDataFrame([("a", "DJI", 50), ("b", "X", 50)], "id string, vendor string, amount int")
    assert len(caveat.spark.check(policy, same).collect()) == 2
