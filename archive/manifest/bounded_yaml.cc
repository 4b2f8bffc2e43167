#include "archive/manifest/bounded_yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <istream>
#include <streambuf>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ppa {
namespace {

// An istream over bytes it does not own, so the text is not copied again.
class ViewStreamBuf : public std::streambuf {
 public:
  explicit ViewStreamBuf(std::string_view text) {
    char* begin = const_cast<char*>(text.data());  // only read: get area
    setg(begin, begin, begin + text.size());
  }
};

std::string Location(std::string_view file, const YAML::Mark& mark) {
  std::string out(file);
  if (!mark.is_null() && mark.line >= 0) {
    out += ": line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
  }
  return out;
}

// Thrown from the handler to stop the parser at the first limit passed.
struct Refused {
  Status status;
};

// Counts what a reader walking the document would see. The expanded size of
// a node is the growth of the running totals between its start and its end,
// so an anchored node's size is known when it ends, and an alias adds that
// size again.
class BoundsHandler : public YAML::EventHandler {
 public:
  BoundsHandler(std::string_view file, const YamlLimits& limits) : file_(file), limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Leaf(mark, anchor, 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    Leaf(mark, anchor, value.size());
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = done_.find(anchor);
    if (it == done_.end()) {
      throw Refused{InvalidInput(Location(file_, mark) +
                                 ": an alias names a node that contains it (a cycle)")};
    }
    Add(mark, it->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Size {
    uint64_t nodes = 0;
    uint64_t scalar_bytes = 0;
  };
  struct OpenNode {
    Size at_start;
    YAML::anchor_t anchor;
  };

  void Add(const YAML::Mark& mark, const Size& size) {
    total_.nodes += size.nodes;
    total_.scalar_bytes += size.scalar_bytes;
    if (total_.nodes > limits_.max_nodes) {
      Refuse(mark, "more than the limit of " + std::to_string(limits_.max_nodes) +
                       " nodes (each alias counted as a copy of what it names)");
    }
    if (total_.scalar_bytes > limits_.max_scalar_bytes) {
      Refuse(mark, "more than the limit of " + std::to_string(limits_.max_scalar_bytes) +
                       " bytes of values (each alias counted as a copy of what it names)");
    }
  }
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor, uint64_t bytes) {
    Add(mark, Size{1, bytes});
    if (anchor != YAML::NullAnchor) done_[anchor] = Size{1, bytes};
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(open_.size()) >= limits_.max_depth) {
      Refuse(mark, "more than the limit of " + std::to_string(limits_.max_depth) +
                       " levels of nesting");
    }
    open_.push_back({total_, anchor});
    Add(mark, Size{1, 0});
  }
  void Close() {
    const OpenNode node = open_.back();
    open_.pop_back();
    if (node.anchor != YAML::NullAnchor) {
      done_[node.anchor] = Size{total_.nodes - node.at_start.nodes,
                                total_.scalar_bytes - node.at_start.scalar_bytes};
    }
  }
  [[noreturn]] void Refuse(const YAML::Mark& mark, const std::string& what) {
    throw Refused{InvalidInput(Location(file_, mark) + ": the document has " + what)};
  }

  std::string_view file_;
  const YamlLimits& limits_;
  Size total_;
  std::vector<OpenNode> open_;
  std::unordered_map<YAML::anchor_t, Size> done_;  // anchored nodes that have ended
};

Status SyntaxError(std::string_view file, const YAML::Exception& e) {
  return InvalidInput(Location(file, e.mark) + ": " + e.msg);
}

}  // namespace

Status CheckYamlBounds(std::string_view text, std::string_view file, const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return InvalidInput(std::string(file) + " is " + std::to_string(text.size()) +
                        " bytes, more than the limit of " + std::to_string(limits.max_bytes) +
                        " bytes");
  }
  try {
    ViewStreamBuf buffer(text);
    std::istream stream(&buffer);
    YAML::Parser parser(stream);
    BoundsHandler handler(file, limits);
    parser.HandleNextDocument(handler);  // YAML::Load reads the first document only
    return Status::Ok();
  } catch (const Refused& r) {
    return r.status;
  } catch (const YAML::Exception& e) {
    return SyntaxError(file, e);
  } catch (const std::exception& e) {
    return InvalidInput(std::string(file) + ": " + e.what());
  }
}

Result<YAML::Node> LoadBoundedYaml(std::string_view text, std::string_view file,
                                   const YamlLimits& limits) {
  PPA_RETURN_IF_ERROR(CheckYamlBounds(text, file, limits));
  try {
    ViewStreamBuf buffer(text);
    std::istream stream(&buffer);
    return YAML::Load(stream);
  } catch (const YAML::Exception& e) {
    return SyntaxError(file, e);
  } catch (const std::exception& e) {
    return InvalidInput(std::string(file) + ": " + e.what());
  }
}

}  // namespace ppa
