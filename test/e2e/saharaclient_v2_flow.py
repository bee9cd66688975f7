"""Drives Oasis through python-saharaclient's v2 client and prints what it observed as JSON.

Usage: python saharaclient_v2_flow.py <base url> <project> <token>
The v2 client talks to <base url>/v2, without a project in the path: the token names it, as a
service catalog's v2 endpoint would. v2 has no job-binary-internals, so the script is uploaded
through the v1.1 client, and everything after that goes through v2.
"""
import json
import sys
import time

from keystoneauth1 import session
from keystoneauth1.token_endpoint import Token
from saharaclient.api import base
from saharaclient.api.client import Client, ClientV2

LOCAL_CLUSTER = "00000000-0000-4000-8000-000000000001"
TERMINAL = ["SUCCEEDED", "FAILED", "KILLED", "DONEWITHERROR"]


def clients(base_url, project, token):
    v1 = base_url + "/v1.1/" + project
    v2 = base_url + "/v2"
    return (
        Client(session=session.Session(auth=Token(v1, token)), sahara_url=v1),
        ClientV2(session=session.Session(auth=Token(v2, token)), sahara_url=v2),
    )


def shell_template(v1, v2, name, script):
    jbi = v1.job_binary_internals.create(name + ".sh", script)
    binary = v1.job_binaries.create(name + ".sh", "internal-db://" + jbi.id, "", {})
    return v2.job_templates.create(name, "Shell", mains=[binary.id], description="through v2")


def wait(v2, job_id, statuses, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        job = v2.jobs.get(job_id)
        if job.info["status"] in statuses:
            return job
        time.sleep(0.2)
    raise SystemExit("job %s never reached %s" % (job_id, statuses))


def error_of(call):
    try:
        call()
    except base.APIException as error:
        return {"code": error.error_code, "name": error.error_name}
    return None


def main(base_url, project, token):
    v1, v2 = clients(base_url, project, token)
    quick = shell_template(v1, v2, "v2-quick", 'echo "v2 says $1"\n')
    sleeper = shell_template(v1, v2, "v2-sleeps", "sleep 600\n")

    executed = v2.jobs.create(quick.id, LOCAL_CLUSTER, configs={"args": ["hello"]})
    done = wait(v2, executed.id, TERMINAL)
    listed = [job.id for job in v2.jobs.list()]
    page = v2.jobs.list(limit=1)
    filtered = [job.id for job in v2.jobs.list(search_opts={"status": "SUCCEEDED"})]

    running = v2.jobs.create(sleeper.id, LOCAL_CLUSTER, configs={})
    running = wait(v2, running.id, ["RUNNING"])
    # saharaclient's v2 has no cancel call: it is a PATCH of the job, sent through the same session.
    cancel_response = v2.jobs.api.patch("/jobs/%s" % running.id, json={"info": {"status": "cancel"}})
    cancelled = wait(v2, running.id, TERMINAL)

    updated = v2.jobs.update(done.id, is_public=True)
    v2.jobs.delete(running.id)
    gone = None
    deadline = time.time() + 30
    while time.time() < deadline and gone is None:
        gone = error_of(lambda: v2.jobs.get(running.id))
        time.sleep(0.2)

    return {
        "template": {"id": quick.id, "project_id": quick.project_id, "description": quick.description},
        "executed": {"id": executed.id, "template": executed.job_template_id, "project_id": executed.project_id},
        "done": {"status": done.info["status"], "return_code": done.return_code},
        "listed": listed,
        "page_size": len(page),
        "filtered": filtered,
        "cancel": {
            "code": cancel_response.status_code,
            "version": cancel_response.headers.get("OpenStack-API-Version"),
            "status": cancelled.info["status"],
            "engine_job_id": running.engine_job_id,
        },
        "updated_public": updated.job["is_public"] if hasattr(updated, "job") else updated.is_public,
        "deleted": gone,
        "refresh_status": error_of(lambda: v2.jobs.refresh_status(done.id)),
        "through_v1": v1.job_executions.get(executed.id).job_id,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
