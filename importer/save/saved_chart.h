// The Helm charts `ppa-import save` puts into an archive (README, "Air-gapped
// sites: save, carry, load"): where each comes from, the file it gets under
// charts/, and its manifest.yaml entry. Pure functions, no I/O: the charts
// are read by importer/save/pull_chart.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "docker_io/image/image_reference.h"
#include "helm_io/chart.h"

namespace ppa {

// Where a chart is read from.
struct ChartSource {
  enum class Kind {
    kFile,  // a local chart package: PATH.tgz or PATH.tar.gz
    kUrl,   // a chart package URL (http:// or https://), as a ChartMuseum index lists it
    kOci,   // a Helm OCI artifact: oci://HOST[:PORT]/REPO/NAME:TAG or ...@sha256:...
  };
  Kind kind = Kind::kFile;
  std::string given;     // as the user wrote it
  std::string location;  // kFile: the path; kUrl: the URL
  ImageReference ref;    // kOci: registry, repository and tag or digest
};

// Whether a source names a chart rather than an image: it starts with
// oci://, http:// or https://, or ends with .tgz or .tar.gz.
bool IsChartSource(std::string_view given);

// Parses a chart source (IsChartSource). kInvalidInput for an oci://
// reference without a registry or a tag or digest, and for a URL with user
// info, a query or a fragment (credentials come from the auth file).
Result<ChartSource> ParseChartSource(const std::string& given);

// The registry host (kOci) or URL host[:port] (kUrl) to resolve
// credentials for; "" for a file.
std::string ChartSourceHost(const ChartSource& source);

// A chart read and checked as `load` checks charts (helm_io/chart.h). Its
// bytes are not kept: they are read again, and checked against `digest`,
// when the archive is written, so memory holds one chart at a time.
struct SavedChart {
  ChartSource source;
  ChartMetadata metadata;
  std::string digest;                     // sha256 of the package
  uint64_t size = 0;                      // its bytes
  std::optional<std::string> provenance;  // its .prov file, when the source has one
  std::string file;                       // "charts/<name>-<version>.tgz"
};

// The most bytes a chart package (kMaxChartPackageBytes) and its provenance
// file (kMaxProvenanceBytes) may have.
inline constexpr size_t kMaxChartPackageBytes = 20 << 20;
inline constexpr size_t kMaxProvenanceBytes = 64 << 10;

// The file Helm's `helm package` would give it: charts/<name>-<version>.tgz.
std::string ChartFileName(const ChartMetadata& metadata);

// Sorts `charts` by file and keeps one of each: the same chart read from
// two sources (same digest) is kept once; two different packages of the same
// name and version are kInvalidInput (one would be lost).
Result<std::vector<SavedChart>> ArrangeCharts(std::vector<SavedChart> charts);

}  // namespace ppa
