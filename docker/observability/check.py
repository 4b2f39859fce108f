#!/usr/bin/env python3
"""Checks what no engine can run here: that docker/compose.yaml and the observability files parse
and agree with each other and with docker/Dockerfile. Run by `make observability-check`.

- every YAML and JSON file parses;
- the compose file's build arguments are the Dockerfile's ARGs, with the same defaults;
- the two service replicas share one definition and differ only in their host ports;
- every file or folder the compose file mounts exists;
- Prometheus scrapes each replica's admin port, and loads the alert rules;
- Grafana's provisioning points at the mounted dashboards, and every panel of the dashboard uses
  the provisioned datasource.
"""
import json
import re
import sys
from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parent.parent
errors = []


def check(condition, message):
    if not condition:
        errors.append(message)


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


compose = load_yaml(DOCKER / "compose.yaml")
prometheus = load_yaml(DOCKER / "observability/prometheus/prometheus.yml")
datasources = load_yaml(DOCKER / "observability/grafana/provisioning/datasources/prometheus.yml")
dashboards = load_yaml(DOCKER / "observability/grafana/provisioning/dashboards/mercuryo-bridge.yml")
load_yaml(DOCKER / "observability/prometheus/alerts.yml")
load_yaml(DOCKER / "observability/prometheus/alerts.test.yml")
dashboard = json.loads((DOCKER / "observability/grafana/dashboards/mercuryo-bridge.json").read_text())

services = compose["services"]

# Build arguments: the same names and defaults as the Dockerfile's ARGs.
dockerfile_args = dict(re.findall(r"^ARG (\w+)=(\S+)$", (DOCKER / "Dockerfile").read_text(), re.M))
check(dockerfile_args, "no ARG NAME=default found in docker/Dockerfile")
replicas = {name: s for name, s in services.items() if s.get("build")}
check(len(replicas) == 2, f"expected two replicas of the service, found {sorted(replicas)}")
for name, service in replicas.items():
    build = service["build"]
    check(build.get("dockerfile") == "docker/Dockerfile" and build.get("context") == "..",
          f"{name}: builds {build.get('context')}/{build.get('dockerfile')}, expected ../docker/Dockerfile")
    args = build.get("args", {})
    check(set(args) == set(dockerfile_args),
          f"{name}: build args {sorted(args)} differ from the Dockerfile's ARGs {sorted(dockerfile_args)}")
    for arg, value in args.items():
        m = re.fullmatch(r"\$\{(\w+):-(.+)\}", str(value))
        check(m is not None and m.group(1) == arg and m.group(2) == dockerfile_args.get(arg),
              f"{name}: build arg {arg}={value} should be ${{{arg}:-{dockerfile_args.get(arg)}}} (the Dockerfile's default)")
    check(service.get("healthcheck", {}).get("test") == ["CMD", "/app/ready.sh"],
          f"{name}: healthcheck should run /app/ready.sh (the image has no curl)")

# The replicas are one definition; only their published ports differ.
if len(replicas) == 2:
    a, b = (dict(s) for s in replicas.values())
    a.pop("ports", None)
    b.pop("ports", None)
    check(a == b, "the two replicas differ in more than their ports")
    host_ports = [p.split(":")[0] for s in replicas.values() for p in s.get("ports", [])]
    check(len(host_ports) == len(set(host_ports)), f"host ports collide: {host_ports}")

# Mounted files and folders exist.
for name, service in services.items():
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("."):
            check((DOCKER / source).exists(), f"{name}: mounts {source}, which does not exist")

# Prometheus scrapes both replicas' admin ports and loads alerts.yml.
targets = [t for job in prometheus["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]]
check(sorted(targets) == sorted(f"{name}:8081" for name in replicas),
      f"Prometheus targets {targets} are not the replicas' admin ports")
check(prometheus.get("rule_files") == ["alerts.yml"], "prometheus.yml should load alerts.yml")
prom_mounts = [v for v in services["prometheus"]["volumes"] if v.startswith("./observability/prometheus:")]
check(prom_mounts and prom_mounts[0].split(":")[1] == "/etc/prometheus",
      "prometheus must mount ./observability/prometheus at /etc/prometheus")

# Grafana: provisioning reads the mounted dashboards; panels use the provisioned datasource.
uid = datasources["datasources"][0]["uid"]
path = dashboards["providers"][0]["options"]["path"]
grafana_mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"] if v.startswith(".")}
check(grafana_mounts.get(path) == "./observability/grafana/dashboards",
      f"Grafana loads dashboards from {path}, but ./observability/grafana/dashboards is mounted elsewhere")
check(grafana_mounts.get("/etc/grafana/provisioning") == "./observability/grafana/provisioning",
      "Grafana must mount ./observability/grafana/provisioning at /etc/grafana/provisioning")
panels = [p for p in dashboard["panels"] if p["type"] != "row"]
check(panels, "the dashboard has no panels")
for p in panels:
    check(p.get("datasource", {}).get("uid") == uid, f"panel '{p['title']}' does not use datasource {uid}")
    check(p.get("targets") and all(t.get("expr") for t in p["targets"]), f"panel '{p['title']}' has no query")

if errors:
    print("docker/ files are inconsistent:", *errors, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"compose and observability files are consistent: {len(services)} services, "
      f"{len(panels)} dashboard panels, build args {sorted(dockerfile_args)}")
