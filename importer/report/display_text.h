// The choke point for every human-readable line the tool prints (stdout,
// stderr, the log): text from archives and servers is escaped
// (base/text_escape.h: controls and invalid UTF-8 as \xHH, \t, \n, \r)
// and URLs lose their user info (base/url_userinfo.h) before it reaches
// a terminal. JSON output does not go through here (importer/report/json_text.h).
//
// Thread-safe: pure functions, and the log formatter holds no shared state.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// `text` made safe for one line of a terminal or log: user info of URLs in
// it removed, then controls and invalid UTF-8 escaped.
std::string DisplayLine(std::string_view text);

// "Error: <message>" and, when there is one, "Hint: <hint>", each through
// DisplayLine, on `err`.
void PrintError(std::ostream& err, const Status& status);

// The message of a user-facing warning about credentials written into
// --registry or --chartmuseum-uri (shown once per run).
extern const char kUrlCredentialsWarning[];

// A spdlog formatter with `pattern` (spdlog pattern syntax) whose message
// (%v) goes through DisplayLine first: no log line can carry a raw control
// byte or a URL's password, whatever a server or an archive put in it.
std::unique_ptr<spdlog::formatter> MakeEscapingLogFormatter(const std::string& pattern);

}  // namespace ppa
