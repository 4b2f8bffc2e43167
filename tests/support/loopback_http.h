// The start of a cpp-httplib test server: bound to a free port of 127.0.0.1
// and served on a thread of its own until server.stop().
#pragma once

#include <string>
#include <thread>

#include "base/status.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace ppa::test {

// Binds `server` (its routes already set) to a free port of 127.0.0.1,
// starts serving it on `thread` and waits until it accepts connections.
// Returns the port; the error names `what`. The owner stops the server and
// joins `thread`.
Result<int> ServeOnLoopback(httplib::Server& server, std::thread& thread, const std::string& what);

}  // namespace ppa::test
