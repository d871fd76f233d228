#!/usr/bin/env python3
"""Fails (exit 1) when the files of the crate's src/ import each other in a cycle.

    tools/module-cycles.py [SRC_DIR]        (default: src)

The house rule (ARCHITECTURE.md): a module uses only modules below it. A file depends on
another when it names a path into it:
  - `crate::a::b::…`, `super::…`, `self::…` — in `use` lines, `use` groups (`use crate::a::{b, c}`)
    and inline paths; `super`/`self` resolve from the module the text sits in, inline
    `mod name { … }` blocks included (so a test module's `use super::*` is its own file);
  - `child::…` in a file that declares `mod child;` (a parent using its child).
The longest prefix of a path that is a file's module names the file it depends on (`src/a/b.rs`
or `src/a/b/mod.rs`; `src/lib.rs` and `src/main.rs` are the crate root and are skipped as
targets). Comments are stripped first; string literals are not parsed (a path in a string
counts). Strongly connected components of more than one file are cycles; each is printed with
the names that tie it together.
"""
import os
import re
import sys
from collections import defaultdict

PATH = re.compile(r"(?<![\w:])(crate|super|self|[a-z_][a-z0-9_]*)((?:::\w+)+)")
GROUP = re.compile(r"\buse\s+(crate|super|self|[a-z_][a-z0-9_]*)((?:::\w+)*)::\{")
INLINE_MOD = re.compile(r"\bmod\s+(\w+)\s*\{")
DECL_MOD = re.compile(r"\bmod\s+(\w+)\s*;")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def inline_scopes(text):
    """(start, end, name) of every inline `mod name { … }` block."""
    out = []
    for m in INLINE_MOD.finditer(text):
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        out.append((m.end(), i, m.group(1)))
    return out


def group_items(text, start):
    """Top-level items of the `{ … }` group opening at `start`, nested groups flattened."""
    depth, i, item, items = 0, start, "", []
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth += 1
            if depth > 1:
                item += ch
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
            item += ch
        elif ch == "," and depth == 1:
            items.append(item)
            item = ""
        else:
            item += ch
        i += 1
    items.append(item)
    return [x.strip() for x in items if x.strip()]




def analyse(src):
    """(files, edges, cycles) of the crate whose sources are in `src`."""
    files = {}  # module path (tuple) -> file
    for root, _, names in os.walk(src):
        for n in sorted(names):
            if not n.endswith(".rs"):
                continue
            p = os.path.join(root, n)
            rel = os.path.relpath(p, src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            files[tuple(rel)] = p

    edges = defaultdict(lambda: defaultdict(set))
    for mod, path in files.items():
        text = strip_comments(open(path, encoding="utf-8").read())
        children = set(DECL_MOD.findall(text))
        scopes = inline_scopes(text)

        def module_at(pos):
            inner = [name for (s, e, name) in scopes if s <= pos <= e]
            return list(mod) + inner

        def resolve(pos, head, rest):
            here = module_at(pos)
            if head == "crate":
                base = []
            elif head == "self":
                base = here
            elif head == "super":
                base = here[:-1]
            elif head in children and len(here) == len(mod):
                base = list(mod) + [head]
            else:
                return None
            parts = list(base)
            for p in rest:
                if p == "super":
                    parts = parts[:-1]
                else:
                    parts.append(p)
            for i in range(len(parts), 0, -1):
                if tuple(parts[:i]) in files:
                    return tuple(parts[:i])
            return None

        refs = []
        for m in GROUP.finditer(text):
            prefix = [x for x in m.group(2).split("::") if x]
            for item in group_items(text, m.end() - 1):
                first = re.split(r"::|\s", item.strip("{} "))[0]
                if first and first != "self":
                    refs.append((m.start(), m.group(1), prefix + [first]))
                elif first == "self":
                    refs.append((m.start(), m.group(1), prefix))
        for m in PATH.finditer(text):
            refs.append((m.start(), m.group(1), [x for x in m.group(2).split("::") if x]))
        for pos, head, rest in refs:
            if head == "super":
                # `super::super::x` arrives as head `super`, rest [`super`, `x`].
                pass
            target = resolve(pos, head, rest)
            if target is not None and target != mod and target != ():
                edges[mod][target].add(rest[-1] if rest else head)

    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    for v in list(files):
        if v not in index:
            strong(v)
    return files, edges, sccs


SELF_TEST = {
    # a ↔ b through `use crate::…`: a cycle.
    "cycle/lib.rs": "mod a;\nmod b;\n",
    "cycle/a.rs": "use crate::b::B;\npub struct A;\n",
    "cycle/b.rs": "use crate::a::A;\npub struct B;\n",
    # a parent using its child, the child using a sibling, tests using `super::*`: no cycle.
    "clean/lib.rs": "mod p;\n",
    "clean/p/mod.rs": "mod base;\nmod leaf;\npub fn f() { leaf::g() }\n",
    "clean/p/leaf.rs": "use super::base::X;\npub fn g() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
    "clean/p/base.rs": "pub struct X;\n",
    # a child using its parent that uses it: a cycle.
    "up/lib.rs": "mod p;\n",
    "up/p/mod.rs": "mod leaf;\npub struct X;\npub fn f() { leaf::g() }\n",
    "up/p/leaf.rs": "use super::X;\npub fn g() {}\n",
}


def self_test():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for rel, text in SELF_TEST.items():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        got = {case: len(analyse(os.path.join(d, case))[2]) for case in ("cycle", "clean", "up")}
    want = {"cycle": 1, "clean": 0, "up": 1}
    print(f"self-test: cycles found {got}, expected {want}")
    sys.exit(0 if got == want else 1)


if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
    self_test()
src = sys.argv[1] if len(sys.argv) > 1 else "src"
sys.setrecursionlimit(10000)
files, edges, sccs = analyse(src)
if not files:
    sys.exit(f"no .rs files under {src}")
for n, comp in enumerate(sccs, 1):
    print(f"cycle {n}: {len(comp)} files: {', '.join(sorted(files[m] for m in comp))}")
    members = set(comp)
    for a in sorted(comp):
        for b in sorted(edges[a]):
            if b in members:
                print(f"  {files[a]} -> {files[b]}: {', '.join(sorted(edges[a][b]))}")
print(f"{len(sccs)} cycle(s) among {len(files)} files")
sys.exit(1 if sccs else 0)
