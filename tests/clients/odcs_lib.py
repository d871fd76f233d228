"""Drives the real `odcs` client library (PyPI odcs==0.9.2) against a composed URL.

usage: odcs_lib.py URL COMMAND [ARGS...]; prints the call's result as JSON, or
{"http_error": <status>, "body": <text>} when the client raises for an HTTP error.
"""
import json
import os
import sys

import requests
from odcs.client.odcs import (
    ODCS,
    AuthMech,
    ComposeSourceBuild,
    ComposeSourceModule,
    ComposeSourceTag,
)


def main():
    url, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    token = os.environ.get("ODCS_TOKEN")
    if token:
        client = ODCS(url, auth_mech=AuthMech.OpenIDC, openidc_token=token)
    else:
        client = ODCS(url, auth_mech=AuthMech.Anonymous)
    try:
        if cmd == "request-tag":
            result = client.request_compose(
                ComposeSourceTag(args[0], packages=args[1:], sigkeys=["SIG1"], koji_event=42),
                flags=["no_deps"],
                arches=["x86_64", "aarch64"],
                label="Alpha-1.0",
            )
        elif cmd == "request-build":
            result = client.request_compose(ComposeSourceBuild(args, sigkeys=[""]))
        elif cmd == "request-module":
            result = client.request_compose(ComposeSourceModule(args, modular_koji_tags=["f30-modular"]))
        elif cmd == "new-compose":
            result = client.new_compose(args[0], "tag", seconds_to_live=7200, packages=["ed"], results=["iso"])
        elif cmd == "get":
            result = client.get_compose(int(args[0]))
        elif cmd == "renew":
            result = client.renew_compose(int(args[0]), seconds_to_live=int(args[1]) if len(args) > 1 else None)
        elif cmd == "renew-label":
            result = client.renew_compose(int(args[0]), label=args[1])
        elif cmd == "delete":
            result = client.delete_compose(int(args[0]))
        elif cmd == "find":
            criteria = dict(a.split("=", 1) for a in args)
            for key in ("page", "per_page"):
                if key in criteria:
                    criteria[key] = int(criteria[key])
            result = client.find_composes(**criteria)
        elif cmd == "about":
            result = client.about()
        elif cmd == "wait":
            result = client.wait_for_compose(int(args[0]), timeout=int(args[1]))
        else:
            raise SystemExit("unknown command " + cmd)
    except requests.exceptions.HTTPError as e:
        result = {"http_error": e.response.status_code, "body": e.response.text}
    except RuntimeError as e:
        result = {"runtime_error": str(e)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
