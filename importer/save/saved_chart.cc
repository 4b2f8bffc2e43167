#include "importer/save/saved_chart.h"

#include <algorithm>

namespace ppa {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

constexpr std::string_view kOciScheme = "oci://";

Result<ChartSource> ParseOciChart(const std::string& given) {
  ChartSource source{.kind = ChartSource::Kind::kOci, .given = given};
  Result<ImageReference> ref = ParseImageReference(given.substr(kOciScheme.size()));
  if (!ref.ok()) return ref.status().WithContext("chart '" + given + "'");
  source.ref = *ref;
  if (source.ref.domain.empty()) {
    return InvalidInput("chart '" + given + "' names no registry",
                        "write oci://HOST[:PORT]/REPO/NAME:VERSION");
  }
  const std::string_view last = std::string_view(given).substr(given.rfind('/') + 1);
  if (last.find_first_of(":@") == std::string_view::npos) {
    return InvalidInput("chart '" + given + "' names no version",
                        "write the version as the tag: oci://HOST/REPO/NAME:VERSION "
                        "(as `helm pull --version` takes it, '+' written '_')");
  }
  return source;
}

}  // namespace

bool IsChartSource(std::string_view given) {
  return StartsWith(given, kOciScheme) || StartsWith(given, "http://") ||
         StartsWith(given, "https://") || EndsWith(given, ".tgz") || EndsWith(given, ".tar.gz");
}

Result<ChartSource> ParseChartSource(const std::string& given) {
  if (StartsWith(given, kOciScheme)) return ParseOciChart(given);
  if (StartsWith(given, "http://") || StartsWith(given, "https://")) {
    const std::string_view rest = std::string_view(given).substr(given.find("://") + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.empty() || rest.find('/') == std::string_view::npos) {
      return InvalidInput("chart URL '" + given + "' names no chart file",
                          "write the package's URL, as the repository's index.yaml lists it");
    }
    if (authority.find('@') != std::string_view::npos) {
      return InvalidInput("chart URL has user info; credentials are not taken from URLs",
                          "put them in the auth file for the host (or give --creds)");
    }
    if (given.find_first_of("?#") != std::string::npos) {
      return InvalidInput("chart URL '" + given + "' has a query or fragment",
                          "write the package's plain URL");
    }
    return ChartSource{.kind = ChartSource::Kind::kUrl, .given = given, .location = given};
  }
  return ChartSource{.kind = ChartSource::Kind::kFile, .given = given, .location = given};
}

std::string ChartSourceHost(const ChartSource& source) {
  switch (source.kind) {
    case ChartSource::Kind::kOci:
      return source.ref.domain;
    case ChartSource::Kind::kUrl: {
      const std::string_view rest =
          std::string_view(source.location).substr(source.location.find("://") + 3);
      return std::string(rest.substr(0, rest.find('/')));
    }
    case ChartSource::Kind::kFile:
      break;
  }
  return "";
}

std::string ChartFileName(const ChartMetadata& metadata) {
  return "charts/" + metadata.name + "-" + metadata.version + ".tgz";
}

Result<std::vector<SavedChart>> ArrangeCharts(std::vector<SavedChart> charts) {
  std::stable_sort(charts.begin(), charts.end(),
                   [](const SavedChart& a, const SavedChart& b) { return a.file < b.file; });
  std::vector<SavedChart> out;
  for (SavedChart& chart : charts) {
    if (!out.empty() && out.back().file == chart.file) {
      if (out.back().digest == chart.digest) continue;
      return InvalidInput("'" + out.back().source.given + "' and '" + chart.source.given +
                              "' are different packages of chart " + chart.metadata.name +
                              " " + chart.metadata.version,
                          "save one of them; a chart version is one package");
    }
    out.push_back(std::move(chart));
  }
  return out;
}

}  // namespace ppa
