#!/usr/bin/env bash
# Copies the corpus of real release workflows (tests/data/workflows/) byte for byte out of git
# snapshots of their public repositories: MIRRORS holds one bare repository per project, named
# owner+name (as the search tool's fetch leaves them). Each line of LIST: the project, then the
# files to keep (its workflow(s), the Dockerfiles and bake files they build), by their path in the
# repository; the same paths under tests/data/workflows/owner__name/.
#   scripts/corpus-gather.sh /work/.mirror
set -euo pipefail
MIRRORS=${1:?the folder of the snapshots (owner+name/repo)}
OUT=$(cd "$(dirname "$0")/.." && pwd)/tests/data/workflows
while read -r project files; do
  [[ -z $project || $project == \#* ]] && continue
  git_dir=$MIRRORS/${project/\//+}/repo
  commit=$(git -C "$git_dir" rev-parse HEAD)
  dest=$OUT/${project/\//__}
  rm -rf "$dest" && mkdir -p "$dest"
  for path in $files; do
    mkdir -p "$dest/$(dirname "$path")"
    git -C "$git_dir" show "$commit:$path" >"$dest/$path"
  done
  license=$(git -C "$git_dir" ls-tree --name-only "$commit" | grep -iE '^(license|copying)' | head -1 || true)
  {
    echo "repository: https://github.com/$project"
    echo "commit: $commit"
    echo "files (byte for byte at that commit):"
    for path in $files; do echo "  https://github.com/$project/blob/$commit/$path"; done
    echo "license: the project's own ($license at that commit: $(git -C "$git_dir" show "$commit:$license" 2>/dev/null | grep -m1 -E '[A-Za-z]' | sed 's/^ *//' || echo none))"
    echo "kept as test data for buildcache's corpus test (tests/unit/commands/test_corpus.py); unchanged"
  } >"$dest/SOURCE"
done <<'LIST'
FreshRSS/FreshRSS .github/workflows/docker-publish.yml constants.php Docker/Dockerfile Docker/Dockerfile-Alpine
TandoorRecipes/recipes .github/workflows/build-docker.yml Dockerfile
actualbudget/actual-server .github/workflows/docker-release.yml docker/stable-ubuntu.Dockerfile docker/stable-alpine.Dockerfile
advplyr/audiobookshelf .github/workflows/docker-build.yml Dockerfile
amir20/dozzle .github/workflows/deploy.yml Dockerfile
dani-garcia/vaultwarden .github/workflows/release.yml docker/docker-bake.hcl docker/Dockerfile.debian docker/Dockerfile.alpine
dgtlmoon/changedetection.io .github/workflows/containers.yml Dockerfile
docker-mailserver/docker-mailserver .github/workflows/default_on_push.yml .github/workflows/generic_publish.yml Dockerfile
excalidraw/excalidraw .github/workflows/publish-docker.yml Dockerfile
gethomepage/homepage .github/workflows/docker-publish.yml Dockerfile
hedgedoc/hedgedoc .github/workflows/docker.yml backend/docker/Dockerfile frontend/docker/Dockerfile
karakeep-app/karakeep .github/workflows/docker.yml docker/Dockerfile
linkwarden/linkwarden .github/workflows/release-container.yml Dockerfile
lldap/lldap .github/workflows/docker-build-static.yml .github/workflows/Dockerfile.ci.alpine .github/workflows/Dockerfile.ci.debian .github/workflows/Dockerfile.ci.alpine-rootless .github/workflows/Dockerfile.ci.debian-rootless .github/workflows/Dockerfile.ci.alpine-base .github/workflows/Dockerfile.ci.debian-base
mealie-recipes/mealie .github/workflows/release.yml .github/workflows/partial-builder.yml docker/Dockerfile
meilisearch/meilisearch .github/workflows/publish-docker-images.yml Dockerfile
miniflux/v2 .github/workflows/docker.yml packaging/docker/alpine/Dockerfile packaging/docker/distroless/Dockerfile
nginx-proxy/nginx-proxy .github/workflows/build-publish.yml Dockerfile.alpine Dockerfile.debian Dockerfile.dockergen
paperless-ngx/paperless-ngx .github/workflows/ci-docker.yml Dockerfile
pi-hole/docker-pi-hole .github/workflows/build-and-publish.yml src/Dockerfile
sissbruecker/linkding .github/workflows/build.yaml version.txt docker/default.Dockerfile docker/alpine.Dockerfile
umami-software/umami .github/workflows/cd.yml Dockerfile
usememos/memos .github/workflows/release.yml scripts/Dockerfile
wg-easy/wg-easy .github/workflows/deploy.yml Dockerfile
zwave-js/zwave-js-ui .github/workflows/docker-release.yml docker/Dockerfile
LIST
