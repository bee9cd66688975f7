"""Drives Oasis through the real python-saharaclient library and prints what it observed as JSON.

Usage: python saharaclient_flow.py <endpoint> <token> <scenario>
The endpoint is http://HOST:PORT/v1.1/PROJECT, as a service catalog would give it.
"""
import json
import sys
import time

from keystoneauth1 import session
from keystoneauth1.token_endpoint import Token
from saharaclient.api import base
from saharaclient.api.client import Client

LOCAL_CLUSTER = "00000000-0000-4000-8000-000000000001"


def client(endpoint, token):
    return Client(session=session.Session(auth=Token(endpoint, token)), sahara_url=endpoint)


def shell_template(sahara, name, script):
    jbi = sahara.job_binary_internals.create(name + ".sh", script)
    binary = sahara.job_binaries.create(name + ".sh", "internal-db://" + jbi.id, "", {})
    return sahara.jobs.create(name, "Shell", [binary.id], [], "")


def wait(sahara, execution_id, statuses, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        execution = sahara.job_executions.get(execution_id)
        if execution.info["status"] in statuses:
            return execution
        time.sleep(0.2)
    raise SystemExit("execution %s never reached %s" % (execution_id, statuses))


def failing(sahara):
    template = shell_template(sahara, "fails", "echo about to fail\nexit 3\n")
    execution = sahara.job_executions.create(template.id, LOCAL_CLUSTER, configs={"args": []})
    done = wait(sahara, execution.id, ["DONEWITHERROR", "FAILED", "SUCCEEDED"])
    return {"status": done.info["status"], "return_code": done.return_code}


def cancel(sahara):
    template = shell_template(sahara, "sleeps", "sleep 600\n")
    execution = sahara.job_executions.create(template.id, LOCAL_CLUSTER, configs={})
    running = wait(sahara, execution.id, ["RUNNING"])
    # saharaclient has no cancel call; it is a GET on the execution, sent through the same session.
    sahara.job_executions.api.get("/job-executions/%s/cancel" % execution.id)
    done = wait(sahara, execution.id, ["KILLED", "SUCCEEDED", "FAILED", "DONEWITHERROR"])
    return {"status": done.info["status"], "engine_job_id": running.engine_job_id, "id": execution.id}


def manage(sahara):
    template = shell_template(sahara, "quick", "echo quick\n")
    ids = [sahara.job_executions.create(template.id, LOCAL_CLUSTER, configs={}).id for _ in range(3)]
    for execution_id in ids:
        wait(sahara, execution_id, ["SUCCEEDED"])
    listed = [e.id for e in sahara.job_executions.list()]
    page = sahara.job_executions.list(limit=2)
    shown = sahara.job_executions.get(ids[0])
    updated = sahara.job_executions.update(ids[0], is_public=True)
    sahara.job_executions.delete(ids[1])
    deadline = time.time() + 30
    gone = None
    while time.time() < deadline and gone is None:
        try:
            sahara.job_executions.get(ids[1])
            time.sleep(0.2)
        except base.APIException as error:
            gone = {"code": error.error_code, "name": error.error_name}
    try:
        sahara.jobs.create("bad name!", "Shell", [], [], "")
        bad = None
    except base.APIException as error:
        bad = {"code": error.error_code, "name": error.error_name, "message": error.error_message}
    return {
        "ids": ids,
        "listed": listed,
        "page_size": len(page),
        "shown": {"id": shown.id, "status": shown.info["status"], "job_id": shown.job_id},
        "updated_public": updated.job_execution["is_public"] if hasattr(updated, "job_execution") else updated.is_public,
        "deleted": gone,
        "bad_template": bad,
    }


if __name__ == "__main__":
    endpoint, token, scenario = sys.argv[1:4]
    result = {"failing": failing, "cancel": cancel, "manage": manage}[scenario](client(endpoint, token))
    print(json.dumps(result))
