#include "tests/support/loopback_http.h"

#include <httplib.h>

#include <chrono>

namespace ppa::test {

Result<int> ServeOnLoopback(httplib::Server& server, std::thread& thread, const std::string& what) {
  int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) return IoError(what + ": cannot bind 127.0.0.1");
  thread = std::thread([&server] { server.listen_after_bind(); });
  for (int i = 0; i < 200 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!server.is_running()) return IoError(what + " did not start");
  return port;
}

}  // namespace ppa::test
