// What `ppa-import save` is asked to save (README, "Air-gapped sites"): image
// references in registries, given as arguments or in a list file, and the
// names and files they get in the archive. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "docker_io/image/image_reference.h"

namespace ppa {

// One image to save.
struct SaveSource {
  std::string given;      // as the user wrote it
  // The registry it is pulled from is ref.domain (always set), unless it is
  // read from the OCI image layout directory `layout_dir` (oci:DIR:REF,
  // REF a name its index.json gives: ref.domain is then empty).
  ImageReference ref;
  std::string layout_dir;
  std::string layout_ref;  // REF of oci:DIR:REF, as index.json names the image
  // The name the archive gives it ("org/app:1.0", "org/app@sha256:..."): the
  // source's path and tag (or digest) without the registry, which `load`
  // puts below its target namespace.
  std::string archive_name;
  // The image file it is stored in: "images/<path with '/' as '_'>_<tag>.tar",
  // unique within the run.
  std::string file;
};

// The references of a list file (`--images-from FILE`): one a line, blank
// lines and lines starting with '#' skipped, spaces trimmed; or, when the
// file is a PPA manifest.yaml (a YAML map with an `images:` list), the
// `image` name of each entry (a multi-arch entry's is its index; cosign's
// signature tags, which a saved archive lists, are left out: they come
// with their images). Its charts: name files of an archive, not sources:
// they are left out.
Result<std::vector<std::string>> ListFileReferences(std::string_view text);

// `name` pulled from `registry` ("HOST[:PORT]") when it names no registry
// itself (an image reference; the caller keeps chart sources as they are;
// an oci: source is kept as it is).
std::string WithSourceRegistry(const std::string& name, const std::string& registry);

// Parses each reference, which must name its registry ("host[:port]/repo:tag"
// or "...@sha256:...") or be oci:DIR:REF (an OCI image layout and the
// ref.name of an image in it: REPO:TAG or REPO@sha256:..., the name the
// archive gives it, or a bare tag, as skopeo writes layouts: then the
// image is named after DIR's folder): kInvalidInput for the first that
// does not parse or names none. The same image given twice is kept once; two registries'
// images of the same archive name are kInvalidInput (one would be lost).
// The sources come back sorted by archive name, files assigned in that
// order (names that would share a file get "-2", "-3"... appended), so the
// order the references were given in changes nothing.
Result<std::vector<SaveSource>> ParseSaveSources(const std::vector<std::string>& references);

}  // namespace ppa
