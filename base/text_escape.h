// Untrusted bytes (archive entry names, image names, tags, chart names,
// server messages) made safe to show: on a terminal or in a log (escaped
// controls) and in JSON (valid UTF-8 plus the exact bytes in base64).
//
// The escape scheme for human-readable output (README "Security"):
//  - tab, line feed and carriage return are shown as \t, \n and \r;
//  - every other C0 control (0x00-0x1F), DEL (0x7F), each byte of a C1
//    control (U+0080-U+009F, encoded C2 80-C2 9F) and each byte that is not
//    part of well-formed UTF-8 is shown as \xHH (two lowercase hex digits);
//  - everything else, including valid UTF-8 such as accented letters and
//    the backslash itself, is shown as it is.
// So an escaped line never holds a byte below 0x20, 0x7F, a C1 control or
// invalid UTF-8: it cannot move the cursor, clear the screen, set the
// terminal's title or start a new line.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ppa {

// True when `text` is well-formed UTF-8 (Unicode 15, table 3-7: no
// overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with each byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD (EF BF BD). Valid UTF-8 is returned unchanged.
std::string ToValidUtf8(std::string_view text);

// `text` escaped as the header describes, for one line of human output.
std::string EscapeControls(std::string_view text);

}  // namespace ppa
