// The one mapping from a registry's error response to a Status.
//
// Pure; thread-safe; never throws.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// Turns a non-success registry response into a kHttp Status with ONE line of
// message and a hint (README, Usage), e.g.
//   "push of 'ns/app' failed: 401 UNAUTHORIZED: authentication required"
// `what` names the operation ("push of 'ns/app'"). The body may be the OCI
// error JSON ({"errors":[{"code","message","detail"}]}), an HTML page from a
// proxy (only its <title> is used), plain text (its first line, shortened) or
// empty (the status reason phrase is used).
Status MapRegistryError(long http_status, std::string_view body, std::string_view content_type,
                        std::string_view what);

// The code of the first error of an OCI error body ("DIGEST_INVALID"), or ""
// when the body is not one.
std::string RegistryErrorCode(std::string_view body);

// The standard reason phrase of an HTTP status ("Service Unavailable"), or
// "unexpected status" for one ppa-import does not name.
const char* ReasonPhrase(long status);

}  // namespace ppa
