# A monorepo's bake file: a function and a variable name the images, a matrix makes one target
# per flavour of the app (both in the app's image), a nested group holds them, and the tools
# target is an image of its own. Recorded as `docker buildx bake --print` prints it in
# monorepo.print.json (tests/integration/test_bakefile.py checks the recording).
variable "REGISTRY" { default = "ghcr.io/acme" }
function "image" {
  params = [name]
  result = "${REGISTRY}/${name}"
}
group "default" { targets = ["apps", "tools"] }
group "apps" { targets = ["app"] }
target "_common" {
  dockerfile = "Dockerfile"
  platforms = ["linux/amd64"]
  args = { BASE = "base" }
}
target "app" {
  inherits = ["_common"]
  name = "app-${flavour}"
  matrix = { flavour = ["debian", "alpine"] }
  args = { FLAVOUR = flavour }
  tags = ["${image("app")}:${flavour}"]
}
target "tools" {
  inherits = ["_common"]
  context = "tools"
  platforms = ["linux/arm/7", "linux/arm64/v8"]
  tags = ["${image("tools")}:dev", "docker.io/acme/tools:dev"]
}
