"""Publishing's rules, before and after the registries answer: pure, no I/O.

`preflight` says what each registry a push writes to answered, before the bake; `writes` the
order of tag writes, the hold decision and the retries; `merge` the index a fan-out's runners'
results make; `result` the run's typed outcome that the tables, the CI sink and `--json` render.
The registry half (one PUT a tag, the read-back, copies) is `registry/`; the wiring `commands/`.
"""
