#include "admission/strict_json.h"

#include <vector>

namespace kw::admission {
namespace {

// Builds the DOM as nlohmann's own parser does, checking each key against the object it goes
// into before inserting: a map lookup, the same cost as the insert itself.
class StrictDom {
 public:
  explicit StrictDom(Json& root) : root_(root) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(Json::number_integer_t v) { return put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(v); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return put(v); }
  bool string(Json::string_t& v) { return put(std::move(v)); }
  bool binary(Json::binary_t& v) { return put(Json::binary(std::move(v))); }

  bool start_object(std::size_t) {
    stack_.push_back(place(Json::object()));
    return true;
  }
  bool key(Json::string_t& k) {
    Json& object = *stack_.back();
    if (object.contains(k)) throw DuplicateField("duplicate field `" + k + "`");
    pending_ = &object[k];
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    stack_.push_back(place(Json::array()));
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  // The parser hands over its exception (parse_error, or out_of_range for 1e999) unthrown.
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& e) {
    throw e;
  }

 private:
  // Where the next value goes: the root, the member named by the last key, or an array slot.
  Json* place(Json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    *pending_ = std::move(value);
    return pending_;
  }
  template <typename T>
  bool put(T&& value) {
    place(Json(std::forward<T>(value)));
    return true;
  }

  Json& root_;
  std::vector<Json*> stack_;
  Json* pending_ = nullptr;
};

}  // namespace

Json parseStrict(std::string_view text) {
  Json root;
  StrictDom dom(root);
  Json::sax_parse(text, &dom);
  return root;
}

}  // namespace kw::admission
