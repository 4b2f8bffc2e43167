// Pure parsers of the two headers a registry steers a blob upload with
// (OCI distribution spec, "Pushing a blob in chunks"): `Location`, where the
// next request of the session goes, and `Range`, how many bytes the session
// holds. Both values come from the network (the registry, or whatever sits
// in front of it), so both are untrusted: anything outside the documented
// forms is rejected rather than guessed at.
//
// Pure functions (no I/O, no shared state): thread-safe. Fuzzed by
// tests/fuzz/location_header_fuzz.cc and tests/fuzz/range_header_fuzz.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// The absolute URL a `Location` header value points at, resolved against
// `request_url`, the absolute URL of the request that was answered with it.
//
// Accepted forms of `location` (surrounding spaces and tabs are ignored):
//  - an absolute "http://" or "https://" URL (scheme in any case; returned
//    with the scheme lower-cased, otherwise as written): it may point at
//    another host or port, or downgrade https to http; the caller decides
//    whether credentials follow it (the registry client sends them only to
//    the registry's own origin);
//  - a network-path reference "//host[:port]/path": the request's scheme;
//  - an absolute path "/v2/...": the request's scheme, host and port;
//  - a relative path "u1?x" (RFC 3986 section 5.2.3 merge with the request
//    URL's path); a bare "?query" keeps the request's path, a bare
//    "#fragment" stands for the request URL itself.
// For absolute paths, relative paths, a bare query and a bare fragment,
// the resulting path has its dot segments removed (RFC 3986 section 5.2.4;
// also for a bare query or fragment, where the RFC keeps the request's path
// as is: curl squashes them anyway), so "../x" cannot climb above "/" and
// the result holds no "." or ".." segment.
// A query is kept as written. A fragment ("#...") is dropped: it is never
// sent in HTTP and would end up in front of a "?digest=" appended later.
//
// Rejected with kInvalidInput:
//  - an empty value;
//  - any other scheme ("ftp:", "file:", "data:", "javascript:", ...; a
//    first path segment with a ':' reads as a scheme, as RFC 3986 says);
//  - bytes that cannot appear in a URL: ASCII controls (CR and LF among
//    them), space, DEL, backslash, and any non-ASCII byte;
//  - an authority (of an absolute URL or "//...") with an empty host, with
//    user information ("user:pass@host": curl would send it as
//    credentials), or with a port that is not 1 to 65535 in decimal;
//  - a `request_url` that is not itself an absolute http(s) URL with a host.
// Error messages never quote `location` (a pre-signed storage URL in it is
// a credential).
Result<std::string> ResolveUploadLocation(std::string_view request_url, std::string_view location);

// The last byte offset an upload session holds, from a `Range` header value
// "0-<end>" (Distribution, the OCI spec) or "bytes=0-<end>" ("bytes" in any
// case; some registries echo the request form). Surrounding spaces and
// tabs are ignored.
//
// Returns nullopt (the header is then as good as absent) for: an empty
// value; a start other than 0 (in any spelling: "00-5" is accepted,
// "1-5" is not); a missing or empty end; anything but decimal digits in
// either number (signs, inner spaces, a second '-', "/total"); and an end
// of 2^63 - 1 or more (so that end + 1, the byte count, always fits in
// int64_t and uint64_t alike; an upload that large is not real).
//
// Note: "0-0" is what Distribution answers both for an empty session and
// for one holding one byte; the value is returned as written and the
// caller decides what it means.
std::optional<uint64_t> ParseUploadRangeEnd(std::string_view range);

}  // namespace ppa
