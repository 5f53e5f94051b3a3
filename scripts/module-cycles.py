#!/usr/bin/env python3
"""Print the import edges between the modules of src/server/ and fail on a cycle.

A module is a file (src/server/x.rs) or a directory (src/server/x/, its files
counted as one). An edge A -> B is a `super::B`, `super::super::B` or
`crate::server::B` path in A outside its tests, or a path to an item that
src/server/mod.rs re-exports from B (or defines itself: the module `mod`).

Usage: python3 scripts/module-cycles.py [src/server]
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "src/server"
files = {}
for dirpath, _, names in os.walk(root):
    for n in names:
        if not n.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(dirpath, n), root)
        top = rel.split(os.sep)[0]
        module = "mod" if rel == "mod.rs" else top[:-3] if top.endswith(".rs") else top
        text = open(os.path.join(dirpath, n)).read()
        text = text.split("#[cfg(test)]")[0]
        text = re.sub(r"//[^\n]*", "", text)
        files.setdefault(module, []).append((rel, text))

modules = set(files)
mod_text = "".join(t for _, t in files.get("mod", []))
# What src/server/mod.rs names: its own items, and what it re-exports
# (`pub use x::{A, B}` makes `super::A` an edge to x).
owner = {n: "mod" for n in re.findall(r"^pub(?:\([a-z]+\))? (?:struct|enum|type|fn|trait) (\w+)", mod_text, re.M)}
for src_mod, names in re.findall(r"pub(?:\([a-z]+\))? use (\w+)::\{?([\w\s,]+)\}?;", mod_text):
    for n in re.findall(r"\w+", names):
        owner[n] = src_mod

edges = {m: set() for m in modules}
for m, parts in files.items():
    for rel, text in parts:
        # How deep this file's module is below src/server (x.rs: 1, x/y.rs: 2).
        level = rel.count(os.sep) + (0 if rel.endswith("mod.rs") else 1)
        if m == "mod":
            # The facade names its children directly (`mod x; pub use x::..`).
            for target in re.findall(r"\b(\w+)::", text):
                if target in modules and target != m:
                    edges[m].add(target)
            continue
        for path in re.findall(r"(?:crate::server|(?:super::)+)[\w:{}, ]*", text):
            head = path.split("::")
            # Resolve the module the path names.
            if path.startswith("crate::server"):
                rest = head[2:]
            else:
                ups = path.count("super::")
                rest = head[ups:]
                if ups != level:
                    continue  # a sibling inside the same directory
            names = re.findall(r"\w+", "::".join(rest))
            if not names:
                continue
            target = names[0]
            if target in modules and target != m:
                edges[m].add(target)
            elif m != "mod":
                for name in names:
                    if name in owner and owner[name] != m:
                        edges[m].add(owner[name])

for m in sorted(edges):
    print(f"{m:12} -> {', '.join(sorted(edges[m])) or '-'}")

# Depth-first search for a cycle.
state, stack, cycles = {}, [], []
def visit(m):
    state[m] = 1
    stack.append(m)
    for n in sorted(edges[m]):
        if state.get(n) == 1:
            cycles.append(stack[stack.index(n):] + [n])
        elif n not in state:
            visit(n)
    stack.pop()
    state[m] = 2
for m in sorted(edges):
    if m not in state:
        visit(m)
if cycles:
    for c in cycles:
        print("cycle: " + " -> ".join(c))
    sys.exit(1)
print("no cycles")
