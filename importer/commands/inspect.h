// `ppa-import inspect ARCHIVE [--json]`: what an archive holds (images with
// their references, platforms, layers and sources; charts; problems found)
// without pushing anything. The archive is unpacked into a temporary work
// folder that is removed afterwards, on every way out of RunInspect. Names
// are shown escaped (importer/report/display_text.h); in JSON, names that are not
// UTF-8 get a `<field>_base64` sibling (importer/report/json_text.h).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "importer/load/plan.h"

namespace ppa {

struct InspectOptions {
  std::string archive;
  std::string workdir = "ppa-import";
  bool json = false;
};

// How `inspect` names the compression found in a layer's bytes: "gzip",
// "zstd", "uncompressed".
const char* LayerCompressionName(Compression c);
// The distinct platforms ("linux/amd64") of a group's images: from the PPA
// manifest, else the image config. A group is multi-arch when it has two or
// more (a manifest list of one platform is not).
std::vector<std::string> GroupPlatforms(const PlannedGroup& group);

// Returns the exit status: 0 when no problem was found, 1 when some image or
// chart could not be imported as it is, 3 when the archive is unreadable.
int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ppa
