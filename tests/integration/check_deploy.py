#!/usr/bin/python3
"""Checks of deploy/ that need a YAML parser, run by tests/integration/test_serve.c:

  check_deploy.py daemonset FILE        the Kubernetes manifest parses and gives
                                        memscope what it needs on a node: liveness
                                        on /healthz, a NetworkPolicy that admits
                                        only the scraper
  check_deploy.py runtime-libs DOCKERFILE BINARY
                                        every library BINARY links against comes
                                        from a package the image's last stage installs

Prints one line per problem and exits 1 if there is any.
"""
import os
import re
import subprocess
import sys

import yaml


def check_daemonset(path):
    problems = []
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = [d.get("kind") for d in docs]
    if "DaemonSet" not in kinds:
        return ["no DaemonSet in %s (kinds: %s)" % (path, kinds)]
    ds = docs[kinds.index("DaemonSet")]
    if ds.get("apiVersion") != "apps/v1":
        problems.append("DaemonSet apiVersion is %r, not apps/v1" % ds.get("apiVersion"))
    spec = ds["spec"]
    tmpl = spec["template"]
    if spec["selector"]["matchLabels"].items() - tmpl["metadata"]["labels"].items():
        problems.append("the selector does not match the pod template's labels")
    pod = tmpl["spec"]
    if pod.get("hostPID") is not True:
        problems.append("hostPID is not true: memscope would not see the host's processes")
    (ctr,) = [c for c in pod["containers"] if c["name"] == "memscope"]
    sc = ctr.get("securityContext", {})
    caps = set(sc.get("capabilities", {}).get("add", []))
    if not sc.get("privileged") and not {"BPF", "PERFMON", "SYS_ADMIN"} <= caps:
        problems.append("neither privileged nor CAP_BPF/PERFMON/SYS_ADMIN: no BPF")
    args = ctr.get("args", [])
    if "--listen" not in args or not args[args.index("--listen") + 1].startswith("0.0.0.0:"):
        problems.append("memscope does not listen on the pod's addresses: %s" % args)
    port = int(args[args.index("--listen") + 1].rsplit(":", 1)[1]) if "--listen" in args else None
    ports = {p["name"]: p["containerPort"] for p in ctr.get("ports", [])}
    if ports.get("metrics") != port:
        problems.append("containerPort metrics %s is not the --listen port %s"
                        % (ports.get("metrics"), port))
    # Liveness on /healthz: a probe of /metrics can be starved by slow
    # clients and restart memscope for nothing; readiness may ask for the page.
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/metrics")):
        get = ctr.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") not in ("metrics", port):
            problems.append("%s is not an HTTP GET of %s on the metrics port" % (probe, path))
    mounts = {m["mountPath"]: m for m in ctr.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for need in ("/sys/kernel/btf", "/sys/fs/cgroup", "/sys/kernel/tracing"):
        m = mounts.get(need)
        host = m and volumes.get(m["name"], {}).get("hostPath", {}).get("path")
        if host != need:
            problems.append("%s is not the host's %s" % (need, need))
    for path, m in mounts.items():
        if m["name"] not in volumes:
            problems.append("mount %s names no volume" % path)
    annotations = tmpl["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/port") != str(port):
        problems.append("the prometheus.io/port annotation is not %s" % port)
    problems += check_network_policy(docs, ds, port)
    return problems


def check_network_policy(docs, ds, port):
    """Some NetworkPolicy selects memscope's pods and admits, on the metrics
    port only, only pods chosen by label within a namespace chosen by label."""
    labels = ds["spec"]["template"]["metadata"]["labels"]
    namespace = ds["metadata"].get("namespace")
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"
                and d["metadata"].get("namespace") == namespace
                and d["spec"].get("podSelector", {}).get("matchLabels", {}).items() <= labels.items()
                and d["spec"].get("podSelector", {}).get("matchLabels")]
    if not policies:
        return ["no NetworkPolicy selects memscope's pods: any pod can connect"]
    problems = []
    for pol in policies:
        spec = pol["spec"]
        name = pol["metadata"]["name"]
        if "Ingress" not in spec.get("policyTypes", ["Ingress"]):
            problems.append("NetworkPolicy %s does not restrict ingress" % name)
        rules = spec.get("ingress", [])
        for rule in rules:
            peers = rule.get("from")
            if not peers:
                problems.append("NetworkPolicy %s admits every source" % name)
            for peer in peers or []:
                if not isinstance(peer, dict) or "ipBlock" in peer or not peer.get("namespaceSelector", {}).get("matchLabels") \
                        or not peer.get("podSelector", {}).get("matchLabels"):
                    problems.append("NetworkPolicy %s admits %s: want pods by label in a "
                                    "namespace by label" % (name, peer))
            ports = [p.get("port") for p in rule.get("ports", [])]
            if not ports or set(ports) - {port, "metrics"}:
                problems.append("NetworkPolicy %s opens ports %s, not only %s"
                                % (name, ports or "all", port))
    return problems


def last_stage_packages(dockerfile):
    text = open(dockerfile).read().replace("\\\n", " ")
    stages = re.split(r"(?m)^FROM\s", text)
    pkgs = set()
    for line in stages[-1].splitlines():
        if "apt-get install" in line:
            for word in line.split("apt-get install", 1)[1].split("&&")[0].split():
                if not word.startswith("-"):
                    pkgs.add(word)
    return pkgs


def owning_package(path):
    # Merged /usr: dpkg knows a file under one of /lib and /usr/lib only.
    for p in (path, os.path.realpath(path), "/usr" + path, re.sub(r"^/usr", "", path)):
        owner = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if owner.returncode == 0:
            return owner.stdout.split(":", 1)[0]
    return None


def check_runtime_libs(dockerfile, binary):
    # In every Debian image already, or pulled in by the packages listed.
    base = {"libc6", "libgcc-s1"}
    pkgs = last_stage_packages(dockerfile)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", binary], capture_output=True,
                                       text=True, check=True).stdout)
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(
        ["ldd", binary], capture_output=True, text=True, check=True).stdout, re.M))
    problems = []
    if not needed:
        return ["%s needs no shared library? (readelf found none)" % binary]
    for lib in needed:
        if lib not in paths:
            problems.append("cannot resolve %s" % lib)
            continue
        pkg = owning_package(paths[lib])
        if not pkg:
            problems.append("no package owns %s" % paths[lib])
        elif pkg not in pkgs | base:
            problems.append("%s (%s) comes from %s, which %s does not install"
                            % (lib, paths[lib], pkg, dockerfile))
    return problems


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "daemonset":
        problems = check_daemonset(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "runtime-libs":
        problems = check_runtime_libs(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
