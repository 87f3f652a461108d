// Result<T>: the value or an Error. Expected failures (bad policy, bad input, guest trap)
// travel as values; exceptions from parser libraries are caught at the edge and converted.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace kw {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;
inline Status okStatus() { return Ok{}; }

inline Error makeError(std::string message) { return Error{std::move(message)}; }

}  // namespace kw
