// The bounds every untrusted JSON document is checked against before a
// DOM is built: the PPA manifest.json, and the documents inside image
// tarballs (docker save's manifest.json, OCI index.json, image manifests,
// image configs). nlohmann's DOM costs 16 bytes per value and about 100 more
// per object member, so a document is bounded by its size and its number of
// values. CheckJsonBounds runs nlohmann's SAX parser with a counter only (no
// DOM) and stops at the first limit passed.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace ppa {

struct JsonLimits {
  uint64_t max_bytes = 0;   // size of the text
  uint64_t max_values = 0;  // values, containers and object keys
  int max_depth = 0;        // nesting of arrays and objects
};

// Chosen from measurements on the build machine (nlohmann 3.11): 200 000
// one-character values take 4 MiB of DOM, 200 000 objects of two string
// members 70 MiB (~360 bytes per object, ~120 per member), so 200 000
// values hold at most ~30 MiB of DOM besides the text's own strings. Real
// documents are far below: a PPA manifest.json of 500 images is ~2 000
// values, an image config with 500 history entries ~3 000, an OCI index of
// 100 images ~1 000. 16 MiB of text is the largest image config accepted
// (real ones are tens of KiB); 64 levels of nesting where real documents use
// under 10.
inline constexpr JsonLimits kUntrustedJsonLimits{
    .max_bytes = 16ull << 20,
    .max_values = 200'000,
    .max_depth = 64,
};

// OK when `text` is within `limits`, or when it is not valid JSON (the
// caller's parser reports the syntax error in its own words). Otherwise
// kInvalidInput "<document> has more than the limit of N values" (or bytes,
// or levels of nesting). `document` names the file in the message.
Status CheckJsonBounds(std::string_view text, std::string_view document,
                       const JsonLimits& limits = kUntrustedJsonLimits);

}  // namespace ppa
