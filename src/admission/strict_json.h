// JSON parsing for request bodies that refuses an object with the same member twice. nlohmann's
// parser keeps the last one, so `{"request": A, "request": B}` would be read as B by us while
// another reader (an audit log, a proxy) takes A; upstream's serde structs refuse such a body.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "admission/admission_response.h"

namespace kw::admission {

// Thrown by parseStrict for a repeated member; what() names it ("duplicate field `request`").
class DuplicateField : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Json::parse, plus DuplicateField. Syntax and number-range errors are nlohmann's exceptions.
Json parseStrict(std::string_view text);

}  // namespace kw::admission
