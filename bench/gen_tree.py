#!/usr/bin/env python3
"""Write a generated AnalyLit-shaped project for the pre-flight benchmark.

    bench/gen_tree.py DIR [MODULES] [DEPTH]

DIR gets a compose file, a Dockerfile (python:3.11-slim, WORKDIR /app, COPY . .), gunicorn's
config file, and an app of MODULES modules (default 1500) spread over packages nested DEPTH
levels deep (default 8): each module imports a few others (absolute and relative imports),
defines functions, classes and a Flask blueprint with routes, and the entry module imports every
package. Beside the app, tests/, scripts/ and notebooks/ hold as many files again that nothing
imports (pre-flight must leave them alone). The source is healthy: pre-flight should report no
problem, so the timing is the analysis itself, not the printing of findings.
"""
import os
import random
import sys

out = sys.argv[1]
modules = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
depth = int(sys.argv[3]) if len(sys.argv) > 3 else 8
rng = random.Random(12)


def write(rel, text):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# Packages: a tree of `depth` levels under app/, `fanout` children each.
packages = ["app"]
frontier = ["app"]
for level in range(depth - 1):
    nxt = []
    for p in frontier:
        for i in range(2 if level < 4 else 1):
            child = f"{p}.pkg{level}_{i}"
            packages.append(child)
            nxt.append(child)
    frontier = nxt

names = []
for n in range(modules):
    pkg = packages[n % len(packages)]
    names.append(f"{pkg}.mod{n}")

for pkg in packages:
    subs = [p for p in packages if p.rsplit(".", 1)[0] == pkg and p != pkg]
    lines = [f'"""Package {pkg}."""']
    for s in subs:
        lines.append(f"from . import {s.rsplit('.', 1)[1]}")
    write(pkg.replace(".", "/") + "/__init__.py", "\n".join(lines) + "\n")

for i, name in enumerate(names):
    pkg, mod = name.rsplit(".", 1)
    deps = rng.sample(names[:i], min(3, i)) if i else []
    body = [f'"""Module {name}."""', "import logging", "import os", "from typing import Any, Dict, List", ""]
    body.append("from flask import Blueprint, jsonify")
    for d in deps:
        dpkg, dmod = d.rsplit(".", 1)
        if dpkg == pkg:
            body.append(f"from . import {dmod}")
        else:
            body.append(f"from {dpkg} import {dmod}")
    body.append("")
    body.append(f"log = logging.getLogger(__name__)")
    body.append(f"bp_{mod} = Blueprint('{mod}', __name__, url_prefix='/api/{mod}')")
    body.append(f"LIMIT_{mod.upper()} = int(os.environ.get('LIMIT', '10'))")
    body.append("")
    for k in range(6):
        body.append(f"def helper_{k}(items: List[Dict[str, Any]], scale: int = 2) -> Dict[str, Any]:")
        body.append(f"    \"\"\"Helper {k} of {mod}.\"\"\"")
        body.append("    total = 0")
        body.append("    for item in items:")
        body.append("        if item.get('weight', 0) > scale:")
        body.append("            total += item['weight'] * scale")
        body.append("        else:")
        body.append("            total -= 1")
        body.append(f"    log.debug('helper {k}: %s', total)")
        body.append("    return {'total': total, 'items': [dict(i) for i in items if i]}")
        body.append("")
    body.append(f"class Service{i}:")
    body.append("    def __init__(self, name: str):")
    body.append("        self.name = name")
    body.append("        self.cache: Dict[str, int] = {}")
    body.append("")
    body.append("    def run(self, values):")
    body.append("        return [helper_0([{'weight': v}]) for v in values]")
    body.append("")
    body.append(f"@bp_{mod}.route('/status')")
    body.append(f"def status_{mod}():")
    body.append(f"    return jsonify({{'module': '{mod}', 'limit': LIMIT_{mod.upper()}}})")
    body.append("")
    write(name.replace(".", "/") + ".py", "\n".join(body) + "\n")

server = [
    '"""Entry module: gunicorn runs server:app."""',
    "from flask import Flask",
    "import app",
]
for n in names:
    server.append(f"import {n}")
server += [
    "",
    "def create_app():",
    "    application = Flask(__name__)",
    "",
    "    @application.route('/api/health')",
    "    def health():",
    "        return {'status': 'ok'}",
    "",
    "    return application",
    "",
    "app = create_app()",
]
write("server.py", "\n".join(server) + "\n")

for folder in ("tests", "scripts", "notebooks"):
    for k in range(modules // 3):
        write(f"{folder}/f{k}.py", f"import server\nprint(undefined_in_{folder}_{k})\n")

write(
    "docker-compose.yml",
    """services:
  web:
    build: .
    command: gunicorn -c gunicorn.conf.py server:app
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:5000/api/health')"]
""",
)
write("Dockerfile", "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n")
write("gunicorn.conf.py", "bind = '0.0.0.0:5000'\nworkers = 4\n")
print(f"{len(names)} modules in {len(packages)} packages, depth {depth}; {3 * (modules // 3)} unimported files")
