#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks the GitHub Actions workflows against what this repository
provides, which no generic linter knows: every step that runs something
is one `make TARGET [VAR=VALUE...]` (output to $GITHUB_OUTPUT or
$GITHUB_STEP_SUMMARY allowed) of a target the Makefile has, with
variables it passes on, and no `${{ }}` in it (values reach make through
`env:`, whose names must be such variables too); actions come from a short list of GitHub's own,
pinned to a major version; every `${{ steps.S.outputs.O }}`,
`${{ needs.J.outputs.O }}` and `${{ matrix.M }}` names a step, job,
output or matrix axis that exists (the outputs of `make ci-keys` are
those scripts/ci.sh prints, read from OUTPUTS); `needs` name jobs; the
workflow cancels superseded runs.

usage: check-workflow.py MAKEFILE CI_KEYS_OUTPUT WORKFLOW..."""

import re
import sys

import yaml

ACTIONS = {"actions/checkout", "actions/cache", "actions/cache/restore",
           "actions/cache/save", "actions/upload-artifact",
           "actions/download-artifact"}
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def makefile_targets_and_vars(path):
    text = open(path).read()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.M))
    names = set()
    for m in re.finditer(r"^export (.*)$", text, re.M):
        names.update(m.group(1).split())
    return targets, names


def check_run(where, cmd, targets, variables, errors):
    cmd = cmd.strip()
    if "${{" in cmd:
        errors.append("%s: an expression in a command (pass it through env:): %r" % (where, cmd))
        return None
    if "\n" in cmd:
        errors.append("%s: more than one command: %r" % (where, cmd))
        return None
    m = re.fullmatch(r'make (\S+)((?: [A-Z_]+=(?:"[^"]*"|\S+))*)'
                     r'(?: >>"\$(?:GITHUB_OUTPUT|GITHUB_STEP_SUMMARY)")?', cmd)
    if not m:
        errors.append("%s: not one make target with variables: %r" % (where, cmd))
        return None
    target = m.group(1)
    if target not in targets:
        errors.append("%s: the Makefile has no target %r" % (where, target))
    for var in re.findall(r" ([A-Z_]+)=", m.group(2)):
        if var not in variables:
            errors.append("%s: the Makefile does not pass %s on" % (where, var))
    return target


def check_step_outputs(where, text, steps, key_outputs, errors):
    """The steps.S.outputs.O of the expressions in text: S must be an
    earlier step of the job, O one that make ci-keys prints if S runs it."""
    for expr in EXPR.findall(text):
        for m in re.finditer(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            sid, out = m.groups()
            if sid not in steps:
                errors.append("%s: no earlier step has id %s" % (where, sid))
            elif steps[sid] == "ci-keys" and out not in key_outputs:
                errors.append("%s: make ci-keys prints no %s" % (where, out))


def check(path, targets, variables, key_outputs, errors):
    try:
        wf = yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        errors.append("%s: not YAML: %s" % (path, e))
        return
    # PyYAML reads the key "on" as True.
    if not isinstance(wf, dict) or "jobs" not in wf or not ({"on", True} & set(wf)):
        errors.append("%s: a workflow needs 'on' and 'jobs'" % path)
        return
    conc = wf.get("concurrency") or {}
    if not (isinstance(conc, dict) and conc.get("cancel-in-progress") is True):
        errors.append("%s: concurrency.cancel-in-progress is not true" % path)
    jobs = wf["jobs"]
    for var in wf.get("env") or {}:
        if var not in variables:
            errors.append("%s: env %s is not a variable the Makefile passes on" % (path, var))
    for name, job in jobs.items():
        where = "%s: job %s" % (path, name)
        for var in job.get("env") or {}:
            if var not in variables:
                errors.append("%s: env %s is not a variable the Makefile passes on" % (where, var))
        if "runs-on" not in job or not job.get("steps"):
            errors.append("%s: needs runs-on and steps" % where)
            continue
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        for n in needs:
            if n not in jobs:
                errors.append("%s: needs unknown job %s" % (where, n))
        axes = set()
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        axes.update(k for k in matrix if k not in ("include", "exclude"))
        for inc in matrix.get("include", []):
            axes.update(inc)
        steps = {}
        for i, step in enumerate(job["steps"]):
            swhere = "%s step %d (%s)" % (where, i + 1, step.get("name") or step.get("uses") or "run")
            if ("uses" in step) == ("run" in step):
                errors.append("%s: one of uses or run" % swhere)
                continue
            if "uses" in step:
                action, _, version = step["uses"].partition("@")
                if action not in ACTIONS or not re.fullmatch(r"v\d+", version):
                    errors.append("%s: %s is not one of GitHub's own actions at a major version"
                                  % (swhere, step["uses"]))
            else:
                target = check_run(swhere, step["run"], targets, variables, errors)
                if "id" in step:
                    steps[step["id"]] = target
            text = yaml.safe_dump({"step": step, "env": job.get("env")})
            check_step_outputs(swhere, text, steps, key_outputs, errors)
            for expr in EXPR.findall(text):
                for m in re.finditer(r"needs\.([\w-]+)\.outputs\.([\w-]+)", expr):
                    j, out = m.groups()
                    if j not in needs:
                        errors.append("%s: uses needs.%s, not in needs" % (swhere, j))
                    elif out not in (jobs.get(j, {}).get("outputs") or {}):
                        errors.append("%s: job %s has no output %s" % (swhere, j, out))
                for m in re.finditer(r"matrix\.([\w-]+)", expr):
                    if m.group(1) not in axes:
                        errors.append("%s: no matrix axis %s" % (swhere, m.group(1)))
        check_step_outputs("%s outputs" % where, yaml.safe_dump(job.get("outputs") or {}),
                           steps, key_outputs, errors)


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    targets, variables = makefile_targets_and_vars(sys.argv[1])
    key_outputs = {l.split("=", 1)[0] for l in open(sys.argv[2]).read().splitlines() if "=" in l}
    errors = []
    for path in sys.argv[3:]:
        check(path, targets, variables, key_outputs, errors)
    for e in errors:
        print("workflow: %s" % e)
    print("workflow: %d file(s), %d problem(s)" % (len(sys.argv) - 3, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
