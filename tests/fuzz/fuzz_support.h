// Shared by the fuzz targets: bytes as text, and the property check that
// stops the fuzzer (a trap is a crash to libFuzzer: it saves the input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace jixiao::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void property_violated(const char* property, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n", file, line, property);
  __builtin_trap();
}

}  // namespace jixiao::fuzz

// A property every input must keep, checked in every build type.
#define JIXIAO_FUZZ_REQUIRE(condition)                                                      \
  do {                                                                                      \
    if (!(condition)) ::jixiao::fuzz::property_violated(#condition, __FILE__, __LINE__); \
  } while (false)
