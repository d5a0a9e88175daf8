#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that every #include "<component>/..." under src/ is allowed by the may-depend-on table
in docs/architecture.md, so the document and the code cannot drift apart. Exit 1 on violations."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
doc = (root / "docs/architecture.md").read_text()
section = doc.split("## May depend on", 1)[1].split("\n## ", 1)[0]

allowed = {}
all_components = set()
for line in section.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 3 or not re.match(r"^\d+$", cells[0]):
        continue
    comps = re.findall(r"`([a-z_]+)`", cells[1])
    deps_cell = cells[2]
    all_components.update(comps)
    for c in comps:
        if deps_cell.startswith("everything"):
            allowed[c] = ("everything", set(re.findall(r"`([a-z_]+)`", deps_cell)))
        else:
            allowed[c] = ("only", set(re.findall(r"`([a-z_]+)`", deps_cell)))

violations = []
inc = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
for f in sorted((root / "src").rglob("*")):
    if f.suffix not in (".cpp", ".hpp", ".h", ".cc"):
        continue
    comp = f.relative_to(root / "src").parts[0]
    if comp not in allowed:
        violations.append(f"{f.relative_to(root)}: component '{comp}' is missing from docs/architecture.md")
        continue
    mode, deps = allowed[comp]
    for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
        m = inc.match(line)
        if not m:
            continue
        target = m.group(1)
        if target == comp or target not in all_components:
            continue
        ok = (target not in deps) if mode == "everything" else (target in deps)
        if not ok:
            violations.append(f"{f.relative_to(root)}:{n}: '{comp}' may not include '{target}/'")

if violations:
    print("layering violations (see docs/architecture.md, 'May depend on'):")
    print("\n".join(violations))
    sys.exit(1)
print(f"layering: ok ({len(allowed)} components)")
