#!/usr/bin/env python3
"""Lists txwave's public API from the HTML `cargo doc -p txwave --no-deps` writes: every
item of the crate's "all items" page and, for each, its public fields, variants,
associated constants and inherent methods (trait implementations are left out). One line
per entry, sorted, so that a committed copy (docs/public-api.txt) shows every change to
the API in review.

    python3 scripts/public_api.py [target/doc/txwave] > listing.txt
    python3 scripts/public_api.py --check docs/public-api.txt [target/doc/txwave]
"""
import html
import os
import re
import sys

MEMBER = re.compile(r'id="(method|structfield|variant|tymethod|associatedconstant|associatedtype)\.([^"]+)"')
ITEM = re.compile(r'<li><a href="([^"]+)">([^<]+)</a></li>')
SECTION = re.compile(r'<h3 id="([a-z-]+)"')
KIND = {"structs": "struct", "enums": "enum", "traits": "trait", "functions": "fn",
        "constants": "const", "types": "type", "macros": "macro", "statics": "static",
        "unions": "union", "derives": "derive", "attributes": "attr", "primitives": "primitive",
        "type-aliases": "type", "modules": "mod"}
# Sections after the inherent methods: trait implementations, and the methods a Deref
# target brings (those are the target's API, not txwave's).
TRAIT_SECTIONS = ('id="trait-implementations"', 'id="synthetic-implementations"',
                  'id="blanket-implementations"', 'id="implementors"', 'id="deref-methods')


def members(page):
    """Fields, variants and inherent methods of one item page, in page order."""
    cut = min([page.find(m) for m in TRAIT_SECTIONS if m in page] or [len(page)])
    seen, out = set(), []
    for kind, name in MEMBER.findall(page[:cut]):
        if (kind, name) not in seen:
            seen.add((kind, name))
            out.append(f"{kind} {name}")
    return out


def listing(doc_dir):
    with open(os.path.join(doc_dir, "all.html"), encoding="utf-8") as f:
        text = f.read()
    lines = []
    positions = [(m.start(), m.group(1)) for m in SECTION.finditer(text)]
    for m in ITEM.finditer(text):
        section = [s for at, s in positions if at < m.start()]
        kind = KIND.get(section[-1], section[-1]) if section else "item"
        path = "txwave::" + html.unescape(m.group(2))
        lines.append(f"{kind} {path}")
        with open(os.path.join(doc_dir, m.group(1)), encoding="utf-8") as f:
            for member in members(f.read()):
                lines.append(f"{kind} {path} :: {member}")
    return sorted(set(lines))


def main(argv):
    check = None
    if argv[:1] == ["--check"]:
        check, argv = argv[1], argv[2:]
    doc_dir = argv[0] if argv else os.path.join("target", "doc", "txwave")
    got = listing(doc_dir)
    if check is None:
        print("\n".join(got))
        return 0
    with open(check, encoding="utf-8") as f:
        want = [l for l in f.read().splitlines() if l]
    if got == want:
        print(f"public API unchanged: {len(got)} entries ({check})")
        return 0
    added = sorted(set(got) - set(want))
    removed = sorted(set(want) - set(got))
    print(f"the public API differs from {check}:")
    for l in removed:
        print(f"- {l}")
    for l in added:
        print(f"+ {l}")
    print(f"if the change is meant, regenerate it: python3 scripts/public_api.py > {check}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
