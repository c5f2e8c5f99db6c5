// Errors as values: what a caller must handle is returned, not thrown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace herald {

// How a failure should be treated by whoever retries.
enum class ErrorKind {
  temporary,  // try again later (network, 4xx SMTP, 5xx HTTP, timeouts)
  permanent,  // will not succeed by retrying (5xx SMTP, 4xx HTTP)
  bad_input,  // the input itself is malformed or over a limit
};

const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::permanent;
  std::string message;
  std::optional<int64_t> retry_after_s = {};  // the server asked to wait this long (seconds)
};

inline Error temporary_error(std::string msg) { return {ErrorKind::temporary, std::move(msg)}; }
inline Error permanent_error(std::string msg) { return {ErrorKind::permanent, std::move(msg)}; }
inline Error bad_input(std::string msg) { return {ErrorKind::bad_input, std::move(msg)}; }

// A value or an Error. Minimal stand-in for C++23 std::expected.
template <class T>
class Expected {
 public:
  Expected(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Expected(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, Error> m_v;
};

// Success without a value.
struct Ok {};
using Status = Expected<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace herald
