#include "docker_io/registry/registry_errors.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "base/ascii.h"

namespace ppa {
namespace {

constexpr size_t kMaxDetailChars = 200;

struct RegistryError {
  std::string code;     // "UNAUTHORIZED", "" when unknown
  std::string message;  // human text
};

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  return AsciiLower(haystack).find(AsciiLower(needle)) != std::string::npos;
}

// Collapses whitespace (newlines included) and shortens to one short line.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c);
    if (out.size() >= kMaxDetailChars) {
      out += "...";
      break;
    }
  }
  return out;
}


// The first error of an OCI error body, if the body is one.
bool ParseOciErrors(std::string_view body, RegistryError* out) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return false;
  auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_array() || errors->empty()) return false;
  const nlohmann::json& first = (*errors)[0];
  if (!first.is_object()) return false;
  if (auto code = first.find("code"); code != first.end() && code->is_string()) {
    out->code = code->get<std::string>();
  }
  if (auto msg = first.find("message"); msg != first.end() && msg->is_string()) {
    out->message = msg->get<std::string>();
  }
  if (out->message.empty()) {
    if (auto detail = first.find("detail"); detail != first.end() && !detail->is_null()) {
      out->message = detail->is_string() ? detail->get<std::string>() : detail->dump();
    }
  }
  return !out->code.empty() || !out->message.empty();
}

// The <title> of an HTML page, or "".
std::string HtmlTitle(std::string_view body) {
  std::string lower = AsciiLower(body.substr(0, 64 * 1024));
  size_t open = lower.find("<title");
  if (open == std::string::npos) return {};
  size_t start = lower.find('>', open);
  if (start == std::string::npos) return {};
  size_t end = lower.find("</title", start);
  if (end == std::string::npos) return {};
  return OneLine(body.substr(start + 1, end - start - 1));
}

bool LooksLikeHtml(std::string_view body, std::string_view content_type) {
  if (ContainsIgnoreCase(content_type, "html")) return true;
  std::string head = AsciiLower(body.substr(0, 512));
  return head.find("<html") != std::string::npos || head.find("<!doctype") != std::string::npos;
}

RegistryError Describe(long status, std::string_view body, std::string_view content_type) {
  RegistryError err;
  if (ParseOciErrors(body, &err)) return err;
  if (LooksLikeHtml(body, content_type)) {
    err.message = HtmlTitle(body);
  } else {
    size_t eol = body.find('\n');
    err.message = OneLine(body.substr(0, eol));
  }
  if (err.message.empty()) err.message = ReasonPhrase(status);
  return err;
}

std::string HintFor(long status, const RegistryError& err, std::string_view body) {
  const std::string& code = err.code;
  if (ContainsIgnoreCase(err.message, "quota") ||
      ContainsIgnoreCase(body.substr(0, 4096), "quota")) {
    return "a storage or pull-traffic quota is exceeded: delete unused images or review the "
           "registry plan";
  }
  if (code == "UNAUTHORIZED" || (code.empty() && status == 401)) {
    return "check the login: username and password or API key (IBM Cloud Container Registry: "
           "username 'iamapikey' with an API key)";
  }
  if (code == "DENIED" || (code.empty() && status == 403)) {
    return "access denied: the namespace may not exist, or the account has no write access to "
           "it";
  }
  if (code == "TOOMANYREQUESTS" || status == 429) {
    return "the registry is rate limiting: wait and retry later, or lower --jobs";
  }
  if (status == 413) {
    return "a proxy in front of the registry limits the upload size (e.g. nginx "
           "client_max_body_size): raise the limit";
  }
  if (code == "NAME_INVALID") {
    return "the repository name is not valid for this registry: use lowercase letters, digits "
           "and separators . _ - /";
  }
  if (code == "NAME_UNKNOWN") {
    return "the repository or namespace does not exist on the registry: create it first";
  }
  if (code == "MANIFEST_INVALID") {
    return "the registry rejected the manifest: it may not support this media type";
  }
  if (code == "MANIFEST_BLOB_UNKNOWN" || code == "BLOB_UNKNOWN") {
    return "the registry does not have a blob the manifest references: rerun the import to "
           "upload it";
  }
  if (code == "BLOB_UPLOAD_UNKNOWN" || code == "BLOB_UPLOAD_INVALID") {
    return "the upload session was lost (registry restart or load balancer): rerun the import";
  }
  if (code == "DIGEST_INVALID" || code == "SIZE_INVALID") {
    return "the uploaded bytes did not match the digest or size: the archive may be corrupt, or "
           "a proxy altered the upload";
  }
  if (code == "UNSUPPORTED") {
    return "the registry does not support this operation or media type";
  }
  if (status >= 500) {
    return "the registry or a proxy in front of it failed: retry later or check its logs";
  }
  if (status == 404) {
    return "check the registry host and repository name";
  }
  return {};
}

}  // namespace

std::string RegistryErrorCode(std::string_view body) {
  RegistryError err;
  return ParseOciErrors(body, &err) ? err.code : std::string();
}

const char* ReasonPhrase(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "unexpected status";
  }
}

Status MapRegistryError(long http_status, std::string_view body, std::string_view content_type,
                        std::string_view what) {
  RegistryError err = Describe(http_status, body, content_type);
  std::string message = std::string(what) + " failed: " + std::to_string(http_status);
  if (!err.code.empty()) message += " " + OneLine(err.code);
  std::string text = OneLine(err.message);
  if (!text.empty()) message += (err.code.empty() ? " " : ": ") + text;
  return HttpError(std::move(message), HintFor(http_status, err, body));
}

}  // namespace ppa
