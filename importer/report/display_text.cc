#include "importer/report/display_text.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>

#include "base/text_escape.h"
#include "base/url_userinfo.h"

namespace ppa {
namespace {

class EscapingFormatter : public spdlog::formatter {
 public:
  explicit EscapingFormatter(std::string pattern)
      : pattern_(std::move(pattern)), inner_(pattern_) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string escaped = DisplayLine(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_.format(copy, dest);
    // Color sinks read the range of the level name from the message they
    // passed in.
    msg.color_range_start = copy.color_range_start;
    msg.color_range_end = copy.color_range_end;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<EscapingFormatter>(pattern_);
  }

 private:
  std::string pattern_;
  spdlog::pattern_formatter inner_;
};

}  // namespace

const char kUrlCredentialsWarning[] =
    "credentials written into a URL on the command line (user:password@ in --registry or "
    "--chartmuseum-uri) are used, but a command line is visible to every user of this machine "
    "in the process list; pass --username with --password-stdin or "
    "PPA_IMPORT_USERNAME / PPA_IMPORT_PASSWORD (--chartmuseum-user with "
    "--chartmuseum-password-stdin or PPA_IMPORT_CHARTMUSEUM_PASSWORD) instead";

std::string DisplayLine(std::string_view text) {
  return EscapeControls(RedactUserInfoInText(text));
}

void PrintError(std::ostream& err, const Status& status) {
  err << "Error: " << DisplayLine(status.message()) << "\n";
  if (!status.hint().empty()) err << "Hint: " << DisplayLine(status.hint()) << "\n";
  err.flush();
}

std::unique_ptr<spdlog::formatter> MakeEscapingLogFormatter(const std::string& pattern) {
  return std::make_unique<EscapingFormatter>(pattern);
}

}  // namespace ppa
