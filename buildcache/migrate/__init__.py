"""Migration: `buildcache init`'s rules, from what a repository already has to a buildcache.toml.

Owns: reading a GitHub workflow that builds images (`from_workflow`: its build job -> the config
and notes), the events its triggers start (`events`), GitHub's `${{ }}` expressions
(`expressions`) and a subset of bash (`bash_subset`) to simulate its run steps, never to run
them (the same answer on macOS's bash 3.2 and on Linux), the tags a shell step computes read as
metadata-action's rules (`shell_tags`), and a starter config from a Dockerfile (`starter`).

Pure like core/: a function of the texts it is given. It may import `core` (the config, the
Dockerfile's model, the one `${}` expander in core/dockerfile/parameters.py), `buildkit` and `errors`;
nothing in core imports it. Its modules name GitHub's variables (GITHUB_OUTPUT, GITHUB_REF) as
words of the workflows they read and write, never to read the current run.
"""
