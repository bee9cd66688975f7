"""Drives Oasis through python-saharaclient's v1.1 and v2 clients, found through a real Keystone catalog.

Usage: python keystone_flow.py <auth url> <user> <password> <project>
Password authentication, no endpoint override: keystoneauth finds Oasis under the
`data-processing` service type and discovers the version. Prints what it observed as JSON.
"""
import json
import sys
import time

from keystoneauth1 import adapter, session
from keystoneauth1.identity import v3
from saharaclient.api import base
from saharaclient.api.client import Client, ClientV2

LOCAL_CLUSTER = "00000000-0000-4000-8000-000000000001"
TERMINAL = ["SUCCEEDED", "DONEWITHERROR", "FAILED", "KILLED"]


def wait(sahara, execution_id, statuses, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        execution = sahara.job_executions.get(execution_id)
        if execution.info["status"] in statuses:
            return execution
        time.sleep(0.2)
    raise SystemExit("execution %s never reached %s" % (execution_id, statuses))


def wait_v2(sahara, job_id, statuses, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        job = sahara.jobs.get(job_id)
        if job.info["status"] in statuses:
            return job
        time.sleep(0.2)
    raise SystemExit("job %s never reached %s" % (job_id, statuses))


def main(auth_url, user, password, project):
    auth = v3.Password(auth_url=auth_url, username=user, password=password, project_name=project,
                       user_domain_name="Default", project_domain_name="Default")
    keystone = session.Session(auth=auth)
    sahara = Client(session=keystone)
    endpoint = sahara.job_executions.api.get_endpoint()
    # What the v2 client would use: discovered from the versions document at Oasis's root.
    v2_endpoint = adapter.Adapter(session=keystone, service_type="data-processing", version="2").get_endpoint()

    jbi = sahara.job_binary_internals.create("sleeps.sh", "sleep 600\n")
    binary = sahara.job_binaries.create("sleeps.sh", "internal-db://" + jbi.id, "", {})
    template = sahara.jobs.create("sleeps", "Shell", [binary.id], [], "")
    execution = sahara.job_executions.create(template.id, LOCAL_CLUSTER, configs={})
    running = wait(sahara, execution.id, ["RUNNING"])
    listed = [e.id for e in sahara.job_executions.list()]
    shown = sahara.job_executions.get(execution.id)
    # saharaclient has no cancel call; it is a GET on the execution, sent through the same session.
    sahara.job_executions.api.get("/job-executions/%s/cancel" % execution.id)
    cancelled = wait(sahara, execution.id, TERMINAL)
    sahara.job_executions.delete(execution.id)
    gone = None
    end = time.time() + 30
    while time.time() < end and gone is None:
        try:
            sahara.job_executions.get(execution.id)
            time.sleep(0.2)
        except base.APIException as error:
            gone = {"code": error.error_code, "name": error.error_name}

    # The v2 client on the same session: Oasis found through the catalog and the versions document.
    sahara2 = ClientV2(session=keystone)
    job2 = sahara2.jobs.create(template.id, LOCAL_CLUSTER, configs={})
    running2 = wait_v2(sahara2, job2.id, ["RUNNING"])
    listed2 = [job.id for job in sahara2.jobs.list()]
    shown2 = sahara2.jobs.get(job2.id)
    # saharaclient's v2 has no cancel call: it is a PATCH of the job, sent through the same session.
    sahara2.jobs.api.patch("/jobs/%s" % job2.id, json={"info": {"status": "cancel"}})
    cancelled2 = wait_v2(sahara2, job2.id, TERMINAL)
    sahara2.jobs.delete(job2.id)
    gone2 = None
    end = time.time() + 30
    while time.time() < end and gone2 is None:
        try:
            sahara2.jobs.get(job2.id)
            time.sleep(0.2)
        except base.APIException as error:
            gone2 = {"code": error.error_code, "name": error.error_name}

    print(json.dumps({
        "v2": {
            "endpoint": sahara2.jobs.api.get_endpoint(),
            "id": job2.id,
            "project_id": shown2.project_id,
            "listed": listed2,
            "engine_job_id": running2.engine_job_id,
            "cancelled": cancelled2.info["status"],
            "deleted": gone2,
        },
        "endpoint": endpoint,
        "v2_endpoint": v2_endpoint,
        "id": execution.id,
        "tenant_id": shown.tenant_id,
        "listed": listed,
        "engine_job_id": running.engine_job_id,
        "cancelled": cancelled.info["status"],
        "deleted": gone,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:5])
