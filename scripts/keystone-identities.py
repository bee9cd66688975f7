"""Creates the test identities in a fresh Keystone (called by scripts/keystone.sh).

Usage: python3 keystone-identities.py <identity url ending in /v3> <password>
Projects alpha and beta with a member each (alice, bob), carol an admin of alpha, and oasis,
Oasis's service user, with the service role in the service project. Standard library only, one
process: the openstack CLI would take seconds per call.
"""
import json
import sys
import urllib.request

URL, PASSWORD = sys.argv[1], sys.argv[2]


def call(method, path, body=None, token=None):
    request = urllib.request.Request(URL + path, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = response.read()
        return response, json.loads(payload) if payload else None


def admin_token():
    response, _ = call("POST", "/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
    }})
    return response.headers["X-Subject-Token"]


def main():
    token = admin_token()
    roles = {role["name"]: role["id"] for role in call("GET", "/roles", token=token)[1]["roles"]}
    for name in ("member", "service"):
        if name not in roles:
            roles[name] = call("POST", "/roles", {"role": {"name": name}}, token)[1]["role"]["id"]
    projects = {}
    for name in ("alpha", "beta", "service"):
        projects[name] = call("POST", "/projects", {"project": {"name": name, "domain_id": "default"}}, token)[1]["project"]["id"]
    for user, project, role in (("alice", "alpha", "member"), ("bob", "beta", "member"), ("carol", "alpha", "admin"), ("oasis", "service", "service")):
        user_id = call("POST", "/users", {"user": {"name": user, "domain_id": "default", "password": PASSWORD}}, token)[1]["user"]["id"]
        call("PUT", "/projects/%s/users/%s/roles/%s" % (projects[project], user_id, roles[role]), token=token)
    print(json.dumps(projects))


main()
