#include "docker_io/registry/http_transport.h"

#include <strings.h>

namespace ppa {

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

namespace {
constexpr std::string_view kTransientMarker = " (transient network failure)";
constexpr std::string_view kConnectMarker = " (could not connect)";
}  // namespace

Status ConnectNetworkError(std::string message, std::string hint) {
  return NetworkError(std::move(message) + std::string(kConnectMarker), std::move(hint));
}

bool IsConnectNetworkError(const Status& status) {
  return status.code() == StatusCode::kNetwork && status.message().ends_with(kConnectMarker);
}

Status TransientNetworkError(std::string message, std::string hint) {
  return NetworkError(std::move(message) + std::string(kTransientMarker), std::move(hint));
}

bool IsTransientNetworkError(const Status& status) {
  return status.code() == StatusCode::kNetwork && status.message().ends_with(kTransientMarker);
}

}  // namespace ppa
