"""buildcache: multi-architecture docker buildx builds with a registry-backed BuildKit cache."""

__version__ = "0.1.0"
