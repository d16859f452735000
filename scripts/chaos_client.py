"""The client of scripts/chaos.sh: scores applications with idempotency keys from several
threads while the server and the database are killed, retrying each key until it gets a 2xx,
and logs every 2xx (key, application id, status). With --count-resets it classifies failures:
a refused connection was never accepted; a reset or an empty answer after the request was sent
is an accepted request that was dropped. Test tooling only, never product."""
import argparse
import http.client
import json
import os
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--stop", required=True, help="stop when this file exists")
parser.add_argument("--prefix", default="chaos")
parser.add_argument("--threads", type=int, default=6)
args = parser.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
template = json.load(open(os.path.join(here, "..", "examples", "application.json")))
lock = threading.Lock()
log = open(args.log, "w")
counts = {"ok": 0, "replayed": 0, "unavailable": 0, "refused": 0, "reset": 0, "other": 0}


def attempt(key, body):
    """One POST on a fresh connection: (status or None, application id, failure kind)."""
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    try:
        conn.connect()
    except (ConnectionRefusedError, OSError):
        return None, None, "refused"
    try:
        conn.request(
            "POST",
            "/api/v1/applications",
            body=body,
            headers={
                "authorization": f"Bearer {args.key}",
                "content-type": "application/json",
                "idempotency-key": key,
                "connection": "close",
            },
        )
        res = conn.getresponse()
        data = res.read()
        app_id = None
        if res.status in (200, 201):
            app_id = json.loads(data)["application_id"]
        return res.status, app_id, None
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
            http.client.IncompleteRead):
        return None, None, "reset"
    except OSError:
        return None, None, "reset"
    finally:
        conn.close()


def worker(t):
    n = 0
    while not os.path.exists(args.stop):
        key = f"{args.prefix}-{t}-{n}"
        body = dict(template)
        body["applicant"] = dict(template["applicant"], id=f"{args.prefix.upper()}-{t}-{n}")
        raw = json.dumps(body)
        while True:
            status, app_id, failure = attempt(key, raw)
            with lock:
                if status in (200, 201):
                    counts["ok" if status == 201 else "replayed"] += 1
                    log.write(f"{key},{app_id},{status}\n")
                    log.flush()
                elif status == 503:
                    counts["unavailable"] += 1
                elif failure:
                    counts[failure] += 1
                else:
                    counts["other"] += 1
                    print(f"unexpected status {status} for {key}", flush=True)
            if status in (200, 201):
                break
            if status is not None and status not in (503, 408):
                break  # a client error would repeat forever
            time.sleep(0.05)
        n += 1


threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
for th in threads:
    th.start()
for th in threads:
    th.join()
print(json.dumps(counts), flush=True)
