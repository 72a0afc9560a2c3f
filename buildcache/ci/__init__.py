"""The CI providers: one module per CI (github, gitlab, and local for a laptop or a CI
buildcache does not know), each of the shape `provider.Provider` describes; `providers` lists
them and asks them. The only modules that read a CI's variables and its event file."""
