#include "importer/report/report_destinations.h"

#include <algorithm>

#include "base/file_util.h"

namespace ppa {

ReportDestinations ReportDestinationsOf(const std::vector<std::string>& json_values) {
  ReportDestinations d;
  for (const std::string& value : json_values) {
    if (value == "-") {
      d.to_stdout = true;
    } else if (!value.empty() &&
               std::find(d.files.begin(), d.files.end(), value) == d.files.end()) {
      d.files.push_back(value);
    }
  }
  return d;
}

void WriteReportTo(const ReportDestinations& destinations,
                   const std::function<std::string(int indent)>& render, std::ostream& out,
                   const std::function<void(const Status&)>& on_file_error) {
  if (!destinations.files.empty()) {
    const std::string indented = render(2);
    for (const std::string& file : destinations.files) {
      Status written = WriteUserNamedFile(file, indented);
      if (!written.ok()) {
        on_file_error(written.WithContext("cannot write the JSON report '" + file + "'")
                          .WithHint("check the report's folder (its room, its permissions); the "
                                    "exit status is the run's"));
      }
    }
  }
  if (destinations.to_stdout) {
    out << render(destinations.stdout_indent());
    out.flush();
  }
}

}  // namespace ppa
