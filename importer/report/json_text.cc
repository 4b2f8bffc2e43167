#include "importer/report/json_text.h"

#include "base/text_escape.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/json_dump.h"

namespace ppa {
namespace {

std::string OriginalOf(const OrderedJson& text, const OrderedJson* base64) {
  if (base64 != nullptr && base64->is_string()) {
    if (auto bytes = Base64Decode(base64->get<std::string>())) return *bytes;
  }
  return text.is_string() ? text.get<std::string>() : std::string();
}

}  // namespace

void SetJsonText(OrderedJson& j, const std::string& key, std::string_view text) {
  if (IsValidUtf8(text)) {
    j[key] = std::string(text);
    return;
  }
  j[key] = ToValidUtf8(text);
  j[key + "_base64"] = Base64Encode(text);
}

void SetJsonTextList(OrderedJson& j, const std::string& key,
                     const std::vector<std::string>& texts) {
  OrderedJson list = OrderedJson::array();
  OrderedJson originals = OrderedJson::array();
  bool repaired = false;
  for (const std::string& text : texts) {
    if (IsValidUtf8(text)) {
      list.push_back(text);
      originals.push_back(nullptr);
    } else {
      list.push_back(ToValidUtf8(text));
      originals.push_back(Base64Encode(text));
      repaired = true;
    }
  }
  j[key] = std::move(list);
  if (repaired) j[key + "_base64"] = std::move(originals);
}

std::string JsonTextOf(const OrderedJson& j, const std::string& key) {
  if (!j.is_object() || !j.contains(key)) return "";
  auto base64 = j.find(key + "_base64");
  return OriginalOf(j[key], base64 == j.end() ? nullptr : &*base64);
}

std::string JsonTextAt(const OrderedJson& j, const std::string& key, size_t index) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_array() || index >= j[key].size()) {
    return "";
  }
  const OrderedJson* base64 = nullptr;
  auto list = j.find(key + "_base64");
  if (list != j.end() && list->is_array() && index < list->size()) base64 = &(*list)[index];
  return OriginalOf(j[key][index], base64);
}

std::string DumpJson(const OrderedJson& j, int indent) {
  return DumpJsonDocument(j, indent);
}

}  // namespace ppa
