"""Checks docker-compose.yml the way an operator relies on it: it refuses to
start while any secret is missing and names it, it publishes ports on
127.0.0.1 only, every image is pinned, the keys reach identity alone,
read-only, and every connection is TLS: each container mounts its own
certificate only, the CA's key stays with the key job, peers are https://
and databases verify-full. Run by tests/run-all.sh; exits non-zero on the first failure."""

import os
import subprocess
import sys

import yaml

SECRETS = [
    "ALLOT_INTERNAL_SECRET",
    "ALLOT_ADMIN_SECRET",
    "ALLOT_ADMIN_PASSWORD",
    "ALLOT_NATS_PASSWORD",
    "ALLOT_POSTGRES_PASSWORD",
    "ALLOT_IDENTITY_DB_PASSWORD",
    "ALLOT_TEAM_DB_PASSWORD",
    "ALLOT_ENTITLEMENT_DB_PASSWORD",
    "ALLOT_NOTIFICATION_DB_PASSWORD",
]
KEY_USERS = {"identity", "keygen"}
CONSOLE_KEY_USERS = {"console", "keygen"}


def config(env):
    return subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        env=env, capture_output=True, text=True, check=False,
    )


def fail(message):
    print(f"compose: {message}", file=sys.stderr)
    sys.exit(1)


# What Allot serves at /metrics (crates/platform/src/metrics.rs and the
# services' gauges): every dashboard query must use these.
METRICS = {
    "rpc_server_requests_total", "rpc_server_duration_seconds_bucket",
    "allot_pool_seats", "allot_pool_assigned", "allot_mail_deliveries",
    "allot_mail_retries", "allot_consumer_update_time_seconds",
    "allot_consumer_position", "allot_outbox_backlog", "allot_outbox_head",
    "allot_job_rows_left", "allot_jobs_running",
}


def check_dashboard():
    import json
    import re
    with open("deploy/grafana/allot.json", encoding="utf-8") as f:
        dash = json.load(f)
    for p in dash["panels"]:
        for t in p["targets"]:
            used = set(re.findall(r"\b(rpc_server_\w+|allot_\w+)\b", t["expr"]))
            unknown = used - METRICS
            if not used or unknown:
                fail(f"dashboard panel {p['title']!r} queries {sorted(unknown) or 'no Allot metric'}")
    with open("deploy/prometheus.yml", encoding="utf-8") as f:
        targets = yaml.safe_load(f)["scrape_configs"][0]["static_configs"][0]["targets"]
    if sorted(t.split(":")[0] for t in targets) != ["entitlement", "identity", "notification", "team"]:
        fail(f"prometheus scrapes {targets}, not the four services")


SERVICES = {"identity", "team", "entitlement", "notification"}


def volume_source(volume):
    return volume.get("source", "") if isinstance(volume, dict) else str(volume).split(":")[0]


def check_tls(doc):
    for name, svc in doc["services"].items():
        sources = [volume_source(v) for v in svc.get("volumes", [])]
        if "ca" in sources and name != "keygen":
            fail(f"{name}: mounts the CA's private key, which only the key job needs")
        foreign = [s for s in sources if s.startswith("tls-") and s != f"tls-{name}"]
        if foreign and name != "keygen":
            fail(f"{name}: mounts another container's certificate and key: {foreign}")
        if name not in SERVICES:
            continue
        env = svc.get("environment", {})
        if f"tls-{name}" not in sources or not env.get("ALLOT_TLS__CERT_FILE"):
            fail(f"{name}: serves without its own TLS certificate")
        if not env.get("ALLOT_TLS__CLIENT_CA_FILE"):
            fail(f"{name}: admits callers without a client certificate")
        for peer in SERVICES:
            url = env.get(f"ALLOT_PEERS__{peer.upper()}", "")
            if not url.startswith("https://"):
                fail(f"{name}: reaches {peer} at {url!r}, not over https://")
        if "sslmode=verify-full" not in env.get("ALLOT_DATABASE_URL", ""):
            fail(f"{name}: connects to its database without sslmode=verify-full")


