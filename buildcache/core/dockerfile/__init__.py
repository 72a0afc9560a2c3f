"""A Dockerfile and its build context as BuildKit reads them, without an engine.

`syntax` turns the text into instructions by BuildKit's parser rules; `stages` gives its stages,
ARG scopes and steps, and what each step reads; `ignore` is a context's .dockerignore as docker
applies it; `parameters` is `${}` expansion, the one expander (`init --from`'s simulated run
steps use it too, with bash's forms). Pure: the caller reads the files; nothing here imports outside `core` and `errors`.
"""
