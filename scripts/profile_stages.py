"""Attributes `perf script` samples (comm, pid, tid, call stack) to the stages of a decision.

Reads `perf script -F comm,pid,tid,ip,sym` on standard input. A sample of the server process is
given to the innermost frame (leaf first) whose symbol names a stage; allocator, libc and
kernel frames name none, so their time goes to the stage that called them. Samples of the
PostgreSQL server processes count as the database's own work; the load generator and anything
else on the machine are reported apart. Prints CPU microseconds per decision by stage.
"""

import argparse
import collections
import re
import sys

# (stage, pattern) in the order a frame is tested; the first match of the innermost matching
# frame decides. Inlined functions carry their caller's name: time they take shows under it.
STAGES = [
    ("predict + SHAP (both models)", r"lendscope_model::(gbt|shap|bundle::.*(predict|explain))"),
    ("encode", r"lendscope_model::(features|schema|bundle::.*encode)|ApplicationInput::raw"),
    ("reasons", r"lendscope_service::scoring::reasons|decision_reasons"),
    ("hashing (SHA-256, chain)", r"sha2::|lendscope_service::scoring::chain|sha256"),
    ("JSON out (response, record)", r"serde_json::ser|serde_json::value::ser|response_body|decision_content|Serialize"),
    ("parse (JSON in, validation)", r"serde_json::de|serde_json::value::de|lendscope_domain::application|Deserialize|parse_application"),
    ("TLS to the database (rustls)", r"rustls|\bring::"),
    ("database client (sea-orm, sqlx)", r"sqlx|sea_orm|sea_query|postgres_protocol"),
    ("HTTP, runtime, middleware", r"hyper|axum|tower|tokio|h2::|http::|tracing|lendscope_server"),
]
COMPILED = [(name, re.compile(p)) for name, p in STAGES]


def samples(lines):
    """Yields (comm, pid, [symbols leaf first]) per sample."""
    head, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if head:
                yield head[0], head[1], frames
            head, frames = None, []
            continue
        if not line.startswith((" ", "\t")):
            if head:
                yield head[0], head[1], frames
            m = re.match(r"^(.*?)\s+(\d+)/(\d+)\s*$", line) or re.match(r"^(.*?)\s+(\d+)\s", line)
            head, frames = ((m.group(1).strip(), int(m.group(2))) if m else (line.strip(), -1)), []
        else:
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "")
    if head:
        yield head[0], head[1], frames


KERNEL = re.compile(r"^(_raw_spin|__pv_queued|finish_task_switch|irqentry|handle_softirqs|"
                    r"do_syscall|entry_SYSCALL|__x64_sys|futex|ep_poll|tcp_|__sys_|schedule|"
                    r"iowrite|__get_user|copy_user|__wake_up|try_to_wake_up)")


def stage_of(frames):
    if frames and KERNEL.search(frames[0]):
        return "kernel (wake-ups, sockets, scheduling)"
    for sym in frames:
        for name, rx in COMPILED:
            if rx.search(sym):
                return name
    return "other (libc, kernel, unattributed)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--frequency", type=float, required=True)
    ap.add_argument("--decisions", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    args = ap.parse_args()
    server, outside = collections.Counter(), collections.Counter()
    for comm, pid, frames in samples(sys.stdin):
        if pid == args.server_pid:
            server[stage_of(frames)] += 1
        elif comm.startswith("postgres"):
            server["database (PostgreSQL server)"] += 1
        else:
            outside[comm if comm not in ("swapper",) else "idle"] += 1
    if args.decisions <= 0:
        sys.exit("no decisions were made while profiling")
    per = 1e6 / args.frequency / args.decisions  # µs of CPU per sample, per decision
    total = sum(server.values())
    print(f"CPU per decision by stage ({args.decisions} decisions in {args.seconds:.0f} s, "
          f"{args.frequency:.0f} Hz, {total} samples of the server and PostgreSQL):")
    for name, n in server.most_common():
        print(f"  {name:<36} {n * per:8.1f} µs  {100 * n / total:5.1f} %")
    print(f"  {'total':<36} {total * per:8.1f} µs")
    print("elsewhere on the machine (not counted):", ", ".join(
        f"{c} {n * per:.0f} µs" for c, n in outside.most_common(4)))


if __name__ == "__main__":
    main()