def check_console(doc):
    """The console: its own certificate, callers with a client certificate
    only (the front door), the services over https://, its cookie key to
    itself, and behind the front door."""
    console = doc["services"].get("console")
    if not console:
        fail("no console service")
    env = console.get("environment", {})
    sources = [volume_source(v) for v in console.get("volumes", [])]
    if "tls-console" not in sources or not env.get("ALLOT_TLS__CERT_FILE"):
        fail("console: serves without its own TLS certificate")
    if not env.get("ALLOT_TLS__CLIENT_CA_FILE"):
        fail("console: admits callers other than the front door")
    for peer in ("identity", "team", "entitlement"):
        if not env.get(f"ALLOT_PEERS__{peer.upper()}", "").startswith("https://"):
            fail(f"console: reaches {peer} not over https://")
    if env.get("ALLOT_CONSOLE__BEHIND_PROXY") != "true":
        fail("console: does not take the browser's address from the front door")
    if console.get("ports"):
        fail("console: published besides the front door")
    if "console" not in doc["services"].get("front-door", {}).get("environment", {}).get("ALLOT_CONSOLE_UPSTREAM", ""):
        fail("the front door does not pass pages to the console")
    for name, svc in doc["services"].items():
        if "console-key" in [volume_source(v) for v in svc.get("volumes", [])] and name not in CONSOLE_KEY_USERS:
            fail(f"{name}: mounts the console's cookie key")
    if not env.get("ALLOT_CONSOLE__COOKIE_KEY_FILE", "").startswith("/console-key/"):
        fail("console: its cookie key is not the one keygen makes")
    if not env.get("ALLOT_PUBLIC_URL", "").startswith("https://"):
        fail("console: public URL is not https:// (cookies would not be Secure)")


def main():
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALLOT_")}
    full = dict(base, **{s: f"{s.lower()}-0123456789abcdef0123456789" for s in SECRETS})
    for secret in SECRETS:
        env = dict(full)
        del env[secret]
        r = config(env)
        if r.returncode == 0 or secret not in r.stderr:
            fail(f"starts without {secret}, or does not name it: {r.stderr.strip()}")
    r = config(full)
    if r.returncode != 0:
        fail(f"refused with every secret set: {r.stderr.strip()}")
    doc = yaml.safe_load(r.stdout)
    with open("docker-compose.yml", encoding="utf-8") as f:
        if "change-me" in f.read():
            fail("a default secret is still written in the file")
    for name, svc in doc["services"].items():
        image = svc.get("image", "")
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        if not tag or tag == "latest":
            fail(f"{name}: image {image!r} is not pinned to a version")
        for port in svc.get("ports", []):
            host = port.get("host_ip", "") if isinstance(port, dict) else str(port).split(":")[0]
            if host != "127.0.0.1":
                fail(f"{name}: port {port!r} is published beyond 127.0.0.1")
        for volume in svc.get("volumes", []):
            target = volume.get("target", "") if isinstance(volume, dict) else str(volume).split(":")[1]
            read_only = volume.get("read_only", False) if isinstance(volume, dict) else str(volume).endswith(":ro")
            if target == "/keys":
                if name not in KEY_USERS:
                    fail(f"{name}: mounts the private keys, which only identity needs")
                if name == "identity" and not read_only:
                    fail("identity: mounts the keys writable")
    check_tls(doc)
    check_console(doc)
    door = doc["services"].get("front-door", {})
    published = [p for name, svc in doc["services"].items() for p in svc.get("ports", [])
                 if name in {"identity", "team", "entitlement", "notification"}]
    if not door.get("ports") or published:
        fail("the services must be offered through the front door only")
    check_dashboard()
    print("compose: refuses missing secrets, loopback ports, pinned images, keys in identity only, TLS everywhere, one front door, the console behind it")


if __name__ == "__main__":
    main()
