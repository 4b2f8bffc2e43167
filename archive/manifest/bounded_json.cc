#include "archive/manifest/bounded_json.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace ppa {
namespace {

using Json = nlohmann::json;

// Counts values and depth; returning false stops nlohmann's parser.
class CountingSax {
 public:
  explicit CountingSax(const JsonLimits& limits) : limits_(limits) {}

  bool null() { return Value(); }
  bool boolean(bool) { return Value(); }
  bool number_integer(Json::number_integer_t) { return Value(); }
  bool number_unsigned(Json::number_unsigned_t) { return Value(); }
  bool number_float(Json::number_float_t, const Json::string_t&) { return Value(); }
  bool string(Json::string_t&) { return Value(); }
  bool binary(Json::binary_t&) { return Value(); }
  bool key(Json::string_t&) { return Value(); }
  bool start_object(std::size_t) { return Open(); }
  bool start_array(std::size_t) { return Open(); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;  // not ours to report
  }

  const std::string& exceeded() const { return exceeded_; }

 private:
  bool Value() {
    if (++values_ <= limits_.max_values) return true;
    exceeded_ = std::to_string(limits_.max_values) + " values";
    return false;
  }
  bool Open() {
    if (++depth_ > limits_.max_depth) {
      exceeded_ = std::to_string(limits_.max_depth) + " levels of nesting";
      return false;
    }
    return Value();
  }
  bool Close() {
    --depth_;
    return true;
  }

  const JsonLimits& limits_;
  uint64_t values_ = 0;
  int depth_ = 0;
  std::string exceeded_;
};

}  // namespace

Status CheckJsonBounds(std::string_view text, std::string_view document,
                       const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidInput(std::string(document) + " is " + std::to_string(text.size()) +
                        " bytes, more than the limit of " + std::to_string(limits.max_bytes) +
                        " bytes");
  }
  CountingSax sax(limits);
  try {
    Json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const std::exception&) {
    return Status::Ok();  // malformed: the caller's parser says how
  }
  if (sax.exceeded().empty()) return Status::Ok();
  return InvalidInput(std::string(document) + " has more than the limit of " + sax.exceeded());
}

}  // namespace ppa
